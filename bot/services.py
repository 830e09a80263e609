"""The long-lived things the bot needs, built once at start: settings, database, responder.

Reloading knowledge builds a whole new :class:`~bot.answering.responder.Responder` and swaps it
in one assignment, so a question is always answered by one consistent knowledge base. The
occupation search index is rebuilt only when its phrase rules changed (or a new map version was
stored): it is the slow part.
"""

from __future__ import annotations

import ctypes
import gc
import logging
from dataclasses import dataclass, field

import sqlite_utils

from bot.answering.responder import Responder
from bot.config import Settings
from bot.db import open_db
from bot.encoder import embedding_cache
from bot.knowledge import KnowledgeBase, knowledge_fingerprint, load_knowledge
from bot.maps.search import OccupationIndex, PhraseRules, current_occupation_index
from bot.maps.store import latest_version, load_version
from bot.usage import UsageBatch

log = logging.getLogger(__name__)


def settle_memory() -> None:
    """After building the long-lived indexes (at start, on a reload, for a new map): collect,
    freeze what is left, and hand freed heap pages back to the system.

    Frozen, the knowledge base, the maps index and the vectors are out of the collector's
    sight, so a full collection no longer walks them between two answers (it took tens of
    milliseconds, the p99 of a busy minute). Unfreezing first lets a replaced responder's
    reference cycles be collected. Building reads the vector cache file and makes scratch
    copies; glibc keeps freed pages for reuse (``malloc_trim`` returns them; elsewhere this
    step is skipped), about 30 MB of resident memory the running bot never touches again.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)


@dataclass
class Services:
    """Settings, database, the current responder (which holds the occupational maps index),
    and the per-message bookkeeping waiting to be written (:class:`bot.usage.UsageBatch`)."""

    settings: Settings
    db: sqlite_utils.Database
    responder: Responder
    fingerprint: tuple[tuple[str, int, int], ...] = ()
    maps_version: int | None = None
    usage: UsageBatch = field(init=False)

    def __post_init__(self) -> None:
        self.usage = UsageBatch(self.db)

    @property
    def kb(self) -> KnowledgeBase:
        return self.responder.kb

    @property
    def phrase_rules(self) -> PhraseRules:
        """How job questions are read, from ``knowledge/occupation_phrases.yaml``."""
        return PhraseRules.from_data(self.kb.occupation_phrases)

    def reload_knowledge(self) -> KnowledgeBase:
        """Load ``knowledge/`` again; on a broken edit raise and keep serving the old copy.

        Either way the files' state is remembered, so a broken edit is reported once, not at
        every check, and the next edit is picked up.
        """
        self.fingerprint = knowledge_fingerprint(self.settings.knowledge_dir)
        kb = load_knowledge(self.settings.knowledge_dir)
        occupations = self.responder.occupations
        if occupations is not None and kb.occupation_phrases != self.kb.occupation_phrases:
            occupations = OccupationIndex.build(occupations.map, PhraseRules.from_data(kb.occupation_phrases))
        self.responder = make_responder(self.settings, kb, occupations)
        settle_memory()
        log.info("knowledge reloaded: %d entries, %d questions", len(kb), kb.question_count)
        return kb

    def knowledge_changed(self) -> bool:
        """Whether any file under ``knowledge/`` changed since the last (re)load."""
        return knowledge_fingerprint(self.settings.knowledge_dir) != self.fingerprint

    def set_occupations(self, occupations: OccupationIndex, version: int | None = None) -> None:
        """Swap in a new occupational maps index (after a refresh)."""
        self.responder = make_responder(self.settings, self.responder.kb, occupations)
        self.maps_version = version
        settle_memory()

    def newer_maps_version(self) -> int | None:
        """A stored map version newer than the one being searched (e.g. stored by
        ``careers-bot refresh`` in another process), or None."""
        latest = latest_version(self.db)
        if latest is None or self.responder.occupations is None or latest.version == self.maps_version:
            return None
        return latest.version

    def load_maps_version(self, version: int) -> OccupationIndex:
        """Build the search index of a stored version (slow: run it off the event loop)."""
        return OccupationIndex.build(load_version(self.db, version), self.phrase_rules)


def make_responder(settings: Settings, kb: KnowledgeBase,
                   occupations: OccupationIndex | None = None) -> Responder:
    """A responder with the configured thresholds (unset: the calibrated ones), holding only
    the vectors it answers from."""
    calibrated = {
        name: value for name, value in (("threshold", settings.match_threshold),
                                         ("margin", settings.ambiguity_margin)) if value is not None
    }
    cache = embedding_cache(settings.cache_dir)
    responder = Responder(
        kb,
        **calibrated,
        cache=cache,
        max_chars=settings.max_question_chars,
        occupations=occupations,
        occupation_threshold=settings.occupation_threshold,
    )
    # Every matrix the responder answers from is built now, so the cache file's rows can go.
    if responder.explorer is not None:
        responder.explorer.warm()
    cache.release()
    return responder


def build_services(settings: Settings, *, with_maps: bool = True) -> Services:
    """Open the database, load knowledge and the current occupational map."""
    db = open_db(settings.database_path)
    fingerprint = knowledge_fingerprint(settings.knowledge_dir)
    kb = load_knowledge(settings.knowledge_dir)
    occupations = None
    if with_maps:
        occupations = current_occupation_index(db, PhraseRules.from_data(kb.occupation_phrases))
    latest = latest_version(db)
    return Services(settings, db, make_responder(settings, kb, occupations), fingerprint,
                    latest.version if latest and occupations else None)
