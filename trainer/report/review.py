"""Review of a stored round: what each user line did, which hooks were taken up, the scorecard.

`build_review(record)` annotates a `SessionRecord` (pure: analysis + scoring on the stored
turns, nothing read from disk) into a `SessionReview` that both the terminal view
(`print_review`) and the HTML report (`trainer.report.html`) render.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from trainer.analysis import HookCue, TurnContext, UtteranceFeatures, analyze_utterance
from trainer.scoring import RecallItem, Scorecard, grade_recall, score_round, turn_contexts
from trainer.store import SessionRecord
from trainer.textsafe import clean
from trainer.types import RecallQuestion, Turn

QUESTION_KIND_LABELS = {
    "introductory": "introductory question",
    "mirror": "mirror question",
    "topic_switch": "topic switch",
    "follow_up": "follow-up",
}


@dataclass
class HookStatus:
    """A hook the persona dropped and whether the user took it up."""

    id: str
    label: str
    suggestion: str
    dropped_turn: int | None = None  # index of the persona turn that dropped it
    dropped_at_s: float | None = None
    taken_up_turn: int | None = None  # index of the first user turn that followed it up
    taken_up_at_s: float | None = None

    @property
    def taken_up(self) -> bool:
        return self.taken_up_turn is not None


@dataclass
class AnnotatedTurn:
    """One turn with what the review says about it."""

    turn: Turn
    features: UtteranceFeatures | None = None  # user turns
    tags: list[str] = field(default_factory=list)  # "open question", "offer to help", ...
    hooks: list[HookStatus] = field(default_factory=list)  # persona turns: hooks dropped here

    @property
    def segments(self) -> list[tuple[str, bool]]:
        """The text cut into (piece, is_filler) so renderers can highlight fillers."""
        fillers = self.features.fillers if self.features else []
        return split_fillers(self.turn.text, fillers)


@dataclass
class SessionReview:
    """Everything a review shows about one stored round."""

    record: SessionRecord
    turns: list[AnnotatedTurn]
    hooks: list[HookStatus]  # in the order they were dropped; never-dropped hooks left out
    recall: list[RecallItem]
    scorecard: Scorecard | None = None
    rescored: bool = False  # the scorecard was computed now from the stored turns
    notes: list[str] = field(default_factory=list)  # problems met while loading/scoring

    @property
    def partner(self) -> str:
        return self.record.persona_name.split()[0] if self.record.persona_name else "Partner"

    @property
    def missed_hooks(self) -> list[HookStatus]:
        return [h for h in self.hooks if not h.taken_up]

    @property
    def duration_s(self) -> float:
        return max((t.turn.end_s for t in self.turns), default=0.0)


def hook_cues(hooks: list[dict[str, Any]]) -> list[HookCue]:
    """The stored hook dicts as HookCue values (unknown keys ignored)."""
    return [HookCue(id=str(h["id"]), cues=tuple(h.get("cues") or ()), label=h.get("label") or "",
                    suggestion=h.get("suggestion") or "") for h in hooks]


def build_review(record: SessionRecord, meaning=None) -> SessionReview:
    """Annotate every user line, track hook uptake and attach the scorecard.

    Hook uptake follows the scorecard (a user turn after the drop whose question takes the hook
    up), so the transcript marks and the scorecard's hook figure always agree.
    """
    cues = hook_cues(record.hooks)
    by_id = {c.id: c for c in cues}
    contexts = turn_contexts(record.turns, cues, record.persona_name or None, meaning)
    statuses: dict[str, HookStatus] = {}
    annotated: list[AnnotatedTurn] = []
    dropped: list[HookCue] = []
    partner_text = ""
    first_user = True
    for turn in record.turns:
        if turn.speaker == "persona":
            here = []
            for hid in turn.hooks:
                cue = by_id.get(hid) or HookCue(id=hid, cues=(hid.replace("_", " "),), label=hid)
                if hid not in statuses:
                    statuses[hid] = HookStatus(cue.id, cue.label or cue.id, cue.suggestion,
                                               turn.index, turn.start_s)
                    dropped.append(cue)
                here.append(statuses[hid])
            annotated.append(AnnotatedTurn(turn, hooks=here))
            partner_text = turn.text
            continue
        # the scorecard's own context (the persona's whole reply, hooks so far), so the
        # transcript marks agree with the scorecard and with how the persona reacted
        ctx = contexts.get(turn.index) or TurnContext(
            partner_text=partner_text, partner_name=record.persona_name or None,
            hooks=tuple(dropped), first_user_turn=first_user)
        rise = (turn.meta or {}).get("final_rise_st")  # the pitch cue the scorecard used
        feats = analyze_utterance(turn.text, ctx, words=turn.words or None,
                                  duration_s=turn.duration_s or None, meaning=meaning,
                                  final_rise_st=rise if isinstance(rise, (int, float)) else None)
        first_user = False
        taken = [statuses[h] for h in feats.hooks_taken if h in statuses]
        for hook in taken:
            if hook.taken_up_turn is None:
                hook.taken_up_turn, hook.taken_up_at_s = turn.index, turn.start_s
        annotated.append(AnnotatedTurn(turn, feats, tags=_tags(feats, taken, turn)))
    recall = recall_items(record.recall)
    review = SessionReview(record, annotated, list(statuses.values()), recall or [],
                           notes=list(record.problems))
    _attach_scorecard(review, cues, recall, meaning)
    if review.scorecard is not None:
        _align_hooks(review)
    return review


def _align_hooks(review: SessionReview) -> None:
    """Take taken/missed from the scorecard's hook outcomes (one source of truth)."""
    start_of = {at.turn.index: at.turn.start_s for at in review.turns}
    outcome = {h.id: h for h in review.scorecard.hooks}
    for h in review.hooks:
        o = outcome.get(h.id)
        if o is None:
            continue
        h.taken_up_turn = o.taken_turn if o.taken_up else None
        h.taken_up_at_s = start_of.get(o.taken_turn) if o.taken_up else None


