"""Every entry reads easily on a phone: the answer first, plain words, short sentences.

Measured on the text a student sees (``bot.render.shown_text``: the rendered answer without tags
or link addresses), never on the Markdown. A list item or a line without a full stop is read as
a sentence of its own, as it is on screen.
"""

from __future__ import annotations

import re

import pytest
import textstat

from bot.knowledge import Entry
from bot.render import shown_text
from tests.test_entries import ENTRIES

MIN_FLESCH = 60  # plain English
MAX_SENTENCE_WORDS = 30
MAX_CHARS = 1200  # before the sources line
# Entries that are mostly official names, which no rewording can shorten; each with its reason.
HARD_NAMES_ALLOWED = {
    "t-level-subjects": "a list of the official T Level course names, such as 'Engineering, "
                        "Manufacturing, Processing and Control'",
    "qualification-levels": "a list of the official qualification names at each level, such as "
                            "'Higher National Diploma' and 'Certificate of Higher Education'",
}
_QUESTION_WORDS = {
    "what", "which", "who", "when", "where", "why", "how", "does", "do", "did", "can", "could",
    "will", "would", "should", "is", "are", "the", "a", "an", "and", "or", "of", "to", "in", "on",
    "for", "my", "me", "i", "im", "get", "about", "this", "that", "it", "if", "with", "at", "your",
    "you", "mean", "right", "difference", "whats", "way", "ways", "later", "much", "many", "long",
}
_ANSWER_WORDS = {"yes", "no", "often", "usually", "neither", "both"}


def _lines(entry: Entry) -> list[str]:
    return [line.strip() for line in shown_text(entry.body).splitlines() if line.strip()]


def sentences(entry: Entry) -> list[str]:
    """The sentences a student reads, in order; each list item or line ends one."""
    return [s for line in _lines(entry) for s in re.split(r"(?<=[.!?])\s+(?=[^a-z])", line) if s]


def flesch(entry: Entry) -> float:
    text = " ".join(line if line[-1] in ".!?" else f"{line}." for line in _lines(entry))
    return float(textstat.flesch_reading_ease(text))


def _stems(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", text.lower().replace("'", ""))
    return {w[:5] for w in words if w not in _QUESTION_WORDS and len(w) > 1}


def test_the_allow_list_names_only_entries_that_exist() -> None:
    assert set(HARD_NAMES_ALLOWED) <= {e.id for e in ENTRIES}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_answers_its_title_in_the_first_sentence(entry: Entry) -> None:
    first = sentences(entry)[0]
    assert first[-1] in ".!?", f"the first sentence is not a whole sentence: {first!r}"
    opens_with_an_answer = first.split()[0].strip(",.:").lower() in _ANSWER_WORDS
    assert opens_with_an_answer or _stems(entry.title) & _stems(first), (
        f"{first!r} does not speak to {entry.title!r}")


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_is_plain_english(entry: Entry) -> None:
    if entry.id in HARD_NAMES_ALLOWED:
        pytest.skip(HARD_NAMES_ALLOWED[entry.id])
    assert flesch(entry) >= MIN_FLESCH


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_has_no_sentence_over_thirty_words(entry: Entry) -> None:
    long = [s for s in sentences(entry) if len(s.split()) > MAX_SENTENCE_WORDS]
    assert not long


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_is_under_1200_characters_before_its_sources(entry: Entry) -> None:
    assert len(shown_text(entry.body)) < MAX_CHARS
