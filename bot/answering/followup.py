"""Short follow-ups read in the context of the chat's last answer.

A student who has just read what a T Level is and types "do u get paid on them tho" is asking
about T Levels, not about apprentice pay. The chat keeps a :class:`Topic` (the last entry or
occupation id, nothing else) and the responder asks :class:`FollowUps` how to read the next
message: on its own, with the last answer's subject added ("… t levels"), as a request for
that card or its similar jobs, or as "tell me more" about the same answer.

A message that names a subject of its own and does not point back ("how do i become a
plumber", "do t level students get paid") is read on its own, exactly as without context. The
words are data in ``knowledge/followups.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from bot.reply import Reply
from bot.text import normalise

# Longer messages are questions in their own right.
MAX_WORDS = 12
# How long an answer stays the context of the next message.
CONTEXT_SECONDS = 30 * 60


@dataclass(frozen=True)
class Topic:
    """What the chat's last answer was about: an entry or an occupation, by id only."""

    kind: Literal["entry", "occupation"]
    id: str


class Reading(Enum):
    """How to read a message after an answer."""

    ALONE = "alone"          # as if there were no context
    WITH_SUBJECT = "subject"  # with the last answer's subject added
    # Names no subject of its own but does not point back either ("what grades do i need"): the
    # subject is added only if the answer it gives was among the message's own candidates.
    MAYBE_SUBJECT = "maybe-subject"
    MORE = "more"            # the same answer again ("tell me more")
    CARD = "card"            # the same job's card ("how much would i earn")
    RELATED = "related"      # the same job's similar jobs ("any similar jobs?")


def _phrases(pattern_words: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted({normalise(str(w)) for w in pattern_words if str(w).strip()}, key=len, reverse=True)
    if not words:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b")


class FollowUps:
    """Decides how a message relates to the last answer (``knowledge/followups.yaml``)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._pointers = _phrases(data.get("pointers") or ())
        self._replaceable = _phrases(data.get("replaceable") or ())
        self._openers = tuple(normalise(str(w)) for w in data.get("openers") or ())
        self._more = frozenset(normalise(str(w)) for w in data.get("more") or ())
        self._subject_words = _phrases(data.get("subject_words") or ())
        subjects = data.get("subjects") or {}
        self._subjects = {str(k): str(v) for k, v in subjects.items()}
        self.occupation_subject = str(data.get("occupation_subject") or "")
        self._card = _phrases(data.get("occupation_card") or ())
        self._related = _phrases(data.get("occupation_related") or ())

    def subject(self, topic: Topic) -> str:
        """The words that stand for the last answer's subject ("t levels")."""
        if topic.kind == "occupation":
            return self.occupation_subject
        starts = [k for k in self._subjects if topic.id == k or topic.id.startswith(k + "-")]
        if not starts:
            return topic.id.replace("-", " ")
        return self._subjects[max(starts, key=len)]

    def with_subject(self, text: str, topic: Topic) -> list[str]:
        """The follow-up with the last answer's subject in it, in the ways worth trying: added
        at the end, and in place of the first "it" or "them" ("do u get paid on t levels tho")."""
        folded = normalise(text)
        subject = self.subject(topic)
        readings = [f"{folded} {subject}"]
        if self._replaceable is not None and self._replaceable.search(folded):
            readings.append(self._replaceable.sub(subject, folded, count=1))
        return readings

    def _pointing(self, text: str) -> bool | None:
        """True when a message points back explicitly (a pointer, an opener, "tell me more"),
        False when it only names no subject of its own, None when it stands alone."""
        folded = normalise(text)
        words = folded.split()
        if not words or len(words) > MAX_WORDS:
            return None
        if folded in self._more or any(folded == o or folded.startswith(o + " ") for o in self._openers):
            return True
        if self._pointers is not None and self._pointers.search(folded):
            return True
        if self._subject_words is None or not self._subject_words.search(folded):
            return False
        return None

    def reading(self, text: str, topic: Topic | None) -> Reading:
        """How to read ``text`` after an answer about ``topic``."""
        pointing = self._pointing(text) if topic is not None else None
        if topic is None or pointing is None:
            return Reading.ALONE
        folded = normalise(text)
        subject = Reading.WITH_SUBJECT if pointing else Reading.MAYBE_SUBJECT
        if topic.kind == "occupation":
            if self._related is not None and self._related.search(folded):
                return Reading.RELATED
            if self._card is not None and self._card.search(folded):
                return Reading.CARD
            return subject
        if folded in self._more or folded.startswith("tell me more"):
            return Reading.MORE
        return subject


def topic_of(reply: Reply) -> Topic | None:
    """What a reply was about, for the next message; None for replies that answer nothing
    (the chat then keeps its earlier topic) and for lists of jobs."""
    if reply.id is None:
        return None
    if reply.kind == "answer":
        return Topic("entry", reply.id)
    if reply.kind == "occupation" and not reply.listing:
        return Topic("occupation", reply.id)
    return None
