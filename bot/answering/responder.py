"""From a student's message to the bot's reply, with no Telegram in sight.

:class:`Responder` is the one place that decides what to say: safeguarding first, then the
knowledge base and the occupational maps, then an honest fallback. Handlers, the terminal chat,
``careers-bot ask`` and ``careers-bot eval`` all call it, so they can never disagree.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from urllib.parse import urlparse

from bot.answering.followup import FollowUps, Reading, Topic
from bot.answering.matching import MARGIN, THRESHOLD, Match, Matcher
from bot.answering.query import Query, QueryReader
from bot.answering.routing import prefers_occupation, read_job_signal
from bot.answering.safeguarding import Concern, SafeguardingDetector
from bot.answering.smalltalk import SmallTalkDetector
from bot.encoder import EmbeddingCache, embedding_cache
from bot.knowledge import KnowledgeBase
from bot.maps.cards import choices_reply, listing_reply, occupation_card, related_reply
from bot.maps.explore import OccupationExplorer
from bot.maps.search import OccupationIndex
from bot.render import day_in_words, escape, markdown_to_html
from bot.reply import Button, Reply
from bot.text import Normaliser

CHOICE_MARGIN = 4.0
MAX_CHOICES = 4
SUMMARY_CHARS = 100
# An answer offers this many of its entry's related topics as buttons.
RELATED_BUTTONS = 3


@dataclass(frozen=True)
class Shared:
    """An answer offered for sharing in another chat: its id, title, a one-line summary and
    the HTML text that is sent."""

    id: str
    title: str
    description: str
    text: str


# A follow-up read on its own keeps its own answer when that is this much surer than the
# answer with the last subject added.
ALONE_LEAD = 10.0
# A follow-up that only lacks a subject of its own takes the last answer's subject when the
# answer that gives was among this many of its own candidates.
MAYBE_DEPTH = 3

def _source_label(url: str) -> str:
    host = urlparse(url).netloc.lower()
    return host.removeprefix("www.")


class Responder:
    """Answers questions from one knowledge base (swap the whole object to reload)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        threshold: float = THRESHOLD,
        margin: float = MARGIN,
        max_chars: int = 500,
        occupations: OccupationIndex | None = None,
        occupation_threshold: float = 60.0,
        cache: EmbeddingCache | None = None,
    ) -> None:
        self.kb = kb
        cache = cache or embedding_cache()
        normaliser = Normaliser(kb.matching)
        self.reader = QueryReader(normaliser, cache.encoder)
        self.matcher = Matcher(
            {e.id: (e.title, *e.questions) for e in kb.entries.values()},
            normaliser,
            cache,
            bodies={e.id: e.body for e in kb.entries.values()},
            companions={e.id: self._related_ids(e.id) for e in kb.entries.values()},
            threshold=threshold,
            margin=margin,
        )
        self.safeguarding = SafeguardingDetector(
            kb.safeguarding, kb.safeguarding_exemplars, normaliser, cache,
            ordinary=self.matcher.lexical.vocabulary | normaliser.stopwords,
            careers=(self.matcher.semantic.phrasing_matrix,
                     cache.embed(occupations.job_names() if occupations is not None else [])))
        self.smalltalk = SmallTalkDetector(kb.smalltalk, cache)
        self.max_chars = max_chars
        self.occupations = occupations
        self.explorer = OccupationExplorer(occupations, cache) if occupations is not None else None
        self.occupation_threshold = occupation_threshold
        self.followups = FollowUps(kb.followups)
        self._rendered: dict[str, tuple[str, tuple[tuple[Button, ...], ...]]] = {}

    # --- replies built from entries -------------------------------------------------------

    def _related_ids(self, entry_id: str) -> tuple[str, ...]:
        """The related entries an answer offers as buttons (the matcher answers rather than
        asks "Did you mean…?" between an entry and these)."""
        related = (r for r in self.kb.entries[entry_id].related if r in self.kb.entries)
        return tuple(related)[:RELATED_BUTTONS]

    def entry_reply(self, entry_id: str, *, score: float = 100.0,
                    candidates: tuple[str, ...] = (), rate: bool = True) -> Reply:
        """An entry as an answer: body, sources, review date, related-topic buttons and the
        two rating buttons ("Helpful" / "Not helpful")."""
        text, related = self._rendered_entry(entry_id)
        if rate:
            related += ((Button(self.kb.message("rate_helpful"), f"r+:{entry_id}"),
                         Button(self.kb.message("rate_not_helpful"), f"r-:{entry_id}")),)
        return Reply("answer", text, entry_id, score, candidates or (entry_id,), related)

    def shareable(self, text: str, limit: int = 3) -> list[Shared]:
        """Answers worth offering for ``text`` to share in another chat (inline mode): the
        safeguarding reply if it is a disclosure, else the best entries, without buttons."""
        if not any(ch.isalnum() for ch in text):
            return []
        query = self.reader.read(text[: self.max_chars])
        concern = self._concern(query)
        if concern is not None:
            return [Shared(f"help-{concern.category}", self.kb.message("inline_help_title"),
                           self.kb.message("inline_help_description"), concern.reply)]
        match = self.matcher.match(query)
        if match.kind == "fallback":
            return []
        shared = []
        for candidate in match.candidates[:limit]:
            entry = self.kb.entries[candidate.entry_id]
            text_html, _ = self._rendered_entry(entry.id)
            summary = " ".join(entry.body.replace("*", "").split())
            shared.append(Shared(entry.id, entry.title, summary[:SUMMARY_CHARS], text_html))
        return shared

    def linked(self, payload: str) -> Reply | None:
        """The answer a deep link opens (``<entry-id>`` or ``occ-<OCC id>``); None if unknown."""
        if payload in self.kb.entries:
            return self.entry_reply(payload)
        if payload.startswith("occ-") and self.occupations is not None:
            occupation = self.occupations.get(payload.removeprefix("occ-"))
            if occupation is not None:
                return occupation_card(self.kb, occupation)
        return None

    def nearest_entry(self, text: str) -> tuple[str, float]:
        """The entry whose phrasings are closest in meaning to ``text`` and the cosine (0-1):
        what ``careers-bot kb misses`` suggests for a group of unanswered questions."""
        nearest, _ = self.matcher.semantic.channels(self.reader.read(text).vector)
        best = int(nearest[0].argmax())
        return self.matcher.semantic.entry_ids[best], float(nearest[0][best])

    def _rendered_entry(self, entry_id: str) -> tuple[str, tuple[tuple[Button, ...], ...]]:
        """An entry's HTML and buttons, rendered once per knowledge base (entries are immutable)."""
        cached = self._rendered.get(entry_id)
        if cached is not None:
            return cached
        entry = self.kb.entries[entry_id]
        sources = " · ".join(
            f'<a href="{escape(url)}">{escape(_source_label(url))}</a>' for url in entry.sources
        )
        text = (
            f"{markdown_to_html(entry.body)}\n\n"
            f"<b>{escape(self.kb.message('sources_heading'))}:</b> {sources}\n"
            f"<i>{escape(self.kb.message('last_reviewed', date=day_in_words(entry.reviewed)))}</i>"
        )
        related = tuple((Button(self.kb.entries[r].title, f"ans:{r}"),)
                        for r in self._related_ids(entry_id))
        self._rendered[entry_id] = (text, related)
        return text, related

    def examples(self, seed: str, count: int = 2) -> list[str]:
        """Example questions, varied by message so repeated fallbacks do not read the same."""
        pool = list(self.kb.messages.get("example_questions") or ["what is a t level?"])
        start = zlib.crc32(seed.encode()) % len(pool)
        return [pool[(start + i) % len(pool)] for i in range(min(count, len(pool)))]

    def fallback(self, text: str, match: Match | None = None) -> Reply:
        """The honest "I don't know", two example questions and where a person can help."""
        first, second = (self.examples(text) + ["", ""])[:2]
        body = self.kb.message("fallback", example1=escape(first), example2=escape(second))
        score = match.score if match else 0.0
        candidates = tuple(c.entry_id for c in match.candidates) if match else ()
        return Reply("fallback", body, None, score, candidates)

    def clarify(self, match: Match) -> Reply:
        """ "Did you mean…?" with up to three entries plus "None of these"."""
        rows = tuple(
            (Button(self.kb.entries[c.entry_id].title, f"ans:{c.entry_id}"),)
            for c in match.candidates[:3]
        )
        rows += ((Button(self.kb.message("none_of_these"), "none"),),)
        ids = tuple(c.entry_id for c in match.candidates)
        return Reply("clarify", escape(self.kb.message("did_you_mean")), None, match.score, ids, rows)

    def welcome(self, role: str | None = None) -> Reply:
        """The /start message with its menu of buttons, worded for the chat's role (/role) when
        ``messages.yaml`` has a welcome for it (``welcome_parent``, ``welcome_adviser``)."""
        example = self.examples("welcome", 1)[0]
        key = f"welcome_{role}" if role and f"welcome_{role}" in self.kb.messages else "welcome"
        text = self.kb.message(key, example=escape(example))
        menu = self.kb.messages.get("menu") or []
        rows = tuple(
            (Button(item["label"], "ask" if item.get("action") == "ask" else f"ans:{item['entry']}"),)
            for item in menu
            if item.get("action") == "ask" or item.get("entry") in self.kb.entries
        )
        return Reply("answer", text, None, 100.0, (), rows)

    def forget_recent(self) -> None:
        """Drop what recent messages left in the caches (typo corrections, message vectors), so
        a benchmark that asks the same questions again times the work again."""
        self.matcher.lexical.forget_corrections()
        self.reader.forget_recent()

    # --- the decision ---------------------------------------------------------------------

    def reply(self, text: str, topic: Topic | None = None) -> Reply:
        """The reply to ``text``, read as a follow-up of the last answer's ``topic`` when it
        points back to it (:mod:`bot.answering.followup`); safeguarding always comes first."""
        reading = self.followups.reading(text, topic)
        if topic is not None and reading in (Reading.MORE, Reading.CARD, Reading.RELATED):
            # "tell me more": the last answer again, unless the message is a disclosure; only
            # then is the message read on its own.
            concern = self._safeguarding_reply(self.reader.read(text[: self.max_chars]))
            return concern or self._again(topic, reading) or self._reply(text)
        alone = self._reply(text)
        if topic is None or reading is Reading.ALONE or alone.kind == "safeguarding":
            return alone
        if alone.kind == "smalltalk" or (alone.kind == "occupation" and topic.kind == "entry"):
            return alone
        # Safeguarding has read the student's own words (``alone``); the subject added to them
        # is the bot's, so the readings with it are not checked again.
        together = [self._reply(t, safeguard=False)
                    for t in self.followups.with_subject(text[: self.max_chars], topic)]
        read_together = max(together, key=lambda r: (r.kind in ("answer", "occupation"), r.score))
        if read_together.kind not in ("answer", "occupation"):
            return alone
        if reading is Reading.MAYBE_SUBJECT and read_together.id not in alone.candidates[:MAYBE_DEPTH]:
            # "where can i learn to fly planes" after Child Benefit is not about it.
            return alone
        if alone.kind == "answer" and alone.score > read_together.score + ALONE_LEAD:
            return alone
        return read_together

    def _again(self, topic: Topic, reading: Reading) -> Reply | None:
        """The last answer again, the job's card, or its similar jobs; None if it is gone."""
        if topic.kind == "entry":
            return self.entry_reply(topic.id) if topic.id in self.kb.entries else None
        occupation = self.occupations.get(topic.id) if self.occupations is not None else None
        if occupation is None or self.explorer is None:
            return None
        if reading is Reading.RELATED:
            return related_reply(self.kb, occupation, self.explorer.related(occupation))
        return occupation_card(self.kb, occupation)

    def _safeguarding_reply(self, query: Query) -> Reply | None:
        """The help for a disclosure in the message, if there is one."""
        concern = self._concern(query)
        return Reply("safeguarding", concern.reply, concern.category) if concern else None

    def _concern(self, query: Query) -> Concern | None:
        """The safeguarding concern in a message. A listed small-talk message word for word
        ("bye") is not a disclosure by meaning alone ("my mate said bye to everyone" is an
        exemplar); a listed phrase always counts."""
        concern = self.safeguarding.check(query)
        if concern is None or concern.found_by == "phrase" or self.smalltalk.exact(query) is None:
            return concern
        return None

    def _reply(self, text: str, *, safeguard: bool = True) -> Reply:
        """Everything a student can type gets exactly one of the reply kinds.

        In order: safeguarding (before anything else, always, unless ``safeguard`` is False
        for a text the bot made from a message already checked); small talk typed as such
        ("thanks", "lol"); a job on the occupational maps or an entry of the knowledge base (one
        decision, :mod:`bot.answering.routing`); small talk recognised by meaning; "I don't know".
        """
        text = text[: self.max_chars]
        if not any(ch.isalnum() for ch in text):
            chat = self.smalltalk.detect(self.reader.read(text), topical=True) if text.strip() else None
            if chat is not None:
                return Reply("smalltalk", chat.reply, chat.kind)
            example = escape(self.examples(text, 1)[0])
            return Reply("fallback", self.kb.message("empty_text", example=example))
        query = self.reader.read(text)
        # Before anything else: a disclosure mixed with a careers question gets help first.
        concern = self._safeguarding_reply(query) if safeguard else None
        if concern is not None:
            return concern
        chat = self.smalltalk.detect(query, topical=True)
        if chat is not None:
            return Reply("smalltalk", chat.reply, chat.kind)
        match = self.matcher.match(query)
        occupation = self._occupation_reply(query, match)
        if occupation is not None:
            return occupation
        if match.kind == "answer" and match.best is not None:
            ids = tuple(c.entry_id for c in match.candidates)
            return self.entry_reply(match.best.entry_id, score=match.score, candidates=ids)
        if match.kind == "clarify":
            return self.clarify(match)
        chat = self.smalltalk.detect(query)
        if chat is not None:
            return Reply("smalltalk", chat.reply, chat.kind)
        return self.fallback(text, match)

    def _occupation_reply(self, query: Query, match: Match) -> Reply | None:
        """A card (or a short list) when the message is about a job (:mod:`bot.answering.routing`);
        None leaves it to the knowledge base."""
        index = self.occupations
        if index is None:
            return None
        uses = self.matcher.lexical.uses
        signal = read_job_signal(index, query.text, MAX_CHOICES + 1, uses)
        kb_words = all(uses(w) for w in index.job_words(query.text))
        if not prefers_occupation(match, signal, self.occupation_threshold, kb_words):
            return None
        best, score = signal.results[0]
        if signal.interest is not None and self.explorer is not None:
            listing = self.explorer.for_interest(signal.interest)
            if listing:
                return listing_reply(self.kb, listing, score=score)
        close = [(o, s) for o, s in signal.results[1:] if score - s < CHOICE_MARGIN]
        ids = tuple(o.id for o, _ in signal.results)
        if close:
            return choices_reply(self.kb, [(best, score), *close], candidates=ids)
        return occupation_card(self.kb, best, score=score, candidates=ids)
