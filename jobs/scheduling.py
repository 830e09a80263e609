"""The one place where APScheduler job options are set, so no job silently inherits the
1-second misfire grace (which skips a run whenever the event loop is busy)."""

from __future__ import annotations

from typing import Any


def job_kwargs(job_id: str, *, misfire_grace_s: int, coalesce: bool = True) -> dict[str, Any]:
    """Options for a named job: replaced on re-registration, one instance at a time, missed runs
    collapsed into one (``coalesce``) and run late within ``misfire_grace_s``."""
    return {"id": job_id, "replace_existing": True, "coalesce": coalesce, "max_instances": 1,
            "misfire_grace_time": misfire_grace_s}
