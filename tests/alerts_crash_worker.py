"""The crash test's subprocess: the real sender, pointed at the test's local Bot API, until done.

Usage: ``python tests/alerts_crash_worker.py DB_PATH BASE_URL RATE``. It prints one JSON line per
:func:`jobs.outbox.deliver_pending` call and exits 0 when the outbox has nothing left to send.
The test SIGKILLs it part-way, restarts it, and checks the Bot API's records.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Bot  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.db import open_db  # noqa: E402
from jobs.outbox import deliver_pending  # noqa: E402

TOKEN = "123456:TEST-TOKEN-NOT-REAL"


async def main(db_path: str, base_url: str, rate: float) -> int:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_path=Path(db_path),
        send_window_start=dt.time(0),
        send_window_end=dt.time(0),
        global_rate_per_s=rate,
    )
    db = open_db(db_path)
    async with Bot(TOKEN, base_url=base_url) as bot:
        print(json.dumps({"ready": os.getpid()}), flush=True)
        while True:
            report = await deliver_pending(bot, db, settings, limit=500)
            print(json.dumps({"picked": report.picked, "sent": report.sent, "recovered": report.recovered,
                              "busy": report.busy}), flush=True)
            if report.busy:
                await asyncio.sleep(0.2)
                continue
            if not report.picked:
                return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]))))
