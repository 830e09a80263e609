"""End-to-end throughput: text updates from many students through the real bot and its HTTP client.

Run: ``.venv/bin/python bench/throughput.py [--updates 3000] [--users 1000] [--offered 200]``.

Set-up (as deployed, Telegram being another machine): the local Bot API
(:class:`app.local_api.LocalBotApi`) runs in this process on 127.0.0.1; the bot runs in a
subprocess, the real ``Application`` from :func:`app.application.build_application` long-polling
that API through python-telegram-bot's own HTTP client, with every handler, the flood guard, the
usage bookkeeping and the whole answer path (safeguarding, small talk, the sentence encoder, the
knowledge base, occupation search). Only the rate limiter is lifted
(``global_rate_per_s`` very high): Telegram's own limit is measured by ``bench/broadcast.py``.

Questions are distinct (``bench/questions.py``: the labelled sets plus student-style variants),
and only ones whose answer is a single message, so every update gets exactly one reply.

1. Warm-up: a few hundred updates, not counted.
2. Saturation: ``--updates`` updates from ``--users`` students are queued at once; updates/s is
   their number over the time from queuing to the last reply; bot CPU per update is the bot
   process's user + system time over that span (all its threads, from ``/proc``), divided by
   the number of updates. The local Bot API's own CPU is printed too: on a 2-core machine it
   competes with the bot, which Telegram's servers do not.
3. Paced: ``--paced`` updates offered at ``--offered`` updates/s from other students; the time
   from queuing each update to its reply being recorded by the API, p50 and p99.

In 2 and 3 this process's own garbage collector is paused (:func:`measure.driver_gc_paused`):
a full collection of the API's record of every message stalled the pacing for 60 ms, and the
dozen updates due meanwhile reached the bot at once, which set the p99.

Each HTTP client in ``--transports`` (default: aiohttp, the bot's own, then PTB's default httpx)
gets its own bot process, warm-up and saturation run with fresh questions, and the two are printed
side by side; only the first is paced and gives the summary line.

RSS is the bot process's resident memory after start (encoder loaded, before any update) and
at the end. Linux only (``/proc``). Loopback only; every wait is bounded.

Last line: ``throughput: updates_per_s=… cpu_ms_per_update=… p99_reply_ms=… rss_mb=…``
(``rss_mb`` after start). Targets: ≥ 250 updates/s, ≤ 4 ms bot CPU per update, p99 ≤ 50 ms at
200 updates/s offered, RSS ≤ 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from measure import driver_gc_paused, percentile
from questions import one_message_questions

from app.local_api import LocalBotApi, SentMessage
from bot.config import DEFAULT_KNOWLEDGE_DIR, Settings

TOKEN = "123456:BENCH-TOKEN-NOT-REAL"
CACHE = ROOT / "data" / "cache"
RATE_LIFTED = 1_000_000.0
WARM_UP = 300
FIRST_WARM_UP_USER = 7_000_000
FIRST_SATURATION_USER = 8_000_000
FIRST_PACED_USER = 9_000_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far."""
    return cpu_s_of(Path(f"/proc/{pid}/stat"))


def thread_cpu_s(pid: int) -> dict[int, float]:
    """User + system CPU seconds so far of each thread of a process, by thread id."""
    used = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            used[int(task.name)] = cpu_s_of(task / "stat")
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
    return used


def cpu_s_of(stat: Path) -> float:
    """User + system CPU seconds from a ``/proc`` stat file."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    """Resident memory of a process in MB (``VmHWM``: its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the bot subprocess ----------------------------------------------------------------------


async def bot_worker(db_path: str, base_url: str, transport: str) -> None:
    """The real Application, until SIGTERM (profiled into ``$BENCH_PROFILE`` if set)."""
    from app.application import build_application, start_local, stop_local
    from bot.services import build_services

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_path=Path(db_path),
        cache_dir=CACHE,
        knowledge_dir=DEFAULT_KNOWLEDGE_DIR,
        reload_interval_s=0,
        global_rate_per_s=RATE_LIFTED,
        http_transport=transport,
    )
    services = build_services(settings)
    application = build_application(settings, services, token=TOKEN, base_url=base_url)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with application:
        await start_local(application, poll_timeout=10)
        print("ready", flush=True)
        await stop.wait()
        await stop_local(application)


# --- the benchmark ---------------------------------------------------------------------------


