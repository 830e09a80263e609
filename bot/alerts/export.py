"""A change list as CSV, for a school's records: ``/changes csv`` and ``careers-bot changes --csv``.

One row per occupation and route (an occupation that moved appears on both routes, as in the
digest), with the same wording as the digest; column names and change kinds come from
``messages.yaml``. Plain text, no HTML; a cell that a spreadsheet would read as a formula is
prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import html
import io

from bot.alerts.digest import MapContext, notices_for, render_fact
from bot.alerts.subscriptions import Subscription
from bot.knowledge import Messages
from bot.maps.diff import ChangeList

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