def _tags(f: UtteranceFeatures, taken: list[HookStatus], turn: Turn) -> list[str]:
    if f.is_empty:
        return ["(nothing heard)"]
    tags = []
    if f.is_question:
        if f.question_count > 1:
            tags.append(f"{f.question_count} questions")
        else:
            tags.append("open question" if f.is_open else "closed question")
        if taken:
            tags.extend(f"follow-up on {h.label}" for h in taken)
        elif f.question_kind == "follow_up":
            tags.append("follow-up on their last line")
        elif f.question_kind in QUESTION_KIND_LABELS:
            tags.append(QUESTION_KIND_LABELS[f.question_kind])
    if f.is_opener:
        tags.append("introduces self")
    if f.is_offer:
        tags.append("offer to help")
    if f.is_ask:
        tags.append("ask to follow up")
    if f.uses_name:
        tags.append("uses their name")
    if f.is_backchannel:
        tags.append("back-channel")
    if f.fillers:
        tags.append(f"{len(f.fillers)} filler{'s' if len(f.fillers) > 1 else ''}")
    if f.wpm:
        tags.append(f"{f.wpm:.0f} wpm")
    if turn.interrupted:
        tags.append("talked over them")
    if turn.error:
        tags.append(f"error: {turn.error}")
    return tags


def recall_items(items: list[dict[str, Any]] | None) -> list[RecallItem] | None:
    """Stored recall answers as scoring RecallItems (None when no recall check was run).

    Accepts the scorecard's own form ({"question", "expected", "given", "correct"}) and a
    question with an answer to grade ({"hook_id", "question", "answers", "given"}).
    """
    if items is None:
        return None
    out = []
    for d in items:
        if not isinstance(d, dict) or not d.get("question"):
            continue
        expected = d.get("expected", d.get("answers")) or ()
        expected = (expected,) if isinstance(expected, str) else tuple(str(e) for e in expected)
        given = str(d.get("given", d.get("answer")) or "")
        if d.get("correct") is None:
            q = RecallQuestion(str(d.get("hook_id") or ""), str(d["question"]),
                               tuple(e.lower() for e in expected))
            out.append(grade_recall(q, given))
        else:
            out.append(RecallItem(str(d["question"]), expected, given, bool(d["correct"])))
    return out


def _attach_scorecard(review: SessionReview, cues: list[HookCue],
                      recall: list[RecallItem] | None, meaning=None) -> None:
    """The stored scorecard, or one computed now from the stored turns (e.g. interrupted)."""
    rec = review.record
    if rec.scorecard is not None:
        try:
            review.scorecard = Scorecard.from_dict(rec.scorecard)
            if review.scorecard.recall and not review.recall:
                review.recall = review.scorecard.recall
            return
        except (KeyError, TypeError, ValueError) as exc:
            review.notes.append(f"session {rec.id}: stored scorecard unreadable ({exc}); "
                                "scored again from the turns")
    if not any(t.speaker == "user" for t in rec.turns):
        return
    first_name = rec.persona_name.split()[0] if rec.persona_name.strip() else None
    review.scorecard = score_round(rec.turns, cues, first_name, recall, meaning=meaning)
    review.rescored = True


