"""The sentence encoder: text in, a 384-number unit vector out, offline on the CPU.

The model is all-MiniLM-L6-v2 (Apache-2.0), exported once to int8 ONNX by
``tools/export_encoder.py`` and shipped in ``models/all-minilm-l6-v2/`` with its licence. At run
time only ``onnxruntime`` and ``tokenizers`` are used; nothing is downloaded. Two sentences that
mean the same thing get vectors whose dot product is close to 1, whatever words they use, which is
what lets "How are T Levels developed?" find an entry that never uses the word "developed".

:class:`EmbeddingCache` keeps the vectors of maintained phrasings (and occupations) on disk, keyed
by the model's hash and each text's hash, so a restart or ``careers-bot ask`` does not re-encode
the knowledge base, and an edited entry re-encodes only its changed lines.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

from bot.config import PROJECT_ROOT

log = logging.getLogger(__name__)

MODEL_DIR = PROJECT_ROOT / "models" / "all-minilm-l6-v2"
DIMENSIONS = 384
MAX_TOKENS = 128
BATCH = 64
KEY_BYTES = 12


class Encoder:
    """One ONNX Runtime session and its tokenizer; :meth:`encode` is thread-safe."""

    def __init__(self, model_path: Path, tokenizer_path: Path, *, max_tokens: int = MAX_TOKENS,
                 threads: int = 1) -> None:
        options = onnxruntime.SessionOptions()
        # One thread answers a short question fastest and leaves the other core to the bot.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"])
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()
        digest = hashlib.sha256(Path(model_path).read_bytes()).hexdigest()
        self.model_id = f"minilm-l6-{digest[:12]}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text (float32)."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts))
        # Similar lengths together waste less padding: a new batch starts when a text is much
        # longer than the batch's shortest (a 128-token message with 8-token clauses).
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        out = np.empty((len(encodings), DIMENSIONS), dtype=np.float32)
        batches: list[list[int]] = []
        for i in order:
            length = len(encodings[i].ids)
            if (not batches or len(batches[-1]) >= BATCH
                    or length > 1.5 * len(encodings[batches[-1][0]].ids) + 8):
                batches.append([])
            batches[-1].append(i)
        for chunk in batches:
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                tokens = encodings[i].ids
                ids[row, :len(tokens)] = tokens
                mask[row, :len(tokens)] = 1
            (vectors,) = self._session.run(None, {
                "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
            out[chunk] = vectors
        return out

    def encode_one(self, text: str) -> np.ndarray:
        """The vector of one text."""
        return self.encode([text])[0]


@cache
def default_encoder() -> Encoder:
    """The shipped model, loaded once per process."""
    return Encoder(MODEL_DIR / "model.onnx", MODEL_DIR / "tokenizer.json")


def text_key(text: str) -> bytes:
    """A short, stable key for a text (its content, not its place in any file)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=KEY_BYTES).digest()


# Vectors encoded in this process, per model: every knowledge-base reload, responder and test
# shares them, whatever file (if any) backs them. Vectors read from a file are not kept here.
_MEMORY: dict[str, dict[bytes, np.ndarray]] = {}


class EmbeddingCache:
    """Vectors of texts already encoded: the file's, read when first needed, and those encoded
    in this process.

    The file is a NumPy ``.npz`` of keys and vectors for the texts this cache has been asked
    for, replaced atomically; a missing or damaged file just means encoding again. Once the
    matrices a responder needs are built from it, :meth:`release` lets the file's rows go.
    """

    def __init__(self, encoder: Encoder, directory: Path | None = None) -> None:
        self.encoder = encoder
        self.path = directory / f"embeddings-{encoder.model_id}.npz" if directory else None
        self._encoded = _MEMORY.setdefault(encoder.model_id, {})
        self._stored: dict[bytes, np.ndarray] | None = None

    def _read(self) -> dict[bytes, np.ndarray]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            with np.load(self.path) as data:
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError) as exc:
            log.warning("embedding cache %s unreadable (%s); encoding again", self.path, exc)
            return {}
        # NumPy's fixed-width bytes drop trailing NULs: put them back (1 key in 256).
        return {bytes(stored).ljust(KEY_BYTES, b"\0"): vector
                for stored, vector in zip(keys, vectors)}

    def _save(self, stored: dict[bytes, np.ndarray]) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = sorted(stored)
            vectors = np.stack([stored[k] for k in keys]) if keys else np.zeros(
                (0, DIMENSIONS), dtype=np.float32)
            with tempfile.NamedTemporaryFile(dir=self.path.parent, suffix=".npz",
                                             delete=False) as handle:
                np.savez(handle, keys=np.array(keys, dtype=f"S{KEY_BYTES}"), vectors=vectors)
            os.replace(handle.name, self.path)
        except OSError as exc:  # a read-only disk only costs speed
            log.warning("could not write embedding cache %s: %s", self.path, exc)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts`` (one row each), encoding only the ones not seen before."""
        if self._stored is None:
            self._stored = self._read()
        stored = self._stored
        keys = [text_key(t) for t in texts]
        missing = {k: t for k, t in zip(keys, texts) if k not in stored and k not in self._encoded}
        if missing:
            self._encoded.update(zip(missing, self.encoder.encode(list(missing.values()))))
        new = {k for k in keys if k not in stored}
        if new:
            stored.update((k, self._encoded[k]) for k in new)
            self._save(stored)
        if not keys:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([stored[k] for k in keys])

    def release(self) -> None:
        """Let go of the file's vectors (about 15 MB for the real knowledge base and map): a
        running bot keeps only the matrices built from them. A later :meth:`embed` reads the
        file again."""
        self._stored = None


def embedding_cache(directory: Path | None = None, encoder: Encoder | None = None) -> EmbeddingCache:
    """A cache over the shared in-memory vectors, backed by a file in ``directory`` if given."""
    return EmbeddingCache(encoder or default_encoder(), directory)
