"""Would a small learned layer on top of the question rules help? (issue 13; measured, rejected)

A logistic regression, trained only on the dev splits of the data we may commit (real chat,
our spoken-style lines, our utterances; all read lower-case without punctuation), over either
- "embedding": the all-MiniLM-L6-v2 sentence vector (trainer.meaning) + whether the partner's
  last line asked + the line's length, or
- "lexical": hashed first/last words and bigrams, all words and bigrams, the length.
It is judged as the rules OR'ed with a confident model (p > threshold), since the rules already
hold most of the precision. 5-fold cross-validation on dev chooses nothing the rules have not
already seen, so the test split (`--test`) is the judge.

Measured 2026-12-01 (h13q): on dev neither variant beats the rules at any threshold; on test
the embedding layer at p > 0.7 moved real chat F1 0.882 -> 0.874 and the spoken-style set
0.893 -> 0.901: no clear gain, and embedding every line costs ~14 ms a line (the 1,000-line
`trainer analyze` would grow by seconds). The lexical layer lost precision on test (real chat
F1 0.856, spoken-style 0.857). The rules stay the only detector.

Measured again 2026-12-02 (qd, session 21, on that session's rules): 5-fold CV on dev, no
threshold beats the rules (best: p > 0.85, equal to the rules on all three). Test, rules ->
rules OR embedding p > 0.7: real chat 0.891 -> 0.883, spoken-style 0.919 -> 0.926, own
utterances 0.967 -> 0.967; lexical: 0.864, 0.875, 0.962. A gain on one set and a loss on the
other real one: not shipped. MRDA and AMI came through the snapshot tool and are not used
for weights here.

    python -m benchmarks.question_layer [--test]
"""

from __future__ import annotations

import argparse
import zlib

import numpy as np

from benchmarks.analysis import load_chitchat, load_spoken, load_utterances, strip_text
from trainer.analysis import TurnContext, _Partner, analyze_utterance

_HASH_DIM = 2 ** 12


def _rows():
    """(source, split, text, partner, gold) over every labelled line we may commit."""
    for c in load_chitchat():
        yield "chat", c.split, strip_text(c.text), strip_text(c.partner), c.is_question
    for c in load_spoken():
        yield "spoken", c.split, strip_text(c.text), strip_text(c.partner), c.is_question
    for r in load_utterances():
        yield "own", r.split, strip_text(r.text), "", r.is_question


def _lexical(text: str) -> np.ndarray:
    w = text.split() or [""]
    names = ["f1:" + w[0], "f2:" + " ".join(w[:2]), "l1:" + w[-1], "l2:" + " ".join(w[-2:]),
             f"n:{min(len(w), 12)}", *("u:" + x for x in w),
             *(f"b:{a} {b}" for a, b in zip(w, w[1:], strict=False))]
    v = np.zeros(_HASH_DIM)
    for n in names:
        v[1 + zlib.crc32(n.encode()) % (_HASH_DIM - 1)] += 1.0
    return v


def _fit(x: np.ndarray, y: np.ndarray, l2: float, newton: bool) -> np.ndarray:
    """L2-regularised logistic regression (bias unpenalised; column 0 is the bias)."""
    w = np.zeros(x.shape[1])
    pen = np.r_[0.0, np.ones(len(w) - 1)]
    for _ in range(25 if newton else 300):
        p = 1 / (1 + np.exp(-x @ w))
        if newton:
            g = x.T @ (p - y) + l2 * pen * w
            h = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.diag(pen)
            w -= np.linalg.solve(h, g)
        else:
            w -= 2.5 * (x.T @ (p - y) / len(y) + l2 * pen * w)
    return w


def _prf(pred: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    tp, fp, fn = (pred & gold).sum(), (pred & ~gold).sum(), (~pred & gold).sum()
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    return p, r, 2 * p * r / max(1e-9, p + r)


def _fmt(scores: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.3f}" for v in scores)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test", action="store_true", help="also score the chosen layer on test")
    args = ap.parse_args()
    from trainer.meaning import Meaning

    rows = list(_rows())
    src = np.array([r[0] for r in rows])
    dev = np.array([r[1] == "dev" for r in rows])
    gold = np.array([r[4] for r in rows])
    rules = np.array([analyze_utterance(t, TurnContext(p)).is_question for _, _, t, p, _ in rows])
    extra = np.array([[1.0, float(_Partner.of(p).asked) if p else 0.0,
                       np.log1p(len(t.split())) / 3] for _, _, t, p, _ in rows])
    vecs = Meaning().embed([r[2] for r in rows])
    variants = {
        "embedding": (np.hstack([extra, vecs]), 1.0, True),
        "lexical": (np.vstack([_lexical(r[2]) for r in rows]) + np.eye(1, _HASH_DIM)[0],
                    1e-3, False),
    }
    idx = np.flatnonzero(dev)
    np.random.default_rng(13).shuffle(idx)
    folds = np.array_split(idx, 5)
    y = gold.astype(float)
    for s in ("chat", "spoken", "own"):
        m = dev & (src == s)
        print(f"rules dev {s:6s} P/R/F1 {_fmt(_prf(rules[m], gold[m]))}")
    for name, (x, l2, newton) in variants.items():
        prob = np.zeros(len(y))
        for k, fold in enumerate(folds):
            train = np.concatenate([f for j, f in enumerate(folds) if j != k])
            prob[fold] = 1 / (1 + np.exp(-x[fold] @ _fit(x[train], y[train], l2, newton)))
        for th in (0.5, 0.7, 0.85):
            parts = []
            for s in ("chat", "spoken", "own"):
                m = dev & (src == s)
                parts.append(f"{s} {_fmt(_prf(rules[m] | (prob[m] > th), gold[m]))}")
            print(f"{name} cv dev, rules OR p>{th}: " + " | ".join(parts))
        if args.test:
            w = _fit(x[dev], y[dev], l2, newton)
            prob = 1 / (1 + np.exp(-x @ w))
            for s in ("chat", "spoken", "own"):
                m = ~dev & (src == s)
                layered = rules[m] | (prob[m] > 0.7)
                print(f"{name} TEST {s:6s} rules {_fmt(_prf(rules[m], gold[m]))}"
                      f"  rules OR p>0.7 {_fmt(_prf(layered, gold[m]))}")


if __name__ == "__main__":
    main()
