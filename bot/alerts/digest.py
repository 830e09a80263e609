"""What one subscriber hears about one refresh: the digest, built and rendered.

:func:`change_context` collects titles, levels and routes of the occupations a change list
mentions; :func:`notices_for` picks what one subscription should hear about (``None`` when nothing
in its routes changed); :func:`render_digest` turns that into Telegram HTML parts of at most
4,096 characters, numbered "(1/3)", with at most :data:`DIGEST_MAX_PARTS` parts (the rest is
behind a "Show all changes" button, which opens the same lines as /changes pages).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlite_utils

from bot.alerts.subscriptions import Subscription, route_key
from bot.knowledge import Messages, bundled_messages
from bot.maps.diff import ChangeList
from bot.maps.store import load_version, version_changes, version_info
from bot.render import TELEGRAM_LIMIT, day_in_words, escape

DIGEST_MAX_PARTS = 3
MAX_LINE_CHARS = 600
MAX_TITLES_LISTED = 3
TITLE_RESERVE, HEADER_RESERVE, FOOTER_RESERVE, MORE_RESERVE = 100, 400, 300, 100

Kind = Literal["new", "changed", "retired"]


def long_date(iso: str | None, timezone: str = "Europe/London") -> str:
    """``2027-01-04T06:00:00+00:00`` as "4 January 2027" in the bot's time zone."""
    if not iso:
        return "?"
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(timezone))
    return day_in_words(moment)


@dataclass(frozen=True)
class OccupationInfo:
    """What a digest line needs to know about one occupation in one map version."""

    id: str
    title: str
    level: int | None
    route_id: str | None


@dataclass(frozen=True)
class MapContext:
    """Titles, levels and routes around a change list: before (``old``) and after (``new``)."""

    old: Mapping[str, OccupationInfo] = field(default_factory=dict)
    new: Mapping[str, OccupationInfo] = field(default_factory=dict)
    routes: Mapping[str, str] = field(default_factory=dict)  # id -> name, in display order
    titles: Mapping[str, str] = field(default_factory=dict)
    version: int | None = None
    previous: int | None = None
    refreshed_at: str | None = None
    retrieved_at: str | None = None
    source: str | None = None

    @classmethod
    def from_maps(cls, old: Mapping[str, Any], new: Mapping[str, Any], *,
                  routes: Iterable[Any] = (), **meta: Any) -> MapContext:
        """From two :class:`~bot.maps.model.OccupationMap` (or plain mappings of Occupation)."""

        def info(occupations: Mapping[str, Any]) -> dict[str, OccupationInfo]:
            return {i: OccupationInfo(o.id, o.title, o.level, o.route_id or o.route_name)
                    for i, o in occupations.items()}

        names: dict[str, str] = {}
        for route in (*getattr(old, "routes", ()), *getattr(new, "routes", ()), *routes):
            names[route.id] = route.name
        for occupation in (*old.values(), *new.values()):
            rid = occupation.route_id or occupation.route_name
            if rid and rid not in names:
                names[rid] = occupation.route_name or rid
        ordered = dict(sorted(names.items(), key=lambda kv: route_key(kv[0])))
        return cls(info(old), info(new), ordered, **meta)

    def route_name(self, route_id: str | None) -> str | None:
        if route_id is None:
            return None
        return self.routes.get(route_id, route_id)

    def route_id_for(self, label: Any) -> str | None:
        """A route id from what a change list holds (a route name, or an id)."""
        if label is None:
            return None
        text = str(label)
        if text in self.routes:
            return text
        folded = text.casefold().strip()
        return next((rid for rid, name in self.routes.items() if name.casefold() == folded), None)


def change_context(db: sqlite_utils.Database, changes: ChangeList, *,
                   titles: Mapping[str, str] | None = None, source: str | None = None) -> MapContext:
    """The context for a stored change list: the versions it goes from and to."""
    if changes.to_version is None:
        raise ValueError("the change list has no to_version")
    new_map = load_version(db, changes.to_version)
    old_map = load_version(db, changes.from_version) if changes.from_version else {}
    meta = version_info(db, changes.to_version)
    return MapContext.from_maps(
        old_map, new_map,
        titles=dict(titles or {}),
        version=changes.to_version,
        previous=changes.from_version,
        refreshed_at=meta.fetched_at if meta else None,
        retrieved_at=meta.retrieved_at if meta else None,
        source=source or (meta.source if meta else None),
    )


@dataclass(frozen=True)
class Fact:
    """One thing that changed, as a message key and its values (rendered later)."""

    key: str
    values: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, key: str, **values: Any) -> Fact:
        return cls(key, tuple(values.items()))


