"""What changed between two occupational maps, precisely enough to alert advisers on.

:func:`diff_maps` is pure: two maps in, a :class:`ChangeList` out. It reports

- ``added``: occupations new to the map (a new occupation already retired is not news);
- ``removed``: see the absence rule below;
- ``changed``: per occupation, the fields that moved (``title``, ``level``, ``route``,
  ``pathway``, ``cluster``, ``status``) as ``(old, new)``, plus products added/removed (keyed by
  code and type) and typical job titles added/removed.

What is *not* a change
- Re-ordering of occupations, products or job titles.
- Whitespace or case-only edits in titles, job titles, pathway, cluster and status names.
- A field one side does not know (``None``): the JSONL snapshot has no pathway or cluster, so the
  first API pull after it must not report 1,287 "changes".
- A renamed route: ``route`` compares route ids when both sides have them, names otherwise.

The absence rule (never delete on a transient absence)
An occupation is reported as ``removed`` only when
  1. the source says so: it is still listed but its status now reads retired/withdrawn-like
     (:data:`RETIRED_WORDS` in ``statusName``), or
  2. it is missing from two pulls in a row: the caller passes the ids that were already missing
     last time as ``missing_before`` (the store keeps them, :mod:`bot.maps.store`).
Missing for the first time, it goes into ``ChangeList.missing`` instead: not reported, and
:func:`carry_forward` keeps its last known record in the stored map so nothing is lost if the
next pull has it again. An occupation that was already retired and then disappears is dropped
silently (its removal was reported when it retired).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.maps.model import Occupation, OccupationMap, Product, fold_text

RETIRED_WORDS = ("retired", "withdrawn", "removed", "archived", "closed", "discontinued")
FIELDS = ("title", "level", "route", "pathway", "cluster", "status")


def is_retired(occupation: Occupation) -> bool:
    """Whether the source itself marks this occupation as gone (retired, withdrawn…)."""
    name = (occupation.status_name or "").casefold()
    return any(word in name for word in RETIRED_WORDS)


@dataclass(frozen=True)
class OccupationChange:
    """How one occupation differs between two maps."""

    id: str
    fields: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    products_added: tuple[Product, ...] = ()
    products_removed: tuple[Product, ...] = ()
    job_titles_added: tuple[str, ...] = ()
    job_titles_removed: tuple[str, ...] = ()
    # The same product (code and type) with a new status or level: (before, after).
    products_changed: tuple[tuple[Product, Product], ...] = ()

    def __bool__(self) -> bool:
        return bool(
            self.fields
            or self.products_added
            or self.products_removed
            or self.products_changed
            or self.job_titles_added
            or self.job_titles_removed
        )

    def to_json(self) -> dict[str, Any]:
        """``{"id", "fields": {"level": [old, new], "products_added": [...], …}}``."""
        fields: dict[str, Any] = {name: [old, new] for name, (old, new) in self.fields.items()}
        for name, products in (
            ("products_added", self.products_added),
            ("products_removed", self.products_removed),
        ):
            if products:
                fields[name] = [_product_json(p) for p in products]
        if self.products_changed:
            fields["products_changed"] = [
                {"old": _product_json(before), "new": _product_json(after)}
                for before, after in self.products_changed
            ]
        if self.job_titles_added:
            fields["job_titles_added"] = list(self.job_titles_added)
        if self.job_titles_removed:
            fields["job_titles_removed"] = list(self.job_titles_removed)
        return {"id": self.id, "fields": fields}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OccupationChange:
        raw = dict(data.get("fields") or {})

        def products(key: str) -> tuple[Product, ...]:
            return tuple(Product(**p) for p in raw.pop(key, ()) or ())

        added, removed = products("products_added"), products("products_removed")
        changed_products = tuple(
            (Product(**pair["old"]), Product(**pair["new"])) for pair in raw.pop("products_changed", ()) or ()
        )
        titles_added = tuple(raw.pop("job_titles_added", ()) or ())
        titles_removed = tuple(raw.pop("job_titles_removed", ()) or ())
        return cls(
            str(data["id"]),
            {k: (v[0], v[1]) for k, v in raw.items()},
            added,
            removed,
            titles_added,
            titles_removed,
            changed_products,
        )


def _product_json(product: Product) -> dict[str, Any]:
    return {
        "code": product.code,
        "title": product.title,
        "level": product.level,
        "type": product.type,
        "status": product.status,
    }


@dataclass(frozen=True)
class ChangeList:
    """Everything reportable between two map versions (versions filled in by the refresh)."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[OccupationChange, ...] = ()
    missing: tuple[str, ...] = ()
    from_version: int | None = None
    to_version: int | None = None

    def __len__(self) -> int:
        """How many occupations have news: what the large-change guard counts."""
        return len(self.added) + len(self.removed) + len(self.changed)

    @property
    def ids(self) -> tuple[str, ...]:
        """Every occupation id mentioned, in report order."""
        return (*self.added, *self.removed, *(c.id for c in self.changed))

    def to_json(self) -> dict[str, Any]:
        """``{"from_version", "to_version", "added", "removed", "changed": [{"id", "fields"}]}``."""
        return {
            "from_version": self.from_version,
            "to_version": self.to_version,
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": [c.to_json() for c in self.changed],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChangeList:
        return cls(
            added=tuple(data.get("added") or ()),
            removed=tuple(data.get("removed") or ()),
            changed=tuple(OccupationChange.from_json(c) for c in data.get("changed") or ()),
            missing=tuple(data.get("missing") or ()),
            from_version=data.get("from_version"),
            to_version=data.get("to_version"),
        )


def _same_text(old: str | None, new: str | None) -> bool:
    return old is None or new is None or fold_text(old) == fold_text(new)


def _route_label(occupation: Occupation) -> str | None:
    return occupation.route_name or occupation.route_id


def _field_changes(old: Occupation, new: Occupation) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    if not _same_text(old.title, new.title):
        changes["title"] = (old.title, new.title)
    if old.level != new.level:
        changes["level"] = (old.level, new.level)
    if old.route_id and new.route_id:
        moved = old.route_id != new.route_id
    else:
        moved = not _same_text(old.route_name, new.route_name)
    if moved:
        changes["route"] = (_route_label(old), _route_label(new))
    if not _same_text(old.pathway, new.pathway):
        changes["pathway"] = (old.pathway, new.pathway)
    if not _same_text(old.cluster, new.cluster):
        changes["cluster"] = (old.cluster, new.cluster)
    if old.status_name and new.status_name:
        if not _same_text(old.status_name, new.status_name):
            changes["status"] = (old.status_name, new.status_name)
    elif old.status is not None and new.status is not None and old.status != new.status:
        changes["status"] = (old.status, new.status)
    return changes


def diff_occupation(old: Occupation, new: Occupation) -> OccupationChange:
    """The change between two records of the same occupation (falsy when there is none)."""
    old_products = {p.key: p for p in old.products}
    new_products = {p.key: p for p in new.products}
    old_titles = {fold_text(t): t for t in old.typical_job_titles}
    new_titles = {fold_text(t): t for t in new.typical_job_titles}
    return OccupationChange(
        id=new.id,
        fields=_field_changes(old, new),
        products_added=tuple(new_products[k] for k in new_products if k not in old_products),
        products_removed=tuple(old_products[k] for k in old_products if k not in new_products),
        job_titles_added=tuple(sorted(new_titles[k] for k in new_titles if k not in old_titles)),
        job_titles_removed=tuple(sorted(old_titles[k] for k in old_titles if k not in new_titles)),
        products_changed=tuple(
            (old_products[k], new_products[k])
            for k in new_products
            if k in old_products and _product_changed(old_products[k], new_products[k])
        ),
    )


def _product_changed(before: Product, after: Product) -> bool:
    """A new status ("Approved for delivery" → "Retired") or level; case and spacing ignored."""
    return not _same_text(before.status, after.status) or before.level != after.level


def diff_maps(
    old: Mapping[str, Occupation],
    new: Mapping[str, Occupation],
    *,
    missing_before: Collection[str] = (),
) -> ChangeList:
    """The change list from ``old`` to ``new`` under the absence rule in the module docstring."""
    added: list[str] = []
    removed: list[str] = []
    missing: list[str] = []
    changed: list[OccupationChange] = []
    already_missing = set(missing_before)
    for occupation_id in sorted(old.keys() | new.keys()):
        before, after = old.get(occupation_id), new.get(occupation_id)
        if before is None and after is not None:
            if not is_retired(after):
                added.append(occupation_id)
        elif after is None and before is not None:
            if is_retired(before):
                continue
            (removed if occupation_id in already_missing else missing).append(occupation_id)
        elif before is not None and after is not None:
            if is_retired(after) and not is_retired(before):
                removed.append(occupation_id)
                continue
            change = diff_occupation(before, after)
            if change:
                changed.append(change)
    return ChangeList(tuple(added), tuple(removed), tuple(changed), tuple(missing))


def carry_forward(
    new: OccupationMap, old: Mapping[str, Occupation], ids: Collection[str]
) -> OccupationMap:
    """``new`` plus the last known records of occupations missing from it for the first time."""
    kept = [old[i] for i in ids if i in old and i not in new]
    if not kept:
        return new
    return OccupationMap.of([*new.values(), *kept], new.routes, new.retrieved_at)
