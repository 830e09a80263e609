"""Benchmark: occupational maps refresh (parse + diff + store, no network) and occupation search.

Run: ``.venv/bin/python bench/maps.py``. Targets: a refresh of the real snapshot under 2 s and a
search p99 of at most 1 ms. The refresh is timed end to end through
:func:`bot.maps.refresh.refresh_maps` on a WAL database already holding the previous version:
parse the pulled JSONL, load the current version, diff, hash, store. ×10 is a synthetic map of
ten copies of every occupation under new ids.

Search is timed as the bot runs it: the garbage collector on, each phrase once, over
:data:`SEARCHES` distinct phrases (the 200 in ``bench/job_phrases.txt``, then student-style
variants of them from ``bench/questions.py``: a typo, a dropped word or an added one), with the
typo cache emptied first, so the p99 is over that many different inputs and no cache is
flattered by repeats. Exploring is timed the same way with the sentence encoder included:
"jobs for an interest" (each of :data:`INTERESTS` distinct interests encoded and ranked) and
"similar jobs" for that many occupations (their vectors built once, as the running bot does
on first use, and not timed). The last line is machine-readable.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.db import open_db
from bot.encoder import embedding_cache
from bot.maps.explore import OccupationExplorer
from bot.maps.model import OccupationMap
from bot.maps.parse import load_bundled_map, parse_snapshot_lines, snapshot_lines
from bot.maps.refresh import refresh_maps
from bot.maps.search import OccupationIndex
from bot.maps.store import save_version

sys.path.insert(0, str(ROOT / "bench"))
from measure import percentile
from questions import JOB_FILLERS, distinct

PHRASES = Path(__file__).with_name("job_phrases.txt")
SEARCHES = 2000
INTERESTS = 1000
FIELDS = (
    "animals", "horses", "dogs", "farming", "plants", "the outdoors", "the sea", "boats", "cars",
    "fixing cars", "motorbikes", "planes", "trains", "computers", "coding", "video games",
    "phones", "electronics", "robots", "machines", "building things", "wood", "metal", "houses",
    "money", "numbers", "maths", "science", "chemistry", "medicine", "helping people", "children",
    "old people", "sport", "fitness", "food", "cooking", "baking", "hair", "makeup", "fashion",
    "drawing", "art", "music", "films", "photography", "writing", "the law", "the police",
    "the army", "travel", "languages", "nature", "the environment", "electricity", "water",
)
STYLES = ("{f}", "working with {f}", "something with {f}", "{f} and people",
          "{f} outdoors", "{f} in a team", "creative stuff with {f}", "fixing {f}",
          "designing {f}", "{f} and computers", "{f} and animals", "{f} on my own",
          "{f} in a hospital", "{f} in an office", "{f} and travel", "{f} and money",
          "{f} and science", "{f} by hand")


def scaled(occupation_map: OccupationMap, copies: int) -> OccupationMap:
    """``copies`` copies of every occupation under new ids (OCC0116 → OCC0116-3)."""
    return OccupationMap.of(
        (
            replace(o, id=f"{o.id}-{n}") if n else o
            for n in range(copies)
            for o in occupation_map.values()
        ),
        occupation_map.routes,
        occupation_map.retrieved_at,
    )


def modified(occupation_map: OccupationMap) -> OccupationMap:
    """A realistic quarter: every 60th occupation re-levelled (about 1.7% changed)."""
    return OccupationMap.of(
        (
            replace(o, level=o.level % 7 + 1 if o.level < 7 else 6) if i % 60 == 0 else o
            for i, o in enumerate(occupation_map.values())
        ),
        occupation_map.routes,
        occupation_map.retrieved_at,
    )


async def time_refresh(
    current: OccupationMap, pulled_lines: list[str], workdir: Path, name: str
) -> tuple[float, str]:
    """Seconds for one refresh from JSONL lines against a database holding ``current``."""
    db = open_db(workdir / f"{name}.db")
    save_version(db, current, "bench:previous")

    async def fetch() -> OccupationMap:
        return parse_snapshot_lines(pulled_lines)

    started = time.perf_counter()
    report = await refresh_maps(db, fetch, source="bench", max_changes=10**6)
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed, f"{report.status}, {len(report.changes)} changed"


def time_search(index: OccupationIndex, phrases: list[str]) -> list[float]:
    """Per-phrase search times in seconds, each phrase once, typo cache cold, GC on."""
    index.search("warm up the scorers")
    index.resolve.cache_clear()
    gc.collect()
    assert gc.isenabled()
    timings: list[float] = []
    for phrase in phrases:
        started = time.perf_counter()
        index.search(phrase)
        timings.append(time.perf_counter() - started)
    return timings


async def main() -> None:
    started = time.perf_counter()
    bundled = load_bundled_map()
    loaded_s = time.perf_counter() - started
    print(f"load bundled snapshot: {len(bundled)} occupations in {loaded_s:.3f} s")

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        pulled = list(snapshot_lines(modified(bundled)))
        refresh_s, outcome = await time_refresh(bundled, pulled, workdir, "real")
        print(f"refresh real snapshot: {refresh_s:.3f} s ({outcome})")

        big = scaled(bundled, 10)
        big_pulled = list(snapshot_lines(modified(big)))
        refresh_x10_s, outcome = await time_refresh(big, big_pulled, workdir, "x10")
        print(f"refresh x10 synthetic ({len(big)} occupations): {refresh_x10_s:.3f} s ({outcome})")

    started = time.perf_counter()
    index = OccupationIndex.build(bundled)
    print(f"build search index: {time.perf_counter() - started:.3f} s")
    phrases = [
        line.strip() for line in PHRASES.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    searched = distinct(phrases, SEARCHES, fillers=JOB_FILLERS)[:SEARCHES]
    timings = time_search(index, searched)
    p50, p99 = percentile(timings, 0.50) * 1000, percentile(timings, 0.99) * 1000
    found = sum(
        1 for phrase in phrases if index.search(phrase, 1) and index.search(phrase, 1)[0][1] >= 60
    )
    print(
        f"search {len(searched)} distinct phrases, GC on: p50 {p50:.3f} ms, p99 {p99:.3f} ms, "
        f"max {max(timings) * 1000:.3f} ms, mean {statistics.mean(timings) * 1000:.3f} ms; "
        f"{found}/{len(phrases)} found an occupation scoring >= 60"
    )
    explorer = OccupationExplorer(index, embedding_cache())
    started = time.perf_counter()
    explorer.related(index.occupations[0])
    print(f"encode every occupation for exploring (first use): {time.perf_counter() - started:.3f} s")
    interests = [style.format(f=field) for style in STYLES for field in FIELDS][:INTERESTS]
    gc.collect()
    interest_times = []
    for interest in interests:
        started = time.perf_counter()
        explorer.for_interest(interest)
        interest_times.append(time.perf_counter() - started)
    related_times = []
    for occupation in index.occupations[:INTERESTS]:
        started = time.perf_counter()
        explorer.related(occupation)
        related_times.append(time.perf_counter() - started)
    interest_p99 = percentile(interest_times, 0.99) * 1000
    related_p99 = percentile(related_times, 0.99) * 1000
    print(f"jobs for {len(set(interests))} distinct interests, GC on, encoder included: "
          f"p50 {percentile(interest_times, 0.5) * 1000:.3f} ms, p99 {interest_p99:.3f} ms")
    print(f"similar jobs for {len(related_times)} occupations, GC on: "
          f"p50 {percentile(related_times, 0.5) * 1000:.3f} ms, p99 {related_p99:.3f} ms")
    verdict = "met" if refresh_s < 2 and p99 <= 1 else "MISSED"
    print(f"targets (refresh < 2 s, search p99 <= 1 ms): {verdict}")
    print(
        f"maps: refresh_s={refresh_s:.3f} refresh_x10_s={refresh_x10_s:.3f} search_p99_ms={p99:.3f} "
        f"interest_p99_ms={interest_p99:.3f} related_p99_ms={related_p99:.3f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