@dataclass(frozen=True)
class DigestLine:
    occupation_id: str
    title: str
    level: int | None
    kind: Kind
    facts: tuple[Fact, ...]


@dataclass(frozen=True)
class RouteSection:
    route_id: str | None
    route_name: str | None
    lines: tuple[DigestLine, ...]


@dataclass(frozen=True)
class Digest:
    """What one subscriber hears about one refresh: counts and lines grouped by route."""

    version: int | None
    previous: int | None
    refreshed_at: str | None
    retrieved_at: str | None
    source: str | None
    new: int
    retired: int
    changed: int
    sections: tuple[RouteSection, ...]

    @property
    def line_count(self) -> int:
        return sum(len(s.lines) for s in self.sections)


_KIND_ORDER = {"new": 0, "changed": 1, "retired": 2}


def _product_facts(products: Sequence[Any], key: str) -> list[Fact]:
    counts = Counter(p.type for p in products)
    return [Fact.of(key, product_type=t, count=n) for t, n in counts.items()]


def _title_facts(titles: Sequence[str], key: str) -> list[Fact]:
    return [Fact.of(key, titles=tuple(titles))] if titles else []


def _placements(changes: ChangeList, context: MapContext) -> list[tuple[str | None, DigestLine]]:
    """Every (route, line) the change list produces; a move appears on both routes."""
    placed: list[tuple[str | None, DigestLine]] = []

    def describe(occupation_id: str) -> tuple[str, int | None]:
        info = context.new.get(occupation_id) or context.old.get(occupation_id)
        title = info.title if info else context.titles.get(occupation_id, occupation_id)
        return title, info.level if info else None

    for occupation_id in changes.added:
        title, level = describe(occupation_id)
        info = context.new.get(occupation_id)
        placed.append((info.route_id if info else None,
                       DigestLine(occupation_id, title, level, "new", (Fact.of("change_new"),))))
    for occupation_id in changes.removed:
        old = context.old.get(occupation_id)
        info = old or context.new.get(occupation_id)
        title = (info.title if info else None) or context.titles.get(occupation_id, occupation_id)
        placed.append((info.route_id if info else None,
                       DigestLine(occupation_id, title, info.level if info else None, "retired",
                                  (Fact.of("change_retired"),))))
    for change in changes.changed:
        title, level = describe(change.id)
        old, new = context.old.get(change.id), context.new.get(change.id)
        facts: list[Fact] = []
        for name, (before, after) in change.fields.items():
            if name == "route":
                continue
            if name == "title":
                facts.append(Fact.of("change_renamed", old=before))
            elif name == "level":
                facts.append(Fact.of("change_level", old=before, new=after))
            elif name in ("pathway", "cluster", "status"):
                facts.append(Fact.of(f"change_{name}", old=before, new=after))
            else:
                facts.append(Fact.of("change_field", field=name, old=before, new=after))
        facts += _product_facts(change.products_added, "change_product_added")
        facts += _product_facts(change.products_removed, "change_product_removed")
        for before, after in change.products_changed:
            label = f"{after.code or after.title}"
            if before.level != after.level:
                facts.append(Fact.of("change_product_level", product=label, product_type=after.type,
                                     old=before.level, new=after.level))
            else:
                facts.append(Fact.of("change_product_status", product=label, product_type=after.type,
                                     old=before.status or "-", new=after.status or "-"))
        facts += _title_facts(change.job_titles_added, "change_job_titles_added")
        facts += _title_facts(change.job_titles_removed, "change_job_titles_removed")
        new_route = new.route_id if new else None
        old_route = old.route_id if old else None
        if "route" in change.fields:
            before, after = change.fields["route"]
            old_route = old_route or context.route_id_for(before)
            new_route = new_route or context.route_id_for(after)
        if "route" in change.fields and old_route != new_route:
            before, after = change.fields["route"]
            to_name = context.route_name(new_route) or str(after)
            from_name = context.route_name(old_route) or str(before)
            placed.append((old_route, DigestLine(change.id, title, level, "changed",
                                                 (Fact.of("change_moved_to", route=to_name), *facts))))
            placed.append((new_route, DigestLine(change.id, title, level, "changed",
                                                 (Fact.of("change_moved_from", route=from_name), *facts))))
        elif facts:
            placed.append((new_route or old_route,
                           DigestLine(change.id, title, level, "changed", tuple(facts))))
    return placed


