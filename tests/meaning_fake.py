"""A fake sentence embedder for pure-core tests: hashed bags of word stems, unit length.

It has the real model's interface (`embed(texts) -> (n, d)` unit rows) and a crude sense of
meaning (shared content words), so core logic that takes an embedder runs in milliseconds.
The real model is tested in tests/test_meaning.py.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

_STOP = frozenset(["a", "an", "the", "is", "are", "was", "were", "do", "does", "did", "you", "your", "i", "me", "my", "we", "it", "to", "of", "in", "on", "at", "for", "and", "or", "but", "so", "what", "how", "why", "when", "where", "who", "that", "this", "with", "be", "have", "has"])


class FakeEmbedder:
    dim = 256

    def __init__(self):
        self.calls = 0
        self.texts: list[str] = []  # every text embedded, in order (to test caching callers)

    def embed(self, texts):
        self.calls += 1
        self.texts.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for w in re.findall(r"[a-z]+", str(text).lower()):
                if w in _STOP:
                    continue
                h = int(hashlib.md5(w[:5].encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0
            n = np.linalg.norm(out[i])
            if n:
                out[i] /= n
        return out
