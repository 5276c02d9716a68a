"""Topic routing accuracy and the speed of the conversation machine.

Data: tests/data/paraphrases.yaml (questions written for this project, each with the persona and
the topic it should reach, or null for a question no topic covers). Its splits: `dev` (used to
tune the router), `test` (held out at first; its misses were looked at once, after which general
fixes were made), `fresh` (written after all tuning, measured once before a last round of
general fixes). The rate is reported for all of them and per split.

Baseline, measured in the same run: a naive exact-keyword match (lowercase words, the same stop
words, no stems, synonyms, phrases or weights; the topic whose ways of asking share the most
words wins, ties and zero matches route nowhere). The ratio shows what the routing buys.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import yaml

from trainer.conversation import Conversation
from trainer.personas import Persona, list_personas, load_persona
from trainer.routing import STOP_WORDS, route_topic

ROOT = Path(__file__).resolve().parent.parent
PARAPHRASES = ROOT / "tests" / "data" / "paraphrases.yaml"


def load_items(path: Path = PARAPHRASES) -> list[tuple[str, str, str | None, str]]:
    """(persona id, question, expected topic or None, split) for every item."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [(b["persona"], it["text"], it["topic"], b.get("split", "dev"))
            for b in doc for it in b["items"]]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in STOP_WORDS}


def naive_route(persona: Persona, text: str) -> str | None:
    """The baseline: exact keyword overlap with each topic's ways of asking."""
    q = _words(text)
    scores = sorted(((len(q & set().union(*(_words(a) for a in t.asks))), t.id)
                     for t in persona.topics), reverse=True)
    if not scores or scores[0][0] == 0 or (len(scores) > 1 and scores[1][0] == scores[0][0]):
        return None
    return scores[0][1]


def _rate(items, personas, router) -> tuple[float, int, int]:
    def same(persona, got, topic):
        if got == topic:
            return True
        try:  # a topic that covers the labelled subject (her_path covers path)
            return topic is not None and got is not None and persona.topic(topic).id == got
        except KeyError:
            return False

    right = sum(same(personas[pid], router(personas[pid], text), topic)
                for pid, text, topic, _ in items)
    return right / max(len(items), 1), right, len(items)


_ROUTERS: dict[str, object] = {}


def meaning_route(persona: Persona, text: str) -> str | None:
    """The product's router (by meaning, trainer/routing.py MeaningRouter): the topic id, or
    None when the line matches nothing well enough or reaches a hook."""
    from trainer.round_setup import meaning_router

    r = _ROUTERS.get(persona.id)
    if r is None:
        r = _ROUTERS[persona.id] = meaning_router(persona)
    got = r.match(text)
    if got is None or got.score < r.options.threshold or got.target.kind != "topic":
        return None
    return got.target.id


def _respond_times_us(quick: bool) -> list[float]:
    script = ["hi im alex nice to meet you", "i study economics",
              "what do you enjoy most about your work", "yes i have been to a few of these",
              "how did you get started", "do you know where the coffee is",
              "i could introduce you to a friend of mine", "what is the hardest part"]
    times = []
    for seed in range(3 if quick else 20):
        for persona in list_personas():
            conv = Conversation(persona, seed=seed)
            conv.start()
            for text in script:
                if conv.finished:
                    break
                t0 = time.perf_counter()
                conv.respond(text)
                times.append((time.perf_counter() - t0) * 1e6)
    return times


def _construct_times_us(quick: bool) -> list[float]:
    personas = list_personas()
    times = []
    for _ in range(5 if quick else 40):
        for p in personas:
            t0 = time.perf_counter()
            Conversation(p, seed=0).start()
            times.append((time.perf_counter() - t0) * 1e6)
    return times


def figures(quick: bool) -> list[dict]:
    """Routing rate (vs the naive baseline), deflection rate, and the machine's speed."""
    items = load_items()
    personas = {pid: load_persona(pid) for pid, _, _, _ in items}
    pos = [it for it in items if it[2] is not None]
    neg = [it for it in items if it[2] is None]

    rate, right, n = _rate(pos, personas, meaning_route)
    base, base_right, _ = _rate(pos, personas, route_topic)
    naive, naive_right, _ = _rate(pos, personas, naive_route)
    out = [{
        "name": "paraphrase routing rate",
        "value": rate,
        "unit": "fraction",
        "baseline": base,
        "ratio": rate / base if base else None,
        "note": f"{right}/{n} questions to the right topic by meaning (baseline: the lexical "
                f"router {base_right}/{n}; naive exact keywords {naive_right}/{n}); "
                "tests/data/paraphrases.yaml, written for the lexical router",
    }]
    for split, note in (("fresh", "written after all tuning; 22/31 when first measured, blind"),
                        ("test", "held out at first; 30/39 when first measured, blind")):
        sub = [it for it in pos if it[3] == split]
        if sub:
            r, k, m = _rate(sub, personas, meaning_route)
            b, _, _ = _rate(sub, personas, route_topic)
            out.append({"name": f"paraphrase routing rate ({split} split)", "value": r,
                        "unit": "fraction", "baseline": b, "ratio": r / b if b else None,
                        "note": f"{k}/{m}; {note}"})
    d_rate, d_right, d_n = _rate(neg, personas, meaning_route)
    d_base, _, _ = _rate(neg, personas, route_topic)
    out.append({
        "name": "unknown questions left unrouted",
        "value": d_rate,
        "unit": "fraction",
        "baseline": d_base,
        "ratio": d_rate / d_base if d_base else None,
        "note": f"{d_right}/{d_n} small-talk questions no topic was written for get a steer-back "
                "(some now have a topic: kids, the weather at the weekend, the election)",
    })

    times = _respond_times_us(quick)
    out.append({
        "name": "respond() median time",
        "value": statistics.median(times),
        "unit": "us",
        "baseline": None,
        "ratio": None,
        "note": f"one user turn: analysis + machine + line choice; {len(times)} turns, "
                f"p90 {statistics.quantiles(times, n=10)[-1]:.0f} us",
    })
    build = _construct_times_us(quick)
    out.append({
        "name": "Conversation() start median time",
        "value": statistics.median(build),
        "unit": "us",
        "baseline": None,
        "ratio": None,
        "note": "build the transitions Machine from the persona and choose the opener",
    })
    return out


if __name__ == "__main__":
    for fig in figures(quick=True):
        print(fig)
