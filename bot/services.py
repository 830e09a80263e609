"""The long-lived things the bot needs, built once at start and kept in ``bot_data``.

Handlers and jobs reach them through :func:`services_from`; plain functions receive the pieces they
need. Reloading knowledge builds a whole new :class:`~bot.answering.responder.Responder` and swaps it in one
assignment, so a question is always answered by one consistent knowledge base.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from bot.answering.encoder import embedding_cache
from bot.answering.responder import Responder
from bot.config import Settings
from bot.knowledge import KnowledgeBase, knowledge_fingerprint, load_knowledge
from bot.maps.search import OccupationIndex
from bot.storage import open_db

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Settings, database, the current responder and the occupational maps index."""

    settings: Settings
    db: sqlite_utils.Database
    responder: Responder
    fingerprint: tuple[tuple[str, int, int], ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def kb(self) -> KnowledgeBase:
        return self.responder.kb

    def reload_knowledge(self) -> KnowledgeBase:
        """Load ``knowledge/`` again; on a broken edit raise and keep serving the old copy.

        Either way the files' state is remembered, so a broken edit is reported once, not at
        every check, and the next edit is picked up.
        """
        self.fingerprint = knowledge_fingerprint(self.settings.knowledge_dir)
        kb = load_knowledge(self.settings.knowledge_dir)
        self.responder = make_responder(self.settings, kb, self.responder.occupations)
        log.info("knowledge reloaded: %d entries, %d questions", len(kb), kb.question_count)
        return kb

    def knowledge_changed(self) -> bool:
        """Whether any file under ``knowledge/`` changed since the last (re)load."""
        return knowledge_fingerprint(self.settings.knowledge_dir) != self.fingerprint

    def set_occupations(self, occupations: OccupationIndex) -> None:
        """Swap in a new occupational maps index (after a refresh)."""
        self.responder = make_responder(self.settings, self.responder.kb, occupations)


def make_responder(settings: Settings, kb: KnowledgeBase,
                   occupations: OccupationIndex | None = None) -> Responder:
    """A responder with the configured thresholds."""
    calibrated = {
        name: value for name, value in (("threshold", settings.match_threshold),
                                         ("margin", settings.ambiguity_margin)) if value is not None
    }
    return Responder(
        kb,
        **calibrated,
        cache=embedding_cache(settings.cache_dir),
        max_chars=settings.max_question_chars,
        occupations=occupations,
        occupation_threshold=settings.occupation_threshold,
    )


def build_services(settings: Settings, *, with_maps: bool = True) -> Services:
    """Open the database, load knowledge and the current occupational map."""
    db = open_db(settings.database_path)
    fingerprint = knowledge_fingerprint(settings.knowledge_dir)
    kb = load_knowledge(settings.knowledge_dir)
    occupations = None
    if with_maps:
        from bot.maps.cards import current_occupation_index

        occupations = current_occupation_index(db)
    return Services(settings, db, make_responder(settings, kb, occupations), fingerprint)


def services_from(bot_data: dict[str, Any]) -> Services:
    """The services stored by :func:`bot.app.build_application`."""
    return bot_data["services"]
