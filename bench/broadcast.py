"""Alert broadcast: 10,000 digests through the local Bot API with a flood limit, students asking meanwhile.

Run: ``.venv/bin/python bench/broadcast.py [--subscribers 40000] [--limit 300] [--busy-core]``.

Set-up (as deployed, Telegram being another machine): the local Bot API runs in this process with
a global limit of ``--limit`` messages a second and one a second per chat (429 + retry_after
beyond that); the bot runs in a subprocess, the real ``Application`` polling that API with the
alerts outbox job, configured with ``global_rate_per_s = --share × --limit`` (the rest is headroom
for students' answers, which share Telegram's budget).

1. Broadcast: one refresh's digests are queued for every subscriber (every route changed, so each
   of them gets exactly one), and students keep asking questions while the bot sends.
2. Baseline: the same students ask on at the same pace with no broadcast, until they have asked
   as many questions as during the broadcast, so both p99s rest on the same number of samples.

This process's own garbage collector is paused in both phases
(:func:`measure.driver_gc_paused`): its pauses would show up as the bot's latency.

Every question is asked once (``bench/questions.py``: the labelled questions, then student-style
variants), and only ones answered in one message, so a student never trips the per-chat limit.
The defaults give over 1,000 samples per phase. ``--busy-core`` keeps one core busy with another
process throughout, as on a shared machine.

Measured from the API's own records: achieved digest rate (first to last digest) against the
allowed rate, 429 answers, subscribers without a digest (lost) or with more than one
(duplicated), and each student question's answer latency (question queued → first reply
recorded), p99 during the broadcast vs without it.

Last line: ``broadcast: rate_ratio=<x> lost=<n> duplicated=<n> student_p99_ratio=<x>``
(student_p99_ratio = p99 during the broadcast / p99 without it).
Targets: rate_ratio ≥ 0.95, lost = duplicated = 0, student_p99_ratio ≤ 2.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from measure import driver_gc_paused, percentile
from questions import one_message_questions

from app.local_api import LocalBotApi, SentMessage
from bot.alerts.outbox import enqueue_digests, outbox_counts
from bot.config import DEFAULT_KNOWLEDGE_DIR, Settings
from bot.db import open_db, write_transaction
from bot.maps.diff import diff_maps
from bot.maps.parse import load_bundled_map
from bot.maps.refresh import RefreshReport
from bot.maps.store import save_version

TOKEN = "123456:BENCH-TOKEN-NOT-REAL"
DIGEST = "<b>Occupational maps update</b>"
FIRST_SUBSCRIBER = 1_000_000
FIRST_STUDENT = 5_000_000


# --- the bot subprocess ----------------------------------------------------------------------


async def bot_worker(db_path: str, base_url: str, rate: float) -> None:
    """The real Application, until SIGTERM."""
    from app.application import build_application
    from bot.services import build_services
    from jobs.outbox import register_outbox_job

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_path=Path(db_path),
        knowledge_dir=DEFAULT_KNOWLEDGE_DIR,
        reload_interval_s=0,
        send_window_start=dt.time(0),
        send_window_end=dt.time(0),
        global_rate_per_s=rate,
    )
    services = build_services(settings)
    application = build_application(settings, services, token=TOKEN, base_url=base_url)
    register_outbox_job(application, interval=0.5, first=0.5)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=10)
        print("ready", flush=True)
        await stop.wait()
        await application.updater.stop()
        await application.stop()


# --- the benchmark ---------------------------------------------------------------------------


def prepare(db_path: Path, subscribers: int, rng: random.Random) -> RefreshReport:
    """Map versions 1 and 2 (one occupation per route re-levelled) and the subscribers."""
    db = open_db(db_path)
    base = load_bundled_map()
    save_version(db, base, "bundled:bench")
    occupations = dict(base)
    picked: dict[str, str] = {}
    for occupation in base.values():
        if occupation.route_id and occupation.route_id not in picked:
            picked[occupation.route_id] = occupation.id
    for oid in picked.values():
        occupations[oid] = replace(base[oid], level=base[oid].level % 7 + 1)
    modified = type(base).of(occupations.values(), base.routes, base.retrieved_at)
    change = diff_maps(base, modified)
    version = save_version(db, modified, "api:bench", changes=replace(change, from_version=1, to_version=2))
    routes = sorted(picked)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    rows = []
    for i in range(subscribers):
        roll = rng.random()
        if roll < 0.3:
            choice = "all"
        elif roll < 0.8:
            choice = rng.choice(routes)
        else:
            choice = ",".join(sorted(rng.sample(routes, 2), key=int))
        rows.append((FIRST_SUBSCRIBER + i, choice, now, now))
    with write_transaction(db):
        db.conn.executemany("INSERT INTO subscriptions (chat_id, routes, active, created_at, updated_at) "
                            "VALUES (?, ?, 1, ?, ?)", rows)
    db.close()
    return RefreshReport("accepted", "bench", "api:bench", replace(change, from_version=1, to_version=version))


def single_message_questions(count: int) -> list[str]:
    """``count`` distinct student questions answered in one message (four characters or more)."""
    from bot.answering.responder import Responder
    from bot.knowledge import load_knowledge
    from bot.maps.search import bundled_occupation_index

    responder = Responder(load_knowledge(DEFAULT_KNOWLEDGE_DIR), occupations=bundled_occupation_index())
    return one_message_questions(count, responder, min_chars=4)


class Students:
    """Students asking questions at a steady rate; latency = queued → first reply recorded."""

    def __init__(self, api: LocalBotApi, questions: list[str], count: int, per_student_s: float,
                 rng: random.Random) -> None:
        self.api, self.questions, self.rng = api, list(questions), rng
        self.chats = [FIRST_STUDENT + i for i in range(count)]
        self.interval = per_student_s / count
        self.waiting: dict[int, float] = {}
        self.latencies: list[float] = []
        self.unanswered = 0
        api.on_sent(self._on_sent)

    def _on_sent(self, message: SentMessage) -> None:
        asked = self.waiting.pop(message.chat_id, None) if message.chat_id else None
        if asked is not None:
            self.latencies.append(message.at - asked)

    async def ask_until(self, done: asyncio.Event | None, seconds: float | None,
                        samples: int | None = None) -> list[float]:
        """Ask (each question once) until ``done`` is set, ``seconds`` pass or ``samples``
        questions were asked; the latencies of their answers."""
        self.latencies = []
        started = time.monotonic()
        index = 0
        while self.questions:
            if done is not None and done.is_set():
                break
            if seconds is not None and time.monotonic() - started >= seconds:
                break
            if samples is not None and index >= samples:
                break
            chat = self.chats[index % len(self.chats)]
            index += 1
            if chat in self.waiting:  # still unanswered: count it and move on
                self.unanswered += 1
            self.waiting[chat] = time.monotonic()
            self.api.push_text(chat, self.questions.pop())
            await asyncio.sleep(self.interval)
        deadline = time.monotonic() + 5
        while self.waiting and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return list(self.latencies)


async def bench(args: argparse.Namespace) -> None:
    rng = random.Random(7)
    rate = args.share * args.limit
    student_rate = args.students / args.student_interval
    # Enough distinct questions for both phases even if the broadcast takes twice its time.
    asked = int((2 * args.subscribers / rate + 10) * student_rate * 2.2) + 100
    questions = single_message_questions(asked)
    rng.shuffle(questions)
    busy = None
    if args.busy_core:
        busy = await asyncio.create_subprocess_exec(sys.executable, "-c", "while True: pass")
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        report = prepare(db_path, args.subscribers, rng)
        async with LocalBotApi() as api:
            api.set_rate_limits(global_per_s=args.limit, per_chat_per_s=1)
            worker = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--bot-worker", str(db_path), api.base_url, str(rate),
                stdout=asyncio.subprocess.PIPE, env={**os.environ, "PTB_TIMEDELTA": "true"},
            )
            assert worker.stdout is not None
            line = await asyncio.wait_for(worker.stdout.readline(), timeout=60)
            assert line.strip() == b"ready", line
            students = Students(api, questions, args.students, args.student_interval, rng)
            await students.ask_until(None, 3.0)  # warm-up (imports, caches, first connections)
            limited_before = api.rate_limited

            digests: list[SentMessage] = []
            done = asyncio.Event()

            def on_digest(message: SentMessage) -> None:
                if message.method == "sendMessage" and (message.text or "").startswith(DIGEST):
                    digests.append(message)
                    if len(digests) >= expected:
                        done.set()

            api.on_sent(on_digest)
            db = open_db(db_path)
            expected = enqueue_digests(db, report.changes, titles=report.titles, source=report.source)
            with driver_gc_paused():
                queued_at = time.monotonic()
                during_task = asyncio.create_task(students.ask_until(done, None))
                timeout = expected / rate * 2 + 60
                try:
                    await asyncio.wait_for(done.wait(), timeout)
                except TimeoutError:
                    print(f"timed out after {timeout:.0f}s with {len(digests)} of {expected} "
                          "digests")
                during = await during_task
            await asyncio.sleep(2.0)  # anything late (a duplicate) would show up now
            with driver_gc_paused():
                quiet = await students.ask_until(None, None, samples=len(during))
            worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.wait(), 30)
            counts = outbox_counts(db)
            db.close()
    if busy is not None:
        busy.kill()
        await busy.wait()

    per_chat = Counter(m.chat_id for m in digests)
    wanted = set(range(FIRST_SUBSCRIBER, FIRST_SUBSCRIBER + args.subscribers))
    lost = len(wanted - set(per_chat))
    duplicated = sum(n - 1 for n in per_chat.values())
    first, last = digests[0].at, digests[-1].at
    achieved = (len(digests) - 1) / (last - first) if last > first else float("nan")
    ratio = achieved / args.limit
    quiet_ms = [x * 1000 for x in quiet]
    during_ms = [x * 1000 for x in during]
    p99_ratio = percentile(during_ms, 0.99) / percentile(quiet_ms, 0.99)
    print(f"subscribers={args.subscribers} api_limit={args.limit}/s (+1/s per chat) "
          f"bot_rate={rate:g}/s students={args.students} asking {student_rate:g}/s"
          f"{'; another process keeps one core busy' if busy is not None else ''}")
    print(f"queued {expected} digests; first after {first - queued_at:.2f}s; "
          f"{len(digests)} sent in {last - first:.1f}s = {achieved:.1f} msg/s "
          f"({ratio:.1%} of the allowed {args.limit}/s)")
    print(f"429 answers: {api.rate_limited - limited_before} during the broadcast "
          f"({api.rate_limited} in total); outbox: {counts}")
    print(f"lost={lost} duplicated={duplicated}")
    if len(quiet_ms) < len(during_ms):
        print(f"warning: questions ran out: {len(quiet_ms)} quiet samples, {len(during_ms)} loaded")
    print(f"students without broadcast: n={len(quiet_ms)} p50={percentile(quiet_ms, 0.5):.1f}ms "
          f"p99={percentile(quiet_ms, 0.99):.1f}ms max={max(quiet_ms):.1f}ms")
    print(f"students during broadcast:  n={len(during_ms)} p50={percentile(during_ms, 0.5):.1f}ms "
          f"p99={percentile(during_ms, 0.99):.1f}ms max={max(during_ms):.1f}ms "
          f"(mean {statistics.mean(during_ms):.1f}ms); unanswered: {students.unanswered}")
    print(f"broadcast: rate_ratio={ratio:.3f} lost={lost} duplicated={duplicated} "
          f"student_p99_ratio={p99_ratio:.2f}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bot-worker":
        asyncio.run(bot_worker(sys.argv[2], sys.argv[3], float(sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=40_000)
    parser.add_argument("--limit", type=float, default=300.0, help="the API's global limit, msg/s")
    # 0.97 left 9/s for students asking 8/s at random moments: their bursts met 429s and a
    # second's wait. 0.96 leaves 12/s.
    parser.add_argument("--share", type=float, default=0.96,
                        help="bot global_rate_per_s as a share of --limit (headroom for answers)")
    parser.add_argument("--students", type=int, default=48)
    parser.add_argument("--student-interval", type=float, default=6.0,
                        help="seconds between two questions of the same student")
    parser.add_argument("--busy-core", action="store_true",
                        help="keep one core busy with another process throughout")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
