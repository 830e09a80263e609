"""From a student's message to the bot's reply, with no Telegram in sight.

:class:`Responder` is the one place that decides what to say: safeguarding first, then the
knowledge base and the occupational maps, then an honest fallback. Handlers, the terminal chat,
``careers-bot ask`` and ``careers-bot eval`` all call it, so they can never disagree.
"""

from __future__ import annotations

import zlib
from urllib.parse import urlparse

from bot.answering.matching import MARGIN, THRESHOLD, Match, Matcher
from bot.answering.query import Query, QueryReader
from bot.answering.routing import prefers_occupation, read_job_signal
from bot.answering.safeguarding import SafeguardingDetector
from bot.answering.smalltalk import SmallTalkDetector
from bot.encoder import EmbeddingCache, embedding_cache
from bot.knowledge import Entry, KnowledgeBase
from bot.maps.cards import choices_reply, listing_reply, occupation_card
from bot.maps.explore import OccupationExplorer
from bot.maps.search import OccupationIndex
from bot.render import escape, markdown_to_html
from bot.reply import Button, Reply
from bot.text import Normaliser

CHOICE_MARGIN = 4.0
MAX_CHOICES = 4

def _source_label(url: str) -> str:
    host = urlparse(url).netloc.lower()
    return host.removeprefix("www.")


def _long_date(entry: Entry) -> str:
    return f"{entry.reviewed.day} {entry.reviewed:%B %Y}"


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
            threshold=threshold,
            margin=margin,
        )
        self.safeguarding = SafeguardingDetector(
            kb.safeguarding, kb.safeguarding_exemplars, normaliser, cache,
            ordinary=self.matcher.lexical.vocabulary | normaliser.stopwords,
            careers_texts=[t for e in kb.entries.values() for t in (e.title, *e.questions)]
            + (occupations.job_names() if occupations is not None else []))
        self.smalltalk = SmallTalkDetector(kb.smalltalk, cache)
        self.max_chars = max_chars
        self.occupations = occupations
        self.explorer = OccupationExplorer(occupations, cache) if occupations is not None else None
        self.occupation_threshold = occupation_threshold
        self._rendered: dict[str, tuple[str, tuple[tuple[Button, ...], ...]]] = {}

    # --- replies built from entries -------------------------------------------------------

    def entry_reply(self, entry_id: str, *, score: float = 100.0,
                    candidates: tuple[str, ...] = ()) -> Reply:
        """An entry as an answer: body, sources, review date and related-topic buttons."""
        text, related = self._rendered_entry(entry_id)
        return Reply("answer", text, entry_id, score, candidates or (entry_id,), related)

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
            f"<i>{escape(self.kb.message('last_reviewed', date=_long_date(entry)))}</i>"
        )
        related = tuple(
            (Button(self.kb.entries[r].title, f"ans:{r}"),)
            for r in entry.related[:3]
            if r in self.kb.entries
        )
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

    def welcome(self) -> Reply:
        """The /start message with its menu of buttons."""
        example = self.examples("welcome", 1)[0]
        text = self.kb.message("welcome", example=escape(example))
        menu = self.kb.messages.get("menu") or []
        rows = tuple(
            (Button(item["label"], f"ans:{item['entry']}"),)
            for item in menu
            if item.get("entry") in self.kb.entries
        )
        return Reply("answer", text, None, 100.0, (), rows)

    # --- the decision ---------------------------------------------------------------------

    def reply(self, text: str) -> Reply:
        """Everything a student can type gets exactly one of the reply kinds.

        In order: safeguarding (before anything else, always); small talk typed as such
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
        concern = self.safeguarding.check(query)
        if concern is not None:
            return Reply("safeguarding", concern.reply, concern.category)
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
