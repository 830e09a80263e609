"""Spotting messages that suggest a risk of harm, before any careers matching.

The phrases are data (``knowledge/safeguarding.yaml``) so a safeguarding lead can review them. A
phrase matches when its words appear consecutively in the message after the usual spelling
clean-up and stemming; words of :data:`FUZZY_MIN_LENGTH`+ letters also tolerate a small typo
("suicdal"). Short words must match exactly, so "i want to die" never fires on "i want to do".
"""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import fuzz

from bot.text import Normaliser

FUZZY_MIN_LENGTH = 5
FUZZY_CUTOFF = 85.0


class SafeguardingDetector:
    """Holds the phrase list as stemmed word sequences."""

    def __init__(self, phrases: Iterable[str], normaliser: Normaliser) -> None:
        self._normaliser = normaliser
        self._phrases = [words for p in phrases if (words := tuple(normaliser.words(p)))]

    @staticmethod
    def _same(expected: str, seen: str) -> bool:
        if expected == seen:
            return True
        if len(expected) >= FUZZY_MIN_LENGTH and len(seen) >= FUZZY_MIN_LENGTH - 1:
            return fuzz.ratio(expected, seen) >= FUZZY_CUTOFF
        return False

    def _contains(self, words: list[str], phrase: tuple[str, ...]) -> bool:
        size = len(phrase)
        for start in range(len(words) - size + 1):
            if all(self._same(phrase[i], words[start + i]) for i in range(size)):
                return True
        return False

    def is_concerning(self, text: str) -> bool:
        """True when the message contains any safeguarding phrase."""
        words = self._normaliser.words(text)
        # Joined words catch "selfharm" typed as "self harm" and vice versa.
        joined = ["".join(words[i : i + 2]) for i in range(len(words) - 1)]
        return any(
            self._contains(words, phrase) or (len(phrase) == 1 and self._contains(joined, phrase))
            for phrase in self._phrases
        )