def single_message_questions(count: int) -> list[str]:
    """``count`` distinct questions whose answer is one message (so each update has one reply)."""
    from bot.answering.responder import Responder
    from bot.encoder import embedding_cache
    from bot.knowledge import load_knowledge
    from bot.maps.search import bundled_occupation_index

    responder = Responder(load_knowledge(DEFAULT_KNOWLEDGE_DIR),
                          occupations=bundled_occupation_index(), cache=embedding_cache(CACHE))
    return one_message_questions(count, responder)


def machine_check(runs: int = 500) -> float:
    """Milliseconds of CPU one encoder run on a fixed question takes in this process now.

    Shared machines speed up and slow down by a third from one hour to the next; printed next
    to the results, this tells a slow run from slower code (the bot's CPU per update tracks
    it)."""
    from bot.encoder import default_encoder

    encoder = default_encoder()
    question = "can i do a t level in digital if i failed maths at gcse"
    for _ in range(50):
        encoder.encode_one(question)
    started = time.process_time()
    for _ in range(runs):
        encoder.encode_one(question)
    return (time.process_time() - started) * 1000 / runs


class Replies:
    """Every reply the API records, by chat: when each update's answer arrived."""

    def __init__(self, api: LocalBotApi) -> None:
        self.asked: dict[int, list[float]] = {}
        self.latencies: list[float] = []
        self.answered = 0
        self.last_at = 0.0
        self.all_answered = asyncio.Event()
        self.expected = 0
        api.on_sent(self._on_sent)

    def expect(self, count: int) -> None:
        self.latencies, self.answered, self.expected = [], 0, count
        self.all_answered.clear()

    def _on_sent(self, message: SentMessage) -> None:
        waiting = self.asked.get(message.chat_id or 0)
        if not waiting:
            return
        self.latencies.append(message.at - waiting.pop(0))
        self.answered += 1
        self.last_at = message.at
        if self.answered >= self.expected:
            self.all_answered.set()


async def run_batch(api: LocalBotApi, replies: Replies, questions: list[str], users: list[int],
                    *, rate: float | None, timeout: float) -> float:
    """Queue the questions (all at once, or ``rate`` a second); seconds until the last reply."""
    replies.expect(len(questions))
    started = time.monotonic()
    for index, question in enumerate(questions):
        if rate is not None:
            due = started + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        chat = users[index % len(users)]
        replies.asked.setdefault(chat, []).append(time.monotonic())
        api.push_text(chat, question)
    try:
        await asyncio.wait_for(replies.all_answered.wait(), timeout)
    except TimeoutError:
        print(f"timed out: {replies.answered} of {len(questions)} answered")
    return replies.last_at - started


@dataclass
class Run:
    """One transport's measurements."""

    transport: str
    per_s: float = 0.0
    cpu_ms: float = 0.0
    p50: float = float("nan")
    p99: float = float("nan")
    rss_start: float = float("nan")


async def measure(api: LocalBotApi, replies: Replies, transport: str, tmp: str,
                  questions: tuple[list[str], list[str], list[str]], args: argparse.Namespace,
                  offset: int) -> Run:
    """Start a bot on ``transport``, warm it up, saturate it, then pace it (if ``--paced``)."""
    warm, saturation, paced = questions
    run = Run(transport)
    worker = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--bot-worker", str(Path(tmp) / f"{transport}.db"),
        api.base_url, transport,
        stdout=asyncio.subprocess.PIPE, env={**os.environ, "PTB_TIMEDELTA": "true"},
    )
    assert worker.stdout is not None
    try:
        line = await asyncio.wait_for(worker.stdout.readline(), timeout=120)
        assert line.strip() == b"ready", line
        run.rss_start = rss_mb(worker.pid)
        first = FIRST_WARM_UP_USER + offset
        await run_batch(api, replies, warm, list(range(first, first + WARM_UP)), rate=100,
                        timeout=60)

        first = FIRST_SATURATION_USER + offset
        users = list(range(first, first + args.users))
        with driver_gc_paused():
            cpu_before, harness_before = cpu_s(worker.pid), time.process_time()
            threads_before = thread_cpu_s(worker.pid)
            elapsed = await run_batch(api, replies, saturation, users, rate=None,
                                      timeout=args.updates / 20 + 30)
            cpu_used = cpu_s(worker.pid) - cpu_before
            harness_ms = (time.process_time() - harness_before) * 1000 / max(replies.answered, 1)
        threads = thread_cpu_s(worker.pid)
        by_thread = sorted((threads[t] - threads_before.get(t, 0.0) for t in threads), reverse=True)
        done = replies.answered
        run.per_s = done / elapsed
        run.cpu_ms = cpu_used * 1000 / max(done, 1)
        print(f"[{transport}] saturation: {done} updates from {args.users} students in "
              f"{elapsed:.2f}s = {run.per_s:.0f} updates/s; bot CPU {cpu_used:.2f}s = "
              f"{run.cpu_ms:.2f} ms/update ({cpu_used / elapsed:.0%} of a core); the local Bot "
              f"API and this driver used {harness_ms:.2f} ms/update on the same 2 cores")
        per_update = [f"{x * 1000 / max(done, 1):.2f}" for x in by_thread[:3]]
        print(f"[{transport}] bot CPU by thread, busiest first (the answering thread, then the "
              f"event loop): {' / '.join(per_update)} ms/update")

        if paced:
            await asyncio.sleep(1.0)
            first = FIRST_PACED_USER + offset
            users = list(range(first, first + args.users))
            with driver_gc_paused():
                cpu_before = cpu_s(worker.pid)
                elapsed = await run_batch(api, replies, paced, users, rate=args.offered,
                                          timeout=args.paced / args.offered + 30)
            cpu_paced = (cpu_s(worker.pid) - cpu_before) * 1000 / max(replies.answered, 1)
            latencies = [x * 1000 for x in replies.latencies]
            run.p50, run.p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
            print(f"[{transport}] paced at {args.offered:g}/s: {len(latencies)} updates in "
                  f"{elapsed:.2f}s; update→reply p50={run.p50:.1f}ms p99={run.p99:.1f}ms "
                  f"max={max(latencies):.1f}ms; bot CPU {cpu_paced:.2f} ms/update")
        rss_end, rss_peak = rss_mb(worker.pid), rss_mb(worker.pid, "VmHWM")
        print(f"[{transport}] bot RSS: {run.rss_start:.0f} MB after start, {rss_end:.0f} MB at "
              f"the end (peak {rss_peak:.0f} MB)")
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(worker.wait(), 30)
            except TimeoutError:
                worker.kill()
    return run


