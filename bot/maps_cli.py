"""``careers-bot refresh [--source URL|FILE] [--dry-run] [--json] [--force]``, minus the argparse.

:func:`refresh_command` is what the CLI calls: it opens the database, builds the fetch for the
source, runs :func:`bot.maps.refresh.refresh_maps` and prints either the JSON change list or a
readable summary. Exit codes: 0 accepted/unchanged/dry run, 1 failed/refused/busy, 2 held (a
person should look, then use ``--force``).
"""

from __future__ import annotations

import json
import sys
from typing import TextIO

import httpx
import sqlite_utils

from bot.config import Settings
from bot.maps.refresh import RefreshReport, refresh_maps, summary_text
from bot.maps.source import DEFAULT_POLICY, USER_AGENT, FetchPolicy, make_fetch, source_label

EXIT_CODES = {"accepted": 0, "unchanged": 0, "dry_run": 0, "held": 2}


def exit_code(report: RefreshReport) -> int:
    """The process exit status for a refresh outcome (see the module docstring)."""
    return EXIT_CODES.get(report.status, 1)


async def run_refresh(
    settings: Settings,
    source: str | None = None,
    *,
    dry_run: bool = False,
    force: bool = False,
    policy: FetchPolicy = DEFAULT_POLICY,
) -> RefreshReport:
    """One refresh with the configured (or given) source: shared by the CLI and the scheduled job.

    The database comes from ``bot.storage.open_db`` (WAL, schema ensured).
    """
    from bot.storage import open_db

    db = open_db(settings.database_path)
    try:
        return await refresh_with_db(
            db, settings, source, dry_run=dry_run, force=force, policy=policy
        )
    finally:
        db.close()


async def refresh_with_db(
    db: sqlite_utils.Database,
    settings: Settings,
    source: str | None = None,
    *,
    dry_run: bool = False,
    force: bool = False,
    policy: FetchPolicy = DEFAULT_POLICY,
) -> RefreshReport:
    """:func:`run_refresh` on an already open database (the bot's own connection)."""
    chosen = source or settings.maps_source
    key = settings.maps_api_key.get_secret_value() if settings.maps_api_key else None
    async with httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT}, follow_redirects=True
    ) as client:
        fetch = make_fetch(
            chosen,
            client,
            base_url=settings.maps_api_base_url,
            api_key=key,
            pause_s=settings.maps_request_pause_s,
            policy=policy,
        )
        return await refresh_maps(
            db,
            fetch,
            source=source_label(chosen, settings.maps_api_base_url),
            min_ratio=settings.maps_min_ratio,
            max_changes=settings.maps_max_changes,
            dry_run=dry_run,
            force=force,
        )


async def refresh_command(
    settings: Settings,
    source: str | None,
    dry_run: bool,
    as_json: bool,
    force: bool,
    *,
    out: TextIO | None = None,
) -> int:
    """Run a refresh, print its report (JSON or readable) and return the exit code."""
    report = await run_refresh(settings, source, dry_run=dry_run, force=force)
    stream = out or sys.stdout
    if as_json:
        stream.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        stream.write(summary_text(report) + "\n")
    return exit_code(report)