def notices_for(subscription: Subscription, changes: ChangeList, context: MapContext) -> Digest | None:
    """The digest one subscription gets for a change list, or None if its routes did not change."""
    placed = [(rid, line) for rid, line in _placements(changes, context) if subscription.covers(rid)]
    if not placed:
        return None
    by_route: dict[str | None, list[DigestLine]] = {}
    for rid, line in placed:
        by_route.setdefault(rid, []).append(line)
    order = {rid: i for i, rid in enumerate(context.routes)}
    sections = tuple(
        RouteSection(rid, context.route_name(rid),
                     tuple(sorted(lines, key=lambda x: (_KIND_ORDER[x.kind], x.title.casefold(), x.occupation_id))))
        for rid, lines in sorted(by_route.items(),
                                 key=lambda kv: (order.get(kv[0], 10_000) if kv[0] else 20_000, str(kv[0])))
    )
    kinds: dict[str, str] = {}
    for _, line in placed:
        kinds.setdefault(line.occupation_id, line.kind)
    counted = Counter(kinds.values())
    return Digest(context.version, context.previous, context.refreshed_at, context.retrieved_at,
                  context.source, counted["new"], counted["retired"], counted["changed"], sections)


class DigestParts(list[str]):
    """Rendered message parts; ``omitted`` counts lines left for "Show all changes"."""

    omitted: int = 0
    lines: int = 0


def source_name(source: str | None, texts: Messages) -> str:
    """Where a map version came from, in words: never the internal ``bundled:<file>`` label or a
    file name, which mean nothing to an adviser."""
    if not source:
        return texts.message("source_unknown")
    if source.startswith("api"):
        return texts.message("source_api")
    if source.startswith("bundled"):
        return texts.message("source_bundled")
    return texts.message("source_file")


def _value(value: Any, texts: Messages) -> str:
    if value in (None, ""):
        return texts.message("empty_value")
    text = str(value)
    return text if len(text) <= 150 else text[:149] + "…"


def render_fact(fact: Fact, texts: Messages) -> str:
    """One fact as escaped HTML ("Level 3 → 4", "moved to Digital", "T Level added")."""
    values = dict(fact.values)
    if fact.key in ("change_product_added", "change_product_removed"):
        text = texts.message(fact.key, product=texts.product_label(values["product_type"]))
        if values.get("count", 1) > 1:
            text += texts.message("change_times", count=values["count"])
        return escape(text)
    if fact.key in ("change_product_status", "change_product_level"):
        kind = texts.product_label(values.pop("product_type"))
        return escape(texts.message(fact.key, kind=kind, **{k: _value(v, texts) for k, v in values.items()}))
    if fact.key in ("change_job_titles_added", "change_job_titles_removed"):
        titles = list(values["titles"])
        shown = ", ".join(titles[:MAX_TITLES_LISTED])
        if len(titles) > MAX_TITLES_LISTED:
            shown += texts.message("change_more_titles", count=len(titles) - MAX_TITLES_LISTED)
        return escape(texts.message(fact.key, titles=shown))
    return escape(texts.message(fact.key, **{k: _value(v, texts) for k, v in values.items()}))


def render_line(line: DigestLine, texts: Messages) -> str:
    details = texts.message("details_separator").join(render_fact(f, texts) for f in line.facts)
    title = line.title if len(line.title) <= 200 else line.title[:199] + "…"
    if line.level is None:
        text = texts.message("line_no_level", title=escape(title), details=details)
    else:
        text = texts.message("line", title=escape(title), level=line.level, details=details)
    if len(text) > MAX_LINE_CHARS:  # cut on a fact boundary so no tag or entity is broken
        facts = [render_fact(f, texts) for f in line.facts]
        key = "line_no_level" if line.level is None else "line"
        while len(facts) > 1 and len(text) > MAX_LINE_CHARS:
            facts.pop()
            text = texts.message(key, title=escape(title), level=line.level,
                                 details=texts.message("details_separator").join(facts) + " …")
    return text


def _header(digest: Digest, texts: Messages, counts_line: str, timezone: str) -> list[str]:
    previous = texts.message("digest_previous", previous=digest.previous) if digest.previous else ""
    lines = [texts.message("digest_refreshed", date=long_date(digest.refreshed_at, timezone),
                           source=escape(source_name(digest.source, texts)),
                           version=digest.version if digest.version is not None else "?",
                           previous=previous)]
    if digest.retrieved_at:
        lines.append(texts.message("digest_data_date", date=long_date(digest.retrieved_at, timezone)))
    lines.append(counts_line)
    return lines


