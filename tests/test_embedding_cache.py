"""The sentence-vector cache: vectors computed once, kept in a file, read back by the next start."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.encoder import _MEMORY, EmbeddingCache, text_key
from tests.conftest import CountingEncoder


def _next_start(model_id: str) -> None:
    """What a new process starts with: nothing in memory."""
    _MEMORY.pop(model_id, None)


def test_a_new_start_reads_every_vector_back_from_the_file(tmp_path: Path) -> None:
    # "question 233" has a key ending in a NUL byte, which NumPy's fixed-width bytes drop.
    texts = ["what is a t level", "question 233", "how much do apprentices get paid"]
    assert text_key("question 233")[-1] == 0
    first = CountingEncoder("test-cache-roundtrip")
    vectors = EmbeddingCache(first, tmp_path).embed(texts)  # type: ignore[arg-type]
    _next_start(first.model_id)
    again = CountingEncoder(first.model_id)
    assert np.array_equal(EmbeddingCache(again, tmp_path).embed(texts), vectors)  # type: ignore[arg-type]
    assert again.encoded == []
    _next_start(first.model_id)


def test_a_released_cache_reads_its_file_again_rather_than_encoding(tmp_path: Path) -> None:
    texts = ["what is an apprenticeship", "how long is a t level"]
    encoder = CountingEncoder("test-cache-release")
    cache = EmbeddingCache(encoder, tmp_path)  # type: ignore[arg-type]
    vectors = cache.embed(texts)
    _next_start(encoder.model_id)
    cache.release()
    assert np.array_equal(cache.embed(texts), vectors)
    assert encoder.encoded == texts
    _next_start(encoder.model_id)


def test_vectors_read_from_the_file_are_not_kept_for_the_whole_process(tmp_path: Path) -> None:
    texts = ["what is a degree apprenticeship"]
    EmbeddingCache(CountingEncoder("test-cache-process"), tmp_path).embed(texts)  # type: ignore[arg-type]
    _next_start("test-cache-process")
    reader = EmbeddingCache(CountingEncoder("test-cache-process"), tmp_path)  # type: ignore[arg-type]
    reader.embed(texts)
    assert _MEMORY.get("test-cache-process", {}) == {}
    _next_start("test-cache-process")
