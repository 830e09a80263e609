"""Choose the matcher's weights and cut-offs by cross-validation over every labelled set.

Run after changing many phrasings or the matcher: ``.venv/bin/python tools/tune_matching.py``.
It scores every question of ``tests/data/{dev,paraphrases,real-dev,real-pages}.jsonl`` once,
then replays the decision in :mod:`bot.answering.matching` for a grid of parameters. Five-fold
cross-validation (folds cut across all sets) picks the parameters on four folds and measures them
on the fifth, so the printed held-out numbers are honest estimates; the last line is the choice
made on all folds together, to copy into ``bot/matching.py``.

The objective is the mean over sets of (right answers + right abstentions
- :data:`WRONG_COST` × confident wrong answers) / questions, so each set counts the same however
many questions it has, and a wrong answer costs more than a "Did you mean…?"; a set where
confident wrong answers are not rarer than clarifications is penalised further.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.answering import matching, semantic  # noqa: E402
from bot.answering.evaluation import Case, read_cases  # noqa: E402
from bot.answering.matching import Candidate  # noqa: E402
from bot.answering.query import LONG_MESSAGE_WORDS  # noqa: E402
from bot.answering.responder import Responder  # noqa: E402
from bot.knowledge import load_knowledge  # noqa: E402
from bot.maps.search import bundled_occupation_index  # noqa: E402
from bot.reply import Reply  # noqa: E402

SETS = ("dev", "paraphrases", "real-dev", "real-pages")
WRONG_COST = 1.5
# Each entry's related-topic buttons: the matcher answers rather than asks between these.
COMPANIONS: dict[str, frozenset[str]] = {}
FOLDS = 5
GRID = {
    "readout_weight": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
    "lexical_weight": (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6),
    "threshold": tuple(np.arange(36.0, 90.0, 1.0)),
    "margin": (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0),
    "clarify_floor": tuple(np.arange(30.0, 90.0, 1.0)),
    "agreement_bonus": (0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0),
    "long_message_bonus": (0.0, 4.0, 8.0, 10.0, 12.0, 15.0, 18.0, 21.0, 25.0, 30.0),
}


@dataclass
class Row:
    """One question with everything the decision needs, computed once."""

    name: str
    case: Case
    early: Reply | None            # decided before the knowledge base (safety, small talk, job)
    exact: str | None
    lexical: np.ndarray
    channels: tuple[np.ndarray, np.ndarray]  # nearest, read-out
    late_smalltalk: bool


def collect(responder: Responder) -> list[Row]:
    rows = []
    matcher = responder.matcher
    for name in SETS:
        for case in read_cases(ROOT / "tests" / "data" / f"{name}.jsonl"):
            reply = responder.reply(case.question)
            text = case.question[: responder.max_chars]
            early = reply if reply.kind in ("safeguarding", "occupation") or (
                reply.kind == "smalltalk" and responder.smalltalk.detect(
                    responder.reader.read(text), topical=True) is not None) else None
            if not any(ch.isalnum() for ch in text):
                early = reply
            query = responder.reader.read(text)
            rows.append(Row(
                name, case, early, matcher.lexical.exact(query.words),
                matcher.lexical.scores(query.words),
                matcher.semantic.channels(query.vector),
                responder.smalltalk.detect(query) is not None,
            ))
    return rows


def decide(row: Row, ids: Sequence[str], p: dict[str, float]) -> tuple[str, str | None, tuple[str, ...]]:
    """The reply kind, answered id and offered ids for one row under parameters ``p``."""
    if row.early is not None:
        return row.early.kind, row.early.id, row.early.candidates
    if row.exact is not None:
        return "answer", row.exact, (row.exact,)
    nearest, readout = row.channels
    meaning = (nearest + p["readout_weight"] * readout) / (1 + p["readout_weight"])
    lexical = row.lexical
    best = p["lexical_weight"] * lexical + (1 - p["lexical_weight"]) * 100 * meaning[0]
    top = int(np.argmax(best))
    agree = int(np.argmax(lexical)) == top == int(np.argmax(meaning[0])) and lexical[top] > 0
    order = np.argsort(-best, kind="stable")[:3]
    ranked = [Candidate(ids[i], round(float(best[i]), 1)) for i in order]
    long = len(row.case.question.split()) >= LONG_MESSAGE_WORDS
    match = matching.decide(
        ranked, threshold=p["threshold"], margin=p["margin"], clarify_floor=p["clarify_floor"],
        bonus=(p["agreement_bonus"] if agree else 0.0) + (p["long_message_bonus"] if long else 0.0),
        companions=COMPANIONS)
    if match.kind == "fallback" and row.late_smalltalk:
        return "smalltalk", None, ()
    cands = tuple(c.entry_id for c in match.candidates)
    if match.kind == "answer":
        return "answer", cands[0], cands
    return match.kind, None, cands


def score(rows: Sequence[Row], ids: Sequence[str], p: dict[str, float]) -> tuple[float, dict]:
    per_set: dict[str, list[float]] = {}
    stats: dict[str, dict[str, int]] = {}
    for row in rows:
        kind, rid, cands = decide(row, ids, p)
        reply = Reply(kind, "", rid, 0.0, cands)  # type: ignore[arg-type]
        ok = row.case.passed_by(reply)
        wrong = kind in ("answer", "occupation") and rid is not None and not ok
        per_set.setdefault(row.name, []).append(float(ok) - WRONG_COST * wrong)
        s = stats.setdefault(row.name, {"n": 0, "ok": 0, "wrong": 0, "clarify": 0})
        s["n"] += 1
        s["ok"] += ok
        s["wrong"] += wrong
        s["clarify"] += kind == "clarify"
    objective = float(np.mean([np.mean(v) for v in per_set.values()]))
    # "Did you mean…?" must stay the answer when unsure: wrong answers rarer than clarifications.
    for s in stats.values():
        if s["wrong"] >= s["clarify"] and s["wrong"]:
            objective -= (s["wrong"] - s["clarify"] + 1) / s["n"]
    return objective, stats


def best_params(rows: Sequence[Row], ids: Sequence[str]) -> dict[str, float]:
    best: tuple[float, dict[str, float]] | None = None
    keys = list(GRID)
    # Coordinate search from the current constants: a full grid is too large to replay.
    current = {"readout_weight": semantic.READOUT_WEIGHT,
               "lexical_weight": matching.LEXICAL_WEIGHT,
               "threshold": matching.THRESHOLD, "margin": matching.MARGIN,
               "clarify_floor": matching.CLARIFY_FLOOR,
               "agreement_bonus": matching.AGREEMENT_BONUS,
               "long_message_bonus": matching.LONG_MESSAGE_BONUS}
    for _ in range(4):
        for key in keys:
            for value in GRID[key]:
                trial = {**current, key: float(value)}
                objective, _ = score(rows, ids, trial)
                if best is None or objective > best[0] + 1e-9:
                    best = (objective, trial)
            assert best is not None
            current = best[1]
    assert best is not None
    return best[1]


def main() -> None:
    responder = Responder(load_knowledge(ROOT / "knowledge"), occupations=bundled_occupation_index())
    ids = responder.matcher.entry_ids
    COMPANIONS.update(responder.matcher.companions)
    rows = collect(responder)
    rng = random.Random(7)
    order = list(range(len(rows)))
    rng.shuffle(order)
    folds = [order[i::FOLDS] for i in range(FOLDS)]
    held: list[Row] = []
    decisions: list[tuple[Row, dict[str, float]]] = []
    for k, fold in enumerate(folds):
        held_out = set(fold)
        train = [row for i, row in enumerate(rows) if i not in held_out]
        params = best_params(train, ids)
        print(f"fold {k}: {params}")
        for i in fold:
            decisions.append((rows[i], params))
            held.append(rows[i])
    totals: dict[str, dict[str, int]] = {}
    for row, params in decisions:
        _, stats = score([row], ids, params)
        for name, s in stats.items():
            t = totals.setdefault(name, {"n": 0, "ok": 0, "wrong": 0, "clarify": 0})
            for key in t:
                t[key] += s[key]
    print("held-out folds (each question scored with parameters chosen without it):")
    for name, t in totals.items():
        print(f"  {name}: right {t['ok'] / t['n']:.1%}, confident wrong {t['wrong'] / t['n']:.1%}, "
              f"clarify {t['clarify'] / t['n']:.1%} ({t['n']} questions)")
    final = best_params(rows, ids)
    _, stats = score(rows, ids, final)
    print("all folds:")
    for name, s in stats.items():
        print(f"  {name}: right {s['ok'] / s['n']:.1%}, confident wrong {s['wrong'] / s['n']:.1%}, "
              f"clarify {s['clarify'] / s['n']:.1%}")
    print("choice: " + " ".join(f"{k}={v:g}" for k, v in final.items()))


if __name__ == "__main__":
    main()
