"""A change list as CSV, for a school's records: ``/changes csv`` and ``careers-bot changes --csv``.

:func:`change_list` picks the change list between two stored versions for the command line: the
one stored with a version (what changed since the version before it), or a fresh comparison of
any two.

One row per occupation and route (an occupation that moved appears on both routes, as in the
digest), with the same wording as the digest; column names and change kinds come from
``messages.yaml``. Plain text, no HTML; a cell that a spreadsheet would read as a formula is
prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import html
import io

import sqlite_utils

from bot.alerts.digest import MapContext, change_context, notices_for, render_digest, render_fact
from bot.alerts.subscriptions import Subscription
from bot.knowledge import Messages
from bot.maps.diff import ChangeList
from bot.maps.store import changed_versions, compare_versions, list_versions, version_changes
from bot.render import html_to_plain

FORMULA_STARTS = ("=", "+", "@")


def _cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def changes_rows(changes: ChangeList, context: MapContext, texts: Messages,
                 routes: frozenset[str] | None = None) -> list[list[str]]:
    """The CSV rows (without the header) of a change list, optionally for some routes only."""
    digest = notices_for(Subscription(0, routes), changes, context)
    if digest is None:
        return []
    kinds = texts.get("changes_csv_kinds") or {}
    separator = texts.message("details_separator")
    rows = []
    for section in digest.sections:
        route = section.route_name or texts.message("other_route")
        for line in section.lines:
            details = separator.join(html.unescape(render_fact(f, texts)) for f in line.facts)
            rows.append([_cell(route), line.occupation_id, _cell(line.title),
                         "" if line.level is None else str(line.level),
                         str(kinds.get(line.kind, line.kind)), _cell(details),
                         "" if changes.from_version is None else str(changes.from_version),
                         "" if changes.to_version is None else str(changes.to_version)])
    return rows


def changes_csv(changes: ChangeList, context: MapContext, texts: Messages,
                routes: frozenset[str] | None = None) -> tuple[str, int]:
    """The change list as CSV text with a header row, and how many rows follow the header."""
    rows = changes_rows(changes, context, texts, routes)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(texts.get("changes_csv_columns") or [])
    writer.writerows(rows)
    return out.getvalue(), len(rows)


class NoSuchVersion(LookupError):
    """A version that is not stored, or no change list at all yet."""


def change_list(db: sqlite_utils.Database, from_version: int | None = None,
                to_version: int | None = None) -> tuple[ChangeList, MapContext]:
    """The changes from ``from_version`` to ``to_version`` with their context.

    ``to_version`` defaults to the newest version that changed anything, ``from_version`` to the
    version before it (the change list stored with it). Raises :class:`NoSuchVersion` naming the
    stored versions when one is unknown, or when nothing was ever compared.
    """
    stored = [v.version for v in list_versions(db)]
    for wanted in (from_version, to_version):
        if wanted is not None and wanted not in stored:
            known = ", ".join(map(str, stored)) or "none"
            raise NoSuchVersion(f"there is no maps version {wanted} (stored versions: {known})")
    if to_version is None:
        changed = changed_versions(db)
        if not changed:
            raise NoSuchVersion("no changes recorded yet: the first comparison comes with the "
                                "next refresh")
        to_version = changed[-1].version
    changes = version_changes(db, to_version)
    if from_version is not None and from_version != changes.from_version:
        changes = compare_versions(db, from_version, to_version)
    return changes, change_context(db, changes)


def changes_text(changes: ChangeList, context: MapContext, texts: Messages,
                 routes: frozenset[str] | None = None, timezone: str = "Europe/London") -> str:
    """The whole change list as plain text for a terminal (one part, nothing left out)."""
    digest = notices_for(Subscription(0, routes), changes, context)
    if digest is None:
        return texts.message("changes_cli_none")
    parts = render_digest(digest, texts, limit=10**9, max_parts=None,
                          footer_key="changes_footer", timezone=timezone)
    return html_to_plain("\n".join(parts))
