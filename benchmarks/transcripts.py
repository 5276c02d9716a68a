"""`trainer analyze` on hostile transcripts stays linear (issue 14, probe 10).

Before the fix a 400 KB line took 88-184 s and 100k speakers over 300 s (quadratic). Figures:
parse + score of one very long line and of very many speakers, each against a baseline
measured in the same run: a tenth of the input, times ten. A ratio near 1 means linear; a
quadratic cost shows as a ratio near 10.
"""

from __future__ import annotations

import time

SENTENCES = ["I think the data team really matters.", "What do you think about it?",
             "We could talk about forecasting more often.", "How did you get into this?",
             "Honestly, I love working with real data and a team I can learn from.",
             "Why did you pick Northwind?"]


def _long_line(chars: int) -> str:
    out, n, i = [], 0, 0
    while n < chars:
        s = SENTENCES[i % len(SENTENCES)]
        out.append(s)
        n += len(s) + 1
        i += 1
    return "Dana: Hi there, what brings you to the fair?\nMe: " + " ".join(out)[:chars] + "\n"


def _speakers(n: int) -> str:
    return "Me: Hi, what do you do?\n" + "".join(f"Speaker {i}: hello there\n" for i in range(n))


def _analyze_s(text: str) -> float:
    from trainer.transcripts import parse_transcript, score_transcript

    t0 = time.perf_counter()
    score_transcript(parse_transcript(text), "Me")
    return time.perf_counter() - t0


def figures(quick: bool) -> list[dict]:
    long_chars, speakers = (100_000, 20_000) if quick else (400_000, 100_000)
    out = []
    for name, make, size, label in (
            ("analyze: one long line", _long_line, long_chars, f"{long_chars // 1000} KB line"),
            ("analyze: many speakers", _speakers, speakers, f"{speakers:,} speakers")):
        value = _analyze_s(make(size))
        baseline = 10 * _analyze_s(make(size // 10))
        out.append({"name": name, "unit": "s", "value": round(value, 3),
                    "baseline": round(baseline, 3),
                    "note": f"{label}, parse + score; baseline: a tenth of it x10 (linear)"})
    return out
