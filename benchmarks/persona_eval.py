"""Does the persona answer what it was asked? The issue-12 evaluation set, both routers.

Data: tests/data/persona_eval.yaml, lines a user would say to each persona right after its
opener (work, organisation, path, weekends, family, advice, the event, the best and hardest part
of the week, "the weirdest thing you know", what they are working on, their role, hooks asked
directly, "...and you?", offers, statements, private and out-of-world questions, and two-step
follow-ups). It was written by someone thinking as a user before any tuning; its header holds
the judging rule. Each item runs in a fresh round (seed 1): opener, [first line,] the line.

Figures, each with today's lexical router on the same persona files as the baseline in the same
run: the share of lines whose reply is about what the line asked (`expect`: the topic, the hook,
"mirror" = the persona's own answer to its question, "offer" = gratitude, "statement" = a
reaction), on the test split (the dev split was used for tuning). `--dump FILE` writes every
reply for reading (how the answers were judged by reading is in the issue note).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from trainer.conversation import Conversation
from trainer.personas import Persona, list_personas

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "data" / "persona_eval.yaml"

# Role topics in the eval set are named for what they are; a persona file may call the same
# thing by its own id. Only ids of the same meaning are listed (written before tuning).
ALIASES = {
    "apply": {"application", "apply", "hiring", "the_role"},
    "hiring": {"hiring", "the_role", "application", "apply"},
    "get_involved": {"get_involved", "volunteering", "help_needed", "membership", "join"},
    "help_needed": {"help_needed", "get_involved", "volunteering", "needs", "asks"},
    "the_talk": {"the_talk", "talk"},
}


def load_items(path: Path = EVAL) -> list[dict]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return doc if isinstance(doc, list) else doc["items"]


def _router(persona: Persona, embedder):
    if embedder is None:
        return None
    from trainer.meaning import embed_cached
    from trainer.round_setup import persona_key
    from trainer.routing import MeaningRouter

    vecs = embed_cached(embedder, MeaningRouter.texts(persona), persona_key(persona))
    return MeaningRouter(persona, embedder, vectors=vecs)


def what(reply, conv: Conversation) -> str:
    """What a reply was about, in the eval set's labels."""
    f = reply.features
    for line in reply.lines:
        if line.kind in ("answer", "deflection") and line.topic:
            return line.topic
        if line.kind == "hook_answer":
            return f"hook:{line.hooks[0]}" if line.hooks else "hook:?"
        if line.kind == "answer" and not line.topic:
            return "mirror"
    if f is not None and (f.is_offer or conv.facts().get("offered")):
        return "offer"
    if f is not None and not f.is_question:
        return "statement"
    if any(line.kind == "deflection" for line in reply.lines):
        return "steer"
    return "other"


def matches(expect: str, got: str, persona: Persona) -> bool:
    if expect == got:
        return True
    if expect in ALIASES and got in ALIASES[expect]:
        return True
    if expect == "mirror":
        return got in ("mirror",) or got == _mirror_topic(persona)
    return False


def _mirror_topic(persona: Persona) -> str | None:
    return next((ph.mirror_topic for ph in persona.phases if ph.mirror_topic), None)


def run(items: list[dict], personas: dict[str, Persona], embedder, seed: int = 1) -> list[dict]:
    routers = {pid: _router(p, embedder) for pid, p in personas.items()}
    out = []
    for it in items:
        p = personas[it["persona"]]
        conv = Conversation(p, seed=seed, router=routers[it["persona"]])
        opener = conv.start()
        first = None
        if it.get("first"):
            first = conv.respond(it["first"])
        reply = conv.respond(it["says"])
        got = what(reply, conv)
        out.append({
            "id": it["id"], "persona": it["persona"], "split": it.get("split", "dev"),
            "category": it.get("category"), "expect": it.get("expect"), "got": got,
            "ok": matches(str(it.get("expect")), got, p),
            "opener": " ".join(ln.text for ln in opener),
            "first": it.get("first"),
            "first_reply": " ".join(ln.text for ln in first.lines) if first else None,
            "says": it["says"], "reply": " ".join(ln.text for ln in reply.lines),
        })
    return out


def _rate(rows: list[dict]) -> tuple[float, int, int]:
    n = len(rows)
    k = sum(r["ok"] for r in rows)
    return (k / n if n else 0.0), k, n


def figures(quick: bool) -> list[dict]:
    from trainer.meaning import shared

    items = load_items()
    personas = {p.id: p for p in list_personas()}
    items = [it for it in items if it["persona"] in personas]
    meaning = run(items, personas, shared())
    lexical = run(items, personas, None)
    out = []
    for split in ("test", "dev"):
        m = [r for r in meaning if r["split"] == split]
        b = [r for r in lexical if r["split"] == split]
        rate, k, n = _rate(m)
        base, bk, _ = _rate(b)
        out.append({
            "name": f"persona replies about what was asked ({split} split)",
            "value": rate, "unit": "fraction", "baseline": base,
            "ratio": rate / base if base else None,
            "note": f"{k}/{n} by meaning (lexical router on the same files: {bk}/{n}); "
                    "tests/data/persona_eval.yaml" + (", used for tuning" if split == "dev"
                                                      else ", held out"),
        })
    for split in ("test",):
        m = [r for r in meaning if r["split"] == split and r["category"] == "followup"]
        b = [r for r in lexical if r["split"] == split and r["category"] == "followup"]
        rate, k, n = _rate(m)
        base, bk, _ = _rate(b)
        out.append({
            "name": f"two-step follow-ups continue the subject ({split} split)",
            "value": rate, "unit": "fraction", "baseline": base,
            "ratio": rate / base if base else None,
            "note": f"{k}/{n} by meaning (lexical: {bk}/{n})",
        })
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default=None, help="dev or test (default: both)")
    ap.add_argument("--lexical", action="store_true", help="today's lexical router")
    ap.add_argument("--dump", type=Path, help="write every reply as JSON lines")
    ap.add_argument("--misses", action="store_true", help="print the misses")
    args = ap.parse_args(argv)
    from trainer.meaning import shared

    items = load_items()
    if args.split:
        items = [it for it in items if it.get("split") == args.split]
    personas = {p.id: p for p in list_personas()}
    rows = run(items, personas, None if args.lexical else shared())
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["category"], []).append(r)
    for cat, rs in sorted(by.items()):
        rate, k, n = _rate(rs)
        print(f"{cat:18s} {k:3d}/{n:3d} {rate:.2f}")
    rate, k, n = _rate(rows)
    print(f"{'all':18s} {k:3d}/{n:3d} {rate:.2f}")
    if args.misses:
        for r in rows:
            if not r["ok"]:
                print(f"- {r['id']} [{r['expect']} -> {r['got']}] {r['says']!r}\n"
                      f"    {r['reply'][:160]}")
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