def render_digest(
    digest: Digest,
    texts: Messages | None = None,
    *,
    limit: int = TELEGRAM_LIMIT,
    max_parts: int | None = DIGEST_MAX_PARTS,
    title_key: str = "digest_title",
    counts_line: str | None = None,
    footer_key: str = "digest_footer",
    timezone: str = "Europe/London",
) -> DigestParts:
    """Telegram HTML parts of at most ``limit`` characters, numbered "(1/3)" when split.

    Lines are never cut; a route that continues on the next part repeats its heading. With
    more than ``max_parts`` parts, the last one ends with "…and N more changes" and
    ``DigestParts.omitted`` says how many lines are behind the "Show all changes" button.
    """
    texts = texts or bundled_messages()
    title = texts.message(title_key)
    if counts_line is None:
        counts_line = texts.message("digest_counts", new=digest.new, retired=digest.retired,
                                    changed=digest.changed)
    header = "\n".join(_header(digest, texts, counts_line, timezone))
    footer = texts.message(footer_key)
    numbering = len(texts.message("part_number", index=99, total=99))
    more = len(texts.message("more_changes", count=99999))
    # Fixed reserves (unless the wording outgrows them), so a digest and the /changes pages of
    # the same routes break at the same lines: "Show all changes" opens page N+1 exactly where
    # the digest stopped.
    budget = (limit - max(len(title), TITLE_RESERVE) - numbering - max(len(footer), FOOTER_RESERVE)
              - max(more, MORE_RESERVE) - 8)
    if budget < 200:
        raise ValueError("limit too small for a digest")

    # Pack: each part is a list of text blocks joined by newlines.
    parts: list[list[str]] = [[header]]
    line_counts: list[int] = [0]
    sizes = [max(len(header), HEADER_RESERVE)]
    for section in digest.sections:
        name = escape(section.route_name or texts.message("other_route"))
        heading = texts.message("route_heading", route=name)
        started = False
        for line in section.lines:
            text = render_line(line, texts)
            if not started:
                need = len(heading) + len(text) + 3  # blank line + heading + line
                if sizes[-1] + need > budget and line_counts[-1]:
                    parts.append([])
                    sizes.append(0)
                    line_counts.append(0)
                parts[-1].extend(["", heading, text] if parts[-1] else [heading, text])
                sizes[-1] += need
                started = True
                line_counts[-1] += 1
                continue
            if sizes[-1] + len(text) + 1 > budget:
                again = texts.message("route_continued", route=name)
                parts.append([again, text])
                sizes.append(len(again) + len(text) + 1)
                line_counts.append(1)
                continue
            parts[-1].append(text)
            sizes[-1] += len(text) + 1
            line_counts[-1] += 1

    omitted = 0
    if max_parts is not None and len(parts) > max_parts:
        omitted = sum(line_counts[max_parts:])
        parts = parts[:max_parts]
    total = len(parts)
    rendered = DigestParts()
    for index, blocks in enumerate(parts, start=1):
        number = texts.message("part_number", index=index, total=total) if total > 1 else ""
        body = "\n".join(blocks)
        tail = [footer] if index == total else []
        if index == total and omitted:
            tail = [texts.message("more_changes", count=omitted), footer]
        text = "\n".join([title + number, body, *([""] + tail if tail else [])])
        assert len(text) <= limit, (len(text), limit)
        rendered.append(text)
    rendered.omitted = omitted
    rendered.lines = digest.line_count
    return rendered


def changes_for_version(db: sqlite_utils.Database, version: int) -> ChangeList | None:
    """The change list stored with ``version``, or None if there is no such version."""
    try:
        return version_changes(db, version)
    except KeyError:
        return None


class ChangeContexts:
    """Change lists with their context, for /changes pages and test notices: building one
    loads two whole maps, so the last two versions asked for are kept."""

    def __init__(self, size: int = 2) -> None:
        self.size = size
        self._found: dict[int, tuple[ChangeList, MapContext]] = {}

    def get(self, db: sqlite_utils.Database, version: int) -> tuple[ChangeList, MapContext] | None:
        """The change list of ``version`` and its context, or None if nothing changed in it."""
        if version not in self._found:
            changes = changes_for_version(db, version)
            if changes is None or not len(changes):
                return None
            try:
                found = change_context(db, changes)
            except KeyError:
                return None
            if len(self._found) >= self.size:
                self._found.pop(next(iter(self._found)))
            self._found[version] = (changes, found)
        return self._found[version]

    def clear(self) -> None:
        """Forget everything (a new version was stored)."""
        self._found.clear()