# --- text helpers -------------------------------------------------------------------------------
def split_fillers(text: str, fillers: list[str]) -> list[tuple[str, bool]]:
    """Cut `text` into (piece, is_filler). `fillers` are the filler words analysis counted.

    A word like "like" is a filler only sometimes, so when the text has more matches than were
    counted, the ones set off by commas or at the start of the line are marked first.
    """
    if not fillers or not text:
        return [(text, False)]
    spans: list[tuple[int, int]] = []
    for word in dict.fromkeys(f.lower() for f in fillers):
        want = sum(1 for f in fillers if f.lower() == word)
        pat = r"(?<![\w'])" + r"[\s,]+".join(re.escape(w) for w in word.split()) + r"(?![\w'])"
        found = [m.span() for m in re.finditer(pat, text, flags=re.IGNORECASE)]
        if len(found) > want:
            found.sort(key=lambda sp: (not _set_off(text, *sp), sp[0]))
        spans.extend(found[:want])
    spans.sort()
    out: list[tuple[str, bool]] = []
    pos = 0
    for a, b in spans:
        if a < pos:
            continue  # overlapping matches ("you know" inside another filler)
        if a > pos:
            out.append((text[pos:a], False))
        out.append((text[a:b], True))
        pos = b
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def _set_off(text: str, a: int, b: int) -> bool:
    before = text[:a].rstrip()
    after = text[b:].lstrip()
    return not before or before.endswith((",", ".", "?", "!")) or after.startswith(",")


def clock(seconds: float | None) -> str:
    """m:ss on the round's clock."""
    if seconds is None:
        return "-:--"
    s = max(0, int(round(seconds)))
    return f"{s // 60}:{s % 60:02d}"


def when(iso: str | None) -> str:
    """An ISO timestamp as 'YYYY-MM-DD HH:MM' (as stored, with its own offset)."""
    if not iso:
        return "-"
    return iso[:16].replace("T", " ")


# --- terminal -----------------------------------------------------------------------------------
def print_review(review: SessionReview, console: Console | None = None) -> None:
    """The review in the terminal: header, annotated transcript, hooks, recall, scorecard.

    Every stored string passes `clean` (a session may be imported: it is data, and must not
    drive the terminal; issue 14) and is appended to a Text, so it is never read as markup.
    """
    console = console or Console()
    rec = review.record
    head = Text()
    head.append(clean(rec.persona_name), style="bold")
    head.append(clean(f" · {rec.setting} · {rec.difficulty}  "), style="")
    head.append(clean(f"{when(rec.started_at)} · {clock(review.duration_s)} · "), style="dim")
    head.append(clean(rec.state.replace("_", " ")),
                style="green" if rec.state == "completed" else "yellow")
    console.print(head)
    console.print(Text(clean(f"session {rec.id}"), style="dim"))
    for note in review.notes:
        console.print(Text(clean(f"note: {note}"), style="yellow"))
    console.print()

    console.rule("Transcript", style="dim")
    # a grid keeps wrapped lines under their own column instead of under the timestamps
    grid = Table.grid(padding=(0, 1))
    grid.add_column(justify="right", style="dim", no_wrap=True)
    grid.add_column(no_wrap=True)
    grid.add_column(ratio=1)
    for at in review.turns:
        t = at.turn
        who = "You" if t.speaker == "user" else clean(review.partner)
        body = Text()
        for piece, is_filler in at.segments:
            body.append(clean(piece), style="bold yellow underline" if is_filler else "")
        if at.tags:
            body.append("\n" + clean(" · ".join(at.tags)), style="cyan")
        for h in at.hooks:
            body.append(f"\nhook: {clean(h.label)} ", style="magenta")
            if h.taken_up:
                body.append(f"✓ taken up at {clock(h.taken_up_at_s)}", style="green")
            else:
                body.append("✗ missed", style="red")
        grid.add_row(clock(t.start_s),
                     Text(who, style="bold cyan" if t.speaker == "user" else "bold magenta"),
                     body)
    console.print(grid)
    console.print()

    if review.hooks:
        console.rule("Hooks they dropped", style="dim")
        for h in review.hooks:
            line = Text("  ")
            if h.taken_up:
                line.append("✓ ", style="green")
                line.append(f"{clean(h.label)} (at {clock(h.dropped_at_s)}), followed up at "
                            f"{clock(h.taken_up_at_s)}")
            else:
                line.append("✗ ", style="red")
                line.append(f"{clean(h.label)} (at {clock(h.dropped_at_s)}), missed")
                if h.suggestion:
                    line.append(f". Try: \u201c{clean(h.suggestion)}\u201d", style="italic")
            console.print(line)
        console.print()

    # the scorecard panel lists the recall answers itself
    if review.recall and (review.scorecard is None or not review.scorecard.recall):
        console.rule("Recall check", style="dim")
        for r in review.recall:
            line = Text("  ")
            line.append(*(("✓ ", "green") if r.correct else ("✗ ", "red")))
            line.append(clean(r.question) + " ")
            line.append(clean(f"you said: {r.given or '(no answer)'}"), style="dim")
            if r.correct is False and r.expected:
                line.append(clean(f" (it was {r.expected[0]})"), style="dim")
            console.print(line)
        console.print()

    if review.scorecard is not None:
        from trainer.report.scorecard import print_scorecard

        if review.rescored:
            console.print(Text("scored now from the stored turns", style="dim"))
        print_scorecard(review.scorecard, console)