async def bench(args: argparse.Namespace) -> None:
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    transports = args.transports.split(",")
    needed = WARM_UP + args.updates + args.paced
    questions = single_message_questions(needed * len(transports))
    print(f"{len(questions)} distinct questions with one-message answers")
    print(f"machine check: one encoder run on a fixed 19-token question takes "
          f"{machine_check():.2f} ms of CPU here now")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        async with LocalBotApi() as api:
            replies = Replies(api)
            for index, transport in enumerate(transports):
                mine = questions[index * needed:(index + 1) * needed]
                parts = (mine[:WARM_UP], mine[WARM_UP:WARM_UP + args.updates],
                         mine[WARM_UP + args.updates:] if index == 0 else [])
                runs.append(await measure(api, replies, transport, tmp, parts, args,
                                          offset=index * 100_000))
    chosen = runs[0]
    if len(runs) > 1:
        other = runs[1]
        print(f"side by side: {chosen.transport} {chosen.per_s:.0f} updates/s at "
              f"{chosen.cpu_ms:.2f} ms CPU, {other.transport} {other.per_s:.0f} updates/s at "
              f"{other.cpu_ms:.2f} ms; {chosen.transport}/{other.transport}: "
              f"throughput x{chosen.per_s / other.per_s:.2f}, "
              f"CPU per update x{chosen.cpu_ms / other.cpu_ms:.2f}")
    met = (chosen.per_s >= 250 and chosen.cpu_ms <= 4 and chosen.p99 <= 50
           and chosen.rss_start <= 200)
    print(f"targets (>= 250 updates/s, <= 4 ms CPU/update, p99 <= 50 ms at 200/s, "
          f"RSS <= 200 MB): {'met' if met else 'MISSED'} ({chosen.transport})")
    print(f"throughput: updates_per_s={chosen.per_s:.0f} cpu_ms_per_update={chosen.cpu_ms:.2f} "
          f"p99_reply_ms={chosen.p99:.1f} rss_mb={chosen.rss_start:.0f}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--bot-worker":
        profile = os.environ.get("BENCH_PROFILE")
        if profile:  # where the bot's CPU goes: python -m pstats FILE
            import cProfile

            cProfile.run("asyncio.run(bot_worker(*sys.argv[2:5]))", profile)
        else:
            asyncio.run(bot_worker(*sys.argv[2:5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=3000, help="updates in the saturation run")
    parser.add_argument("--users", type=int, default=1000, help="students sending them")
    parser.add_argument("--paced", type=int, default=2000, help="updates in the paced run")
    parser.add_argument("--offered", type=float, default=200.0, help="paced rate, updates/s")
    parser.add_argument("--transports", default="aiohttp,httpx",
                        help="HTTP clients to measure, the bot's own first (its numbers are the "
                             "summary line; the others are saturated for comparison only)")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
