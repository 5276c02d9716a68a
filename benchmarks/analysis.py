"""Accuracy of turn analysis: question detection and follow-up detection.

Data (written for this project, see the headers of the files): tests/data/utterances.tsv
(labelled utterances, with and without punctuation) and tests/data/followups.yaml (short
dialogues with hooks). Baseline, measured in the same run: the naive rule many tools use,
"a question ends with '?'" (for follow-ups: "a question ending with '?' that shares a content
word with the partner's last line").

Figures are reported on the whole set and on the held-out `test` split (lines whose errors were
not looked at while the rules were tuned).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from trainer.analysis import HookCue, TurnContext, analyze_utterance, stem

ROOT = Path(__file__).resolve().parent.parent
UTTERANCES = ROOT / "tests" / "data" / "utterances.tsv"
FOLLOWUPS = ROOT / "tests" / "data" / "followups.yaml"


@dataclass(frozen=True)
class Labelled:
    """One labelled utterance from utterances.tsv."""

    text: str
    is_question: bool
    form: str | None
    is_open: bool | None
    acts: tuple[str, ...]
    split: str


def load_utterances(path: Path = UTTERANCES) -> list[Labelled]:
    rows = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    out = []
    for r in csv.DictReader(rows, delimiter="\t", quoting=csv.QUOTE_NONE):
        out.append(Labelled(
            text=r["text"],
            is_question=r["is_question"] == "1",
            form=None if r["form"] == "-" else r["form"],
            is_open=None if r["open"] == "-" else r["open"] == "open",
            acts=tuple(a for a in r["act"].split(",") if a and a != "-"),
            split=r["split"],
        ))
    return out


def strip_text(text: str) -> str:
    """What an ASR engine without punctuation gives: lowercase, no sentence punctuation."""
    t = text.lower().replace("\u2019", "'")
    t = re.sub(r"[^a-z0-9' -]+", " ", t)
    return re.sub(r"\s+", " ", t).strip()


def prf(pred: list[bool], gold: list[bool]) -> tuple[float, float, float]:
    tp = sum(p and g for p, g in zip(pred, gold, strict=True))
    fp = sum(p and not g for p, g in zip(pred, gold, strict=True))
    fn = sum(g and not p for p, g in zip(pred, gold, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def baseline_is_question(text: str) -> bool:
    """The naive rule: a question ends with '?'."""
    return text.rstrip().endswith("?")


_FIRST_WORDS = frozenset(re.findall(r"\w+", """what where when why how who which whose do does
    did is are am was were have has can could would will should"""))


def first_word_is_question(text: str) -> bool:
    """A second naive rule for text without punctuation: it starts with a wh-word/auxiliary."""
    words = re.findall(r"[a-z']+", text.lower())
    return bool(words) and words[0] in _FIRST_WORDS


def question_scores(rows: list[Labelled], stripped: bool, baseline: bool = False,
                    rule=None):
    """(precision, recall, f1) of question detection on `rows`."""
    gold = [r.is_question for r in rows]
    texts = [strip_text(r.text) if stripped else r.text for r in rows]
    detect = rule or (baseline_is_question if baseline
                      else (lambda t: analyze_utterance(t).is_question))
    return prf([detect(t) for t in texts], gold)


# --- follow-up dialogues ----------------------------------------------------------------------


@dataclass(frozen=True)
class FollowupCase:
    """One user turn of a labelled dialogue with the context it answered."""

    dialogue: str
    text: str
    context: TurnContext
    follow_up: str | None  # gold: None | "partner" | "hook:<id>"
    kind: str | None
    split: str


def load_dialogues(path: Path = FOLLOWUPS) -> list[FollowupCase]:
    cases = []
    for d in yaml.safe_load(path.read_text(encoding="utf-8")):
        hooks = {h["id"]: HookCue(h["id"], tuple(h["cues"]), h.get("label", ""),
                                  h.get("suggestion", "")) for h in d.get("hooks") or []}
        dropped: list[HookCue] = []
        partner = ""
        first = True
        for t in d["turns"]:
            if "persona" in t:
                partner = t["persona"]
                dropped += [hooks[h] for h in t.get("hooks") or [] if hooks[h] not in dropped]
                continue
            gold = t.get("follow_up")
            kind = t.get("kind")
            cases.append(FollowupCase(
                dialogue=d["id"], text=t["user"],
                context=TurnContext(partner_text=partner, hooks=tuple(dropped),
                                    first_user_turn=first),
                follow_up=None if gold in (None, "none") else gold,
                kind=None if kind in (None, "none") else kind,
                split=d.get("split", "dev"),
            ))
            first = False
    return cases


def baseline_follow_up(case: FollowupCase) -> str | None:
    if not case.text.rstrip().endswith("?"):
        return None
    mine = {stem(w) for w in re.findall(r"[a-z']+", case.text.lower()) if len(w) > 3}
    theirs = {stem(w) for w in re.findall(r"[a-z']+", case.context.partner_text.lower())
              if len(w) > 3}
    return "partner" if mine & theirs else None


def followup_scores(cases: list[FollowupCase], baseline: bool = False):
    """(precision, recall, f1, target accuracy): is it a follow-up; and of what (exact label)."""
    pred = [baseline_follow_up(c) if baseline else
            analyze_utterance(c.text, c.context).follow_up for c in cases]
    gold = [c.follow_up for c in cases]
    p, r, f = prf([x is not None for x in pred], [g is not None for g in gold])
    exact = sum(x == g for x, g in zip(pred, gold, strict=True)) / len(cases)
    return p, r, f, exact


def figures(quick: bool = False) -> list[dict]:
    rows = load_utterances()
    test_rows = [r for r in rows if r.split == "test"]
    cases = load_dialogues()
    out: list[dict] = []

    def add(name, value, unit, baseline, note):
        ratio = value / baseline if baseline else None
        out.append({"name": name, "value": round(value, 3), "unit": unit,
                    "baseline": None if baseline is None else round(baseline, 3),
                    "ratio": None if ratio is None else round(ratio, 2), "note": note})

    n = len(rows)
    for stripped, tag in ((False, "as_written"), (True, "no_punct")):
        ours = question_scores(rows, stripped)
        base = question_scores(rows, stripped, baseline=True)
        how = ("as written (mixed punctuation)" if not stripped
               else "lowercase, punctuation stripped")
        base_note = "; baseline 'ends with ?'"
        if stripped:
            first = question_scores(rows, stripped, rule=first_word_is_question)
            base_note += (f" (finds none; a first-word wh/auxiliary rule gets "
                          f"P {first[0]:.2f} R {first[1]:.2f} F1 {first[2]:.2f})")
        for i, metric in enumerate(("precision", "recall", "f1")):
            add(f"question_{metric}_{tag}", ours[i], "", base[i],
                f"{n} utterances, {how}{base_note}")
        held = question_scores(test_rows, stripped)
        held_base = question_scores(test_rows, stripped, baseline=True)
        add(f"question_f1_{tag}_heldout", held[2], "", held_base[2],
            f"{len(test_rows)} held-out utterances, {how}")

    ours = followup_scores(cases)
    base = followup_scores(cases, baseline=True)
    note = f"{len(cases)} user turns in {len({c.dialogue for c in cases})} dialogues"
    for i, metric in enumerate(("precision", "recall", "f1")):
        add(f"followup_{metric}", ours[i], "", base[i] or None,
            note + "; baseline: '?' + shared content word")
    add("followup_target_accuracy", ours[3], "", base[3] or None,
        "exact label: none | partner | hook:<id>")
    test_cases = [c for c in cases if c.split == "test"]
    held = followup_scores(test_cases)
    held_base = followup_scores(test_cases, baseline=True)
    add("followup_f1_heldout", held[2], "", held_base[2] or None,
        f"{len(test_cases)} held-out user turns")

    # Open vs closed, on the questions the set labels (as written).
    labelled = [r for r in rows if r.is_open is not None]
    feats = [analyze_utterance(r.text) for r in labelled]
    acc = sum(f.is_open == r.is_open for f, r in zip(feats, labelled, strict=True))
    add("open_closed_accuracy", acc / len(labelled), "", None,
        f"{len(labelled)} labelled questions; a missed question counts as wrong")
    return out


def errors(stripped: bool, split: str | None = "dev") -> list[tuple[str, bool]]:
    """Misclassified utterances (text, gold) for development; only the dev split by default."""
    out = []
    for r in load_utterances():
        if split and r.split != split:
            continue
        t = strip_text(r.text) if stripped else r.text
        if analyze_utterance(t).is_question != r.is_question:
            out.append((t, r.is_question))
    return out


if __name__ == "__main__":
    for fig in figures():
        print(f"{fig['name']:36s} {fig['value']!s:>7} base={fig['baseline']!s:>6}  {fig['note']}")
