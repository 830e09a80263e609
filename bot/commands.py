"""Commands a student may mistype ("/ocupation", "/hepl"): the closest real one."""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process

# How alike a typed command must be to a real one to be suggested (rapidfuzz ratio).
CLOSE = 60.0


def closest_command(typed: str, commands: Sequence[str]) -> str | None:
    """The real command closest to ``typed`` ("/ocupation" → "occupation"), if any is close."""
    word = typed.lstrip("/").split("@")[0].casefold()
    if not word or not commands:
        return None
    found = process.extractOne(word, list(commands), scorer=fuzz.ratio, score_cutoff=CLOSE)
    return str(found[0]) if found else None
