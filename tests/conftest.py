"""Shared fixtures: a small knowledge base on disk, settings, and the local Bot API server."""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from telegram.ext import Application

from app.application import build_application, start_local, stop_local
from app.local_api import LocalBotApi
from bot.answering.responder import Responder
from bot.config import DEFAULT_KNOWLEDGE_DIR, Settings
from bot.encoder import DIMENSIONS
from bot.knowledge import load_knowledge
from bot.maps.model import OccupationMap
from bot.maps.parse import load_bundled_map
from bot.maps.search import bundled_occupation_index
from bot.services import build_services

# As `careers-bot` does: PTB 22 then gives RetryAfter as a timedelta instead of warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")

REAL_KB = DEFAULT_KNOWLEDGE_DIR
DATA = Path(__file__).parent / "data"
TOKEN = "123456:TEST-TOKEN-NOT-REAL"


class CountingEncoder:
    """A stand-in encoder: a fixed vector per text, and a count of the texts it was asked for."""

    def __init__(self, model_id: str = "test-counting") -> None:
        self.model_id = model_id
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded.extend(texts)
        return np.stack([np.full(DIMENSIONS, len(t), dtype=np.float32) for t in texts])

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


ENTRY = """\
---
id: {id}
title: {title}
questions:
{questions}
tags: [{tag}]
{related}sources:
  - https://www.gov.uk/{id}
reviewed: 2026-11-24
---
{body}
"""


def write_entry(root: Path, entry_id: str, title: str, questions: list[str], *,
                body: str = "An answer with **bold** & <angle> text.", tag: str = "careers",
                related: list[str] | None = None) -> Path:
    """Write one entry file the way maintainers do."""
    path = root / "entries" / f"{entry_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    rel = f"related: [{', '.join(related)}]\n" if related else ""
    path.write_text(ENTRY.format(
        id=entry_id, title=title, tag=tag, related=rel, body=textwrap.dedent(body),
        questions="\n".join(f"  - {q}" for q in questions),
    ), encoding="utf-8")
    return path


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    """A small, valid knowledge base: the real data files and four entries."""
    root = tmp_path / "knowledge"
    root.mkdir()
    for name in ("messages.yaml", "matching.yaml", "safeguarding.yaml", "safeguarding_exemplars.yaml",
                 "smalltalk.yaml", "occupation_phrases.yaml", "degree_routes.yaml", "job_profiles.yaml",
                 "followups.yaml"):
        shutil.copy(REAL_KB / name, root / name)
    write_entry(root, "t-level-basics", "What is a T Level?",
                ["what is a t level", "t levels explained", "how long is a t level"],
                tag="t-levels", related=["apprenticeship-pay"])
    write_entry(root, "apprenticeship-pay", "How much are apprentices paid?",
                ["apprentice pay", "how much do apprentices earn", "apprenticeship wage per hour"],
                tag="apprenticeships", related=["t-level-basics"])
    write_entry(root, "apprenticeship-duration", "How long does an apprenticeship last?",
                ["how long is an apprenticeship", "apprenticeship length in months"],
                tag="apprenticeships")
    write_entry(root, "bot-help", "What can this bot do?",
                ["what can you do", "help", "hi", "hello"], tag="service")
    return root


def make_settings(tmp_path: Path, knowledge_dir: Path, **overrides: object) -> Settings:
    """Settings for a test: a fresh database, one admin (999), no .env, no background reload."""
    values: dict[str, object] = {
        "database_path": tmp_path / "bot.db",
        "knowledge_dir": knowledge_dir,
        "admin_ids": frozenset({999}),
        "reload_interval_s": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path, kb_dir: Path) -> Settings:
    """Settings pointing at a fresh database and the small knowledge base."""
    return make_settings(tmp_path, kb_dir)


@pytest.fixture
async def local_api() -> AsyncIterator[LocalBotApi]:
    """The local Telegram Bot API on 127.0.0.1 with an ephemeral port."""
    async with LocalBotApi() as api:
        yield api


@pytest.fixture
def copy_kb(tmp_path: Path) -> Callable[[], Path]:
    """A writable copy of the real knowledge base (for reload tests)."""

    def make() -> Path:
        target = tmp_path / "real-knowledge"
        shutil.copytree(REAL_KB, target, ignore=shutil.ignore_patterns("maps"))
        return target

    return make


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """`careers-bot` commands install their own log handler; put the test runner's back."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def real_settings(tmp_path: Path) -> Settings:
    """Settings with the real knowledge base."""
    return make_settings(tmp_path, REAL_KB)


@pytest.fixture
async def bot(real_settings: Settings, local_api: LocalBotApi) -> AsyncIterator[Application]:
    """The bot polling the local Bot API, as in production but on loopback."""
    services = build_services(real_settings)
    application = build_application(real_settings, services, token=TOKEN, base_url=local_api.base_url)
    async with application:
        await start_local(application, poll_timeout=1)
        yield application
        await stop_local(application)


@cache
def real_responder() -> Responder:
    """The real knowledge base and the bundled map, built once per test run (read-only)."""
    return Responder(load_knowledge(REAL_KB), occupations=bundled_occupation_index())


@pytest.fixture
def responder() -> Responder:
    """The shared real responder."""
    return real_responder()


@cache
def bundled_map() -> OccupationMap:
    """The bundled occupational maps snapshot, parsed once per test run."""
    return load_bundled_map()


@pytest.fixture
def bundled() -> OccupationMap:
    """The bundled snapshot (shared, immutable)."""
    return bundled_map()
