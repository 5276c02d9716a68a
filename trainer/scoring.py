"""The listening scorecard of one round: metrics with targets, a Keep/Start/Stop verdict, tips.

Pure: turns in, a `Scorecard` out. User turns are re-analysed with `analyze_utterance` in the
context of the persona's preceding line and the hooks dropped so far, so a stored round, a typed
round and an imported transcript are scored the same way.

Every metric carries its target and the published figure behind it (ARCHITECTURE.md, anchors);
targets we chose ourselves say so. Tips quote the user's own line and suggest a better one.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from trainer.analysis import (
    STOPWORDS,
    Embedder,
    HookCue,
    TurnContext,
    UtteranceFeatures,
    analyze_utterance,
    hooks_named,
    hooks_said,
    named_hooks_taken,
    sentences_saying,
)
from trainer.lexicon import content_stems, expand, tokens
from trainer.offers import offered_help
from trainer.types import ANSWERING_LINE_KINDS, RecallQuestion, Turn

SCORECARD_VERSION = 1
TYPICAL_WPM = 150.0  # used to estimate speaking time when a transcript has no timings

ANCHORS = {
    "talk_share": "Top performers talk ~43% and listen ~57% (Gong, 25k calls); worse above 65%.",
    "questions": "9+ questions in 15 minutes made people better liked (Huang et al. 2017, JPSP);"
                 " 11-14 per discovery call, spread out (Gong).",
    "open_share": "Open questions invite the partner to say more; target is our choice.",
    "follow_ups": "Follow-up questions drive the liking effect of asking (Huang et al. 2017).",
    "hook_uptake": "Following up on what the partner mentions shows you listened (Huang et al. "
                   "2017; Brooks 2025 question types).",
    "longest_monologue": "Longest monologue is a standard call metric (Gong); 60 s is our "
                         "target for a social chat.",
    "engaging": "An engaging question is answered in the very next turn.",
    "response_pause": "Turn-taking gaps are ~0.2 s in conversation (Stivers et al. 2009); "
                      "over 2 s reads as hesitation (our target).",
    "filler_rate": "Fillers under ~4% of words (Read.ai, Orai).",
    "pace": "120-175 words per minute (Read.ai, Orai).",
    "focus": "Share of I/you words about the partner; our heuristic for partner focus.",
    "opener": "Introduce yourself before the first question; our checklist item.",
    "offer": "Good networkers offer help (introductions, resources); our checklist item.",
    "closing_ask": "Ask to meet again or swap contacts before you part; our checklist item.",
    "name": "Using the partner's name once shows you caught it; our checklist item.",
    "recall": "Recall of details the partner mentioned tests listening directly.",
}


# --- typed results ----------------------------------------------------------------------------


@dataclass
class Metric:
    """One scorecard line: what was measured, against which target, and why it matters."""

    key: str  # stable id, e.g. "talk_share"
    label: str  # "Talk share"
    value: float | int | bool | None  # None: not measurable in this round (no timings...)
    unit: str  # "%", "per min", "s", "wpm", "" ...
    target: str  # human-readable target, e.g. "<= 45%"
    passed: bool | None  # None when not measurable
    anchor: str  # the research or rule behind the target
    detail: str = ""  # e.g. "2 of 3 hooks"


@dataclass
class Tip:
    """A concrete suggestion: the user's own line and a better one."""

    key: str  # the metric or behaviour it fixes
    message: str  # why, in one sentence
    quote: str | None = None  # what the user said
    suggestion: str | None = None  # what to say instead
    turn_index: int | None = None

    def text(self) -> str:
        parts = [self.message]
        if self.quote:
            parts.append(f"You said: '{self.quote}'.")
        if self.suggestion:
            parts.append(f"Try: '{self.suggestion}'")
        return " ".join(parts)


@dataclass
class RecallItem:
    """One listening-check question after the round, and how the user did."""

    question: str
    expected: tuple[str, ...]
    given: str
    correct: bool


@dataclass
class HookOutcome:
    """A hook the partner dropped and whether the user took it up."""

    id: str
    label: str
    dropped_turn: int  # index of the persona turn that dropped it
    taken_up: bool
    taken_turn: int | None = None  # index of the user turn that followed up


@dataclass
class LineLabel:
    """The analysis of one user turn, for reports and `trainer analyze --json`."""

    index: int
    text: str
    start_s: float
    end_s: float
    labels: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scorecard:
    """The result of scoring one round."""

    metrics: list[Metric]
    keep: list[str] = field(default_factory=list)
    start: list[str] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    tips: list[Tip] = field(default_factory=list)
    hooks: list[HookOutcome] = field(default_factory=list)
    recall: list[RecallItem] = field(default_factory=list)
    lines: list[LineLabel] = field(default_factory=list)
    partner_name: str | None = None
    duration_s: float = 0.0
    timing_estimated: bool = False  # speaking times estimated from word counts
    notes: list[str] = field(default_factory=list)
    version: int = SCORECARD_VERSION

    def metric(self, key: str) -> Metric | None:
        return next((m for m in self.metrics if m.key == key), None)

    @property
    def passed_count(self) -> int:
        return sum(1 for m in self.metrics if m.passed is True)

    @property
    def measured_count(self) -> int:
        return sum(1 for m in self.metrics if m.passed is not None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with stable keys (the store keeps it)."""
        d = asdict(self)
        for r in d["recall"]:
            r["expected"] = list(r["expected"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scorecard:
        """The inverse of to_dict; tolerant of missing keys from older versions."""
        return cls(
            metrics=[_known(Metric, m) for m in d.get("metrics") or []],
            keep=list(d.get("keep") or []),
            start=list(d.get("start") or []),
            stop=list(d.get("stop") or []),
            tips=[_known(Tip, t) for t in d.get("tips") or []],
            hooks=[_known(HookOutcome, h) for h in d.get("hooks") or []],
            recall=[RecallItem(question=r["question"], expected=tuple(r.get("expected") or ()),
                               given=r.get("given", ""), correct=bool(r.get("correct")))
                    for r in d.get("recall") or []],
            lines=[_known(LineLabel, ln) for ln in d.get("lines") or []],
            partner_name=d.get("partner_name"),
            duration_s=float(d.get("duration_s") or 0.0),
            timing_estimated=bool(d.get("timing_estimated")),
            notes=list(d.get("notes") or []),
            version=int(d.get("version") or SCORECARD_VERSION),
        )


def _known(cls, d: dict[str, Any]):
    """Build a dataclass from a dict, ignoring keys a newer version may have added."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


# --- recall check -------------------------------------------------------------------------------

_NUMBERS = {str(k): v for k, v in enumerate(re.findall(
    r"\w+", "zero one two three four five six seven eight nine ten eleven twelve thirteen"
    " fourteen fifteen sixteen seventeen eighteen nineteen twenty"))}
_ARTICLES = {"a", "an", "the", "my", "her", "his", "their", "its", "called", "named"}


def _norm_words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", str(text).lower().replace("'s", ""))
    return [_NUMBERS.get(w, w) for w in words if w not in _ARTICLES]


def _sound_key(word: str) -> str:
    """A rough phonetic key so ASR spellings match ("biskit" ~ "biscuit", "filip" ~ "philip")."""
    w = word.lower()
    for a, b in (("ph", "f"), ("ck", "k"), ("qu", "kw"), ("c", "k"), ("z", "s"), ("x", "ks"),
                 ("y", "i"), ("w", "")):
        w = w.replace(a, b)
    if not w:
        return ""
    body = re.sub(r"[aeiouh]", "", w[1:])
    key = w[0] + body
    return re.sub(r"(.)\1+", r"\1", key)


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _word_matches(expected: str, given_words: list[str]) -> bool:
    for g in given_words:
        if g == expected:
            return True
        if len(expected) >= 4 and _edit_distance(g, expected) <= max(1, len(expected) // 4):
            return True
        if len(expected) >= 4 and len(g) >= 3 and _sound_key(g) == _sound_key(expected):
            return True
    return False


def grade_recall(question: RecallQuestion, given: str) -> RecallItem:
    """Grade one recall answer, tolerant of case, punctuation, articles and ASR misspellings."""
    given = given if isinstance(given, str) else str(given or "")
    words = _norm_words(given)
    correct = False
    for answer in question.answers:
        need = _norm_words(answer)
        if need and all(_word_matches(w, words) for w in need):
            correct = True
            break
    return RecallItem(question=question.question, expected=tuple(question.answers),
                      given=given, correct=correct)


# --- scoring ------------------------------------------------------------------------------------


@dataclass
class _UserTurn:
    turn: Turn
    feats: UtteranceFeatures
    context: TurnContext
    seconds: float  # speaking time (measured or estimated)


def _speaking_s(turn: Turn, estimated: bool) -> float:
    if not estimated and turn.end_s > turn.start_s:
        return turn.end_s - turn.start_s
    return len(turn.text.split()) / TYPICAL_WPM * 60.0


def _has_timings(turns: Sequence[Turn]) -> bool:
    spoken = [t for t in turns if t.text.strip()]
    return bool(spoken) and all(t.end_s > t.start_s for t in spoken)


def turn_contexts(
    turns: Sequence[Turn],
    hooks: Sequence[HookCue] = (),
    partner_name: str | None = None,
    meaning: Embedder | None = None,
) -> dict[int, TurnContext]:
    """What each user turn answered, by turn index: the same context the conversation gave.

    The partner's text is everything the persona said since the user's previous turn (the
    conversation stores each line of a reply as its own turn, and reacts to the whole reply),
    and the hooks are those dropped so far: by a line tagged with them, or by any line that says
    their content (`hooks_said`). Reports that re-analyse a round use this so their labels agree
    with the scorecard.
    """
    ordered = sorted(turns, key=lambda t: t.index)
    return _walk(ordered, {h.id: h for h in hooks}, partner_name, meaning)[0]


def _walk(turns: Sequence[Turn], cue_by_id: dict[str, HookCue], partner_name: str | None,
          meaning: Embedder | None = None,
          ) -> tuple[dict[int, TurnContext], list[HookCue], dict[str, int]]:
    """(context per user turn index, hooks in the order dropped, index of the dropping turn)."""
    contexts: dict[int, TurnContext] = {}
    dropped: list[HookCue] = []
    dropped_at: dict[str, int] = {}
    reply: list[str] = []  # the persona's lines since the user's last turn
    earlier: list[str] = []  # the persona's lines before that turn
    fresh = True  # no user turn yet (a silent one counts: the persona moved on)
    # hooks a line of this reply named by one cue word only (index of that line): said if the
    # user's next question takes them up ("my daughter does the Saturday shifts now" - "is
    # she any good at it?"), not counted as dropped (nor missed) otherwise
    maybe: dict[str, int] = {}

    def drop(hid: str, t: Turn) -> None:
        dropped_at[hid] = t.index
        cue = cue_by_id.get(hid) or HookCue(hid, (hid.replace("_", " "),))
        # what the hook is about includes how this line said it ("I spent eight years on a
        # children's ward"): a question in other words is matched against it by meaning, as
        # against the persona file's own mentions
        said_here = tuple(x for x in sentences_saying(t.text, cue) if x not in cue.texts)
        dropped.append(replace(cue, texts=cue.texts + said_here))

    by_index = {t.index: t for t in turns}
    for t in turns:
        if t.speaker == "persona":
            if t.text.strip():
                reply.append(t.text.strip())
            unsaid = [h for h in cue_by_id.values() if h.id not in dropped_at
                      and h.id not in t.hooks]
            # An untagged line that says a hook drops it there and then ("I taught chemistry
            # for six years..."), by words only: the conversation drops hooks by the same rule
            # (without an embedder), so the persona and the scorecard count the same hooks.
            said = hooks_said(t.text, unsaid) if unsaid and t.text.strip() else []
            for hid in (*t.hooks, *said):
                if hid not in dropped_at:
                    drop(hid, t)
            if unsaid and t.text.strip():
                for hid in hooks_named(t.text, [h for h in unsaid if h.id not in dropped_at]):
                    maybe[hid] = t.index
            continue
        ctx = TurnContext(partner_text=" ".join(reply), partner_name=partner_name,
                          hooks=tuple(dropped), first_user_turn=fresh,
                          earlier_partner_text=" ".join(earlier))
        maybe = {h: i for h, i in maybe.items() if h not in dropped_at}  # said since
        if maybe:
            named = [(cue_by_id[h], by_index[i].text) for h, i in maybe.items()]
            for hid in named_hooks_taken(t.text, ctx, named, meaning):
                drop(hid, by_index[maybe[hid]])
            if len(dropped) > len(ctx.hooks):
                ctx = replace(ctx, hooks=tuple(dropped))
        maybe = {}
        contexts[t.index] = ctx
        if reply:
            earlier = reply
        reply = []
        fresh = False
    return contexts, dropped, dropped_at


def score_round(
    turns: Sequence[Turn],
    hooks: Sequence[HookCue] = (),
    partner_name: str | None = None,
    recall: Sequence[RecallItem] | None = None,
    meaning: Embedder | None = None,
) -> Scorecard:
    """Score one round of turns (persona and user, in order).

    Args:
        turns: the round's turns; persona turns' `.hooks` say which hooks each line dropped,
            `.kind` whether it answered (answer, hook...) or not (deflection, prompt...).
        hooks: the cues of the persona's hooks (ids not listed fall back to the id as cue).
        partner_name: the persona's name, for the "uses their name" check and the tips.
        recall: graded recall answers (see `grade_recall`), or None when not asked.
        meaning: a sentence embedder (trainer.meaning.shared() at the edge): follow-ups and
            hooks by meaning as well as by words, tips checked against what was asked. None:
            the lexical rules alone.
    """
    turns = sorted(turns, key=lambda t: t.index)
    cue_by_id = {h.id: h for h in hooks}
    timed = _has_timings(turns)
    notes: list[str] = []
    if not timed and turns:
        notes.append(f"No timings: speaking times estimated at {TYPICAL_WPM:.0f} words per "
                     "minute; pace and pauses not measured.")

    # Walk the round: context for each user turn, hooks as they are dropped.
    contexts, dropped, dropped_at = _walk(turns, cue_by_id, partner_name, meaning)
    users: list[_UserTurn] = []
    persona_s = sum(_speaking_s(t, not timed) for t in turns if t.speaker == "persona")
    for t in turns:
        if t.speaker != "user" or not t.text.strip():
            continue  # a timeout or a failed transcription: nothing was said to score
        ctx = contexts[t.index]
        seconds = _speaking_s(t, not timed)
        feats = analyze_utterance(t.text, ctx, t.words or None,
                                  seconds if timed and not t.words else None, meaning=meaning,
                                  final_rise_st=_rise(t))
        if not feats.is_offer and offered_help(t.text, meaning, asked=feats.is_question):
            feats.is_offer = True  # in the user's own words: the rule the persona thanked
        users.append(_UserTurn(t, feats, ctx, seconds))

    user_s = sum(u.seconds for u in users)
    if timed and turns:
        duration_s = max(t.end_s for t in turns) - min(t.start_s for t in turns)
    else:
        duration_s = user_s + persona_s
    duration_s = max(duration_s, 0.0)

    metrics: list[Metric] = []
    questions = [u for u in users if u.feats.is_question]
    n_questions = sum(u.feats.question_count for u in users)
    minutes = duration_s / 60.0

    # Talk share.
    total_s = user_s + persona_s
    share = user_s / total_s if total_s > 0 else None
    metrics.append(Metric(
        "talk_share", "Talk share", _pct(share), "%", "<= 45%",
        None if share is None else share <= 0.45, ANCHORS["talk_share"],
        f"you {user_s:.0f} s, partner {persona_s:.0f} s" + (" (estimated)" if not timed else "")))

    # Questions.
    per_min = n_questions / minutes if minutes > 0 else None
    metrics.append(Metric(
        "questions_per_min", "Questions per minute", _round(per_min, 2), "per min", ">= 0.6",
        None if per_min is None else per_min >= 0.6, ANCHORS["questions"],
        f"{n_questions} in {minutes:.1f} min"))
    want = max(2, round(0.6 * minutes))
    metrics.append(Metric(
        "questions_total", "Questions asked", n_questions, "", f">= {want}",
        n_questions >= want if users else None, ANCHORS["questions"]))
    n_open = sum(1 for u in questions if u.feats.is_open)
    open_share = n_open / len(questions) if questions else None
    metrics.append(Metric(
        "open_share", "Open questions", _pct(open_share), "%", ">= 50%",
        None if open_share is None else open_share >= 0.5, ANCHORS["open_share"],
        f"{n_open} of {len(questions)} questions"))
    follow = [u for u in questions if u.feats.question_kind == "follow_up"]
    metrics.append(Metric(
        "follow_ups", "Follow-up questions", len(follow), "", ">= 2",
        len(follow) >= 2 if users else None, ANCHORS["follow_ups"],
        f"{len(follow)} of {len(questions)} questions build on what they said"))

    # Hook uptake.
    outcomes = _hook_outcomes(dropped, dropped_at, users, turns, meaning)
    taken = sum(1 for h in outcomes if h.taken_up)
    uptake = taken / len(outcomes) if outcomes else None
    metrics.append(Metric(
        "hook_uptake", "Hooks taken up", _pct(uptake), "%", ">= 50%",
        None if uptake is None else uptake >= 0.5, ANCHORS["hook_uptake"],
        f"{taken} of {len(outcomes)} details they mentioned" if outcomes else "no hooks dropped"))

    # Longest monologue: consecutive user turns count as one stretch.
    longest, longest_turn = _longest_monologue(turns, users)
    metrics.append(Metric(
        "longest_monologue", "Longest monologue", _round(longest, 1), "s", "<= 60 s",
        longest <= 60.0 if users else None, ANCHORS["longest_monologue"],
        "estimated" if not timed else ""))

    # Engaging questions: answered in the next persona turn.
    engaging = _engaging(turns, users)
    eng_share = engaging / len(questions) if questions else None
    metrics.append(Metric(
        "engaging_questions", "Engaging questions", engaging, "", ">= 50% answered",
        None if eng_share is None else eng_share >= 0.5, ANCHORS["engaging"],
        f"{engaging} of {len(questions)} answered in the next turn"))

    # Response pause.
    # Untimed rounds are typed or imported: a "pause" there is typing time, not hesitation.
    pauses = [u.turn.pause_before_s for u in users
              if u.turn.pause_before_s is not None] if timed else []
    interrupts = sum(1 for u in users if u.turn.interrupted)
    median_pause = statistics.median(pauses) if pauses else None
    metrics.append(Metric(
        "response_pause", "Response pause (median)", _round(median_pause, 2), "s", "<= 2 s",
        None if median_pause is None else median_pause <= 2.0, ANCHORS["response_pause"],
        (f"{interrupts} interruption(s)" if interrupts else "") if pauses else "not measured"))

    # Fillers.
    words = sum(u.feats.word_count for u in users)
    fillers = sum(len(u.feats.fillers) for u in users)
    filler_rate = fillers / words if words else None
    metrics.append(Metric(
        "filler_rate", "Filler words", _pct(filler_rate), "%", "< 4%",
        None if filler_rate is None else filler_rate < 0.04, ANCHORS["filler_rate"],
        f"{fillers} in {words} words"))

    # Pace: only from real timings.
    pace = _pace(users) if timed else None
    metrics.append(Metric(
        "pace", "Pace", _round(pace, 0), "wpm", "120-175 wpm",
        None if pace is None else 120.0 <= pace <= 175.0, ANCHORS["pace"],
        "" if pace is not None else "not measured (no timings)"))

    # Focus.
    i_words = sum(u.feats.i_words for u in users)
    you_words = sum(u.feats.you_words for u in users)
    focus = you_words / (i_words + you_words) if i_words + you_words else None
    metrics.append(Metric(
        "focus", "Partner focus", _pct(focus), "%", ">= 40% you-words",
        None if focus is None else focus >= 0.4, ANCHORS["focus"],
        f"{you_words} you/your vs {i_words} I/me/my"))

    # Checklist items.
    opener = any(u.feats.is_opener for u in users[:2])
    metrics.append(Metric("opener", "Opened with an introduction", opener, "", "yes",
                          opener if users else None, ANCHORS["opener"]))
    offer = any(u.feats.is_offer for u in users)
    metrics.append(Metric("offer", "Offered to help", offer, "", "yes",
                          offer if users else None, ANCHORS["offer"]))
    ask = any(u.feats.is_ask for u in users)
    metrics.append(Metric("closing_ask", "Asked to follow up", ask, "", "yes",
                          ask if users else None, ANCHORS["closing_ask"]))
    if partner_name:
        named = any(u.feats.uses_name for u in users)
        metrics.append(Metric("name", f"Used {_first_name(partner_name)}'s name", named, "", "yes",
                              named if users else None, ANCHORS["name"]))

    recall_items = list(recall) if recall is not None else []
    if recall is not None:
        right = sum(1 for r in recall_items if r.correct)
        score = right / len(recall_items) if recall_items else None
        metrics.append(Metric(
            "recall", "Recall check", _pct(score), "%", ">= 50%",
            None if score is None else score >= 0.5, ANCHORS["recall"],
            f"{right} of {len(recall_items)} right"))

    card = Scorecard(
        metrics=metrics, hooks=outcomes, recall=recall_items,
        lines=[_line_label(u) for u in users], partner_name=partner_name,
        duration_s=round(duration_s, 2), timing_estimated=not timed, notes=notes,
    )
    _verdict(card, users, turns, longest_turn, cue_by_id, meaning)
    _drop_tips_already_asked(card, users, meaning)
    return card


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * x, 1)


def _round(x: float | None, nd: int) -> float | None:
    return None if x is None else round(x, nd)


def _hook_outcomes(dropped: list[HookCue], dropped_at: dict[str, int],
                   users: list[_UserTurn], turns: Sequence[Turn] = (),
                   meaning: Embedder | None = None) -> list[HookOutcome]:
    # A question the persona answered with a hook's warm answer took that hook up, whenever it
    # came - before the persona had mentioned it too ("Do you have any pets?"): the
    # conversation's reaction and the scorecard agree on it (issue 12/13).
    answered_by: dict[int, set[str]] = {}
    last_user: _UserTurn | None = None
    by_index = {u.turn.index: u for u in users}
    for t in sorted(turns, key=lambda t: t.index):
        if t.speaker == "user":
            last_user = by_index.get(t.index)
        elif last_user is not None and t.kind == "hook_answer" and last_user.feats.is_question:
            answered_by.setdefault(last_user.turn.index, set()).update(t.hooks)
    out = []
    for h in dropped:
        taken_turn = next((u.turn.index for u in users
                           if (u.turn.index > dropped_at[h.id] and h.id in u.feats.hooks_taken)
                           or h.id in answered_by.get(u.turn.index, ())), None)
        out.append(HookOutcome(id=h.id, label=h.label or h.id, dropped_turn=dropped_at[h.id],
                               taken_up=taken_turn is not None, taken_turn=taken_turn))
    return out


def _longest_monologue(turns: list[Turn], users: list[_UserTurn]) -> tuple[float, int | None]:
    seconds = {u.turn.index: u.seconds for u in users}
    best, best_turn, run, run_turn = 0.0, None, 0.0, None
    for t in turns:
        if t.speaker == "user" and t.text.strip():
            if run == 0.0:
                run_turn = t.index
            run += seconds.get(t.index, 0.0)
            if run > best:
                best, best_turn = run, run_turn
        elif t.speaker == "persona" and t.text.strip():
            run = 0.0
    return best, best_turn


def _answered(reply: list[Turn]) -> bool:
    """Did the persona's reply (its lines up to the user's next turn) answer the question?"""
    if any(t.kind for t in reply):
        return any(t.kind in ANSWERING_LINE_KINDS for t in reply)
    # Imported transcripts have no kinds: a reply of a few words that is not just a question
    # back counts as an answer.
    feats = analyze_utterance(" ".join(t.text for t in reply))
    return feats.word_count >= 3 and not (feats.is_question and feats.word_count <= 6)


def _answered_turns(turns: list[Turn], users: list[_UserTurn]) -> set[int]:
    """Indexes of user questions the persona answered in its next turn."""
    by_index = {t.index: i for i, t in enumerate(turns)}
    out = set()
    for u in users:
        if not u.feats.is_question:
            continue
        reply: list[Turn] = []
        for t in turns[by_index[u.turn.index] + 1:]:
            if t.speaker != "persona":
                break
            reply.append(t)
        if reply and _answered(reply):
            out.add(u.turn.index)
    return out


def _engaging(turns: list[Turn], users: list[_UserTurn]) -> int:
    return len(_answered_turns(turns, users))


def _pace(users: list[_UserTurn]) -> float | None:
    words = 0
    seconds = 0.0
    for u in users:
        if u.feats.wpm is None or u.feats.wpm <= 0:
            continue
        words += u.feats.word_count
        seconds += u.feats.word_count / u.feats.wpm * 60.0
    return words / seconds * 60.0 if seconds > 0 else None


def _line_label(u: _UserTurn) -> LineLabel:
    f = u.feats
    labels = {
        "is_question": f.is_question, "question_count": f.question_count,
        "question_kind": f.question_kind, "question_form": f.question_form,
        "is_open": f.is_open, "follow_up": f.follow_up, "hooks_taken": list(f.hooks_taken),
        "fillers": list(f.fillers), "filler_rate": round(f.filler_rate, 4),
        "wpm": None if f.wpm is None else round(f.wpm, 1),
        "i_words": f.i_words, "you_words": f.you_words, "is_opener": f.is_opener,
        "is_offer": f.is_offer, "is_ask": f.is_ask, "uses_name": f.uses_name,
        "is_backchannel": f.is_backchannel, "is_goodbye": f.is_goodbye,
        "word_count": f.word_count, "seconds": round(u.seconds, 2),
    }
    return LineLabel(index=u.turn.index, text=u.turn.text, start_s=u.turn.start_s,
                     end_s=u.turn.end_s, labels=labels)


# --- verdict and tips ---------------------------------------------------------------------------


def _short(text: str, words: int = 18) -> str:
    ws = text.strip().split()
    return " ".join(ws) if len(ws) <= words else " ".join(ws[:words]) + " ..."


def _verdict(card: Scorecard, users: list[_UserTurn], turns: list[Turn],
             longest_turn: int | None, cue_by_id: dict[str, HookCue],
             meaning: Embedder | None = None) -> None:
    m = {x.key: x for x in card.metrics}
    first_name = _first_name(card.partner_name)
    name = first_name or "them"
    keep, start, stop, tips = card.keep, card.start, card.stop, card.tips
    by_index = {u.turn.index: u for u in users}

    def passed(key: str) -> bool | None:
        return m[key].passed if key in m else None

    # Keep: what went well, specific where we can be.
    follow = [u for u in users if u.feats.question_kind == "follow_up"]
    if follow:
        keep.append(f"Following up: {len(follow)} question(s) built on what {name} said, "
                    f"e.g. '{_quote_question(follow[0].turn.text, follow[0].feats)}'")
    taken = [h for h in card.hooks if h.taken_up]
    if taken:
        keep.append("You picked up on " + ", ".join(h.label for h in taken) + ".")
    for key, text in (("talk_share", "Listening more than talking."),
                      ("open_share", "Asking open questions."),
                      ("offer", "Offering to help."),
                      ("closing_ask", "Asking to stay in touch."),
                      ("opener", "Opening with a clear introduction."),
                      ("filler_rate", "Few filler words."),
                      ("pace", "A comfortable pace.")):
        if passed(key):
            keep.append(text)
    if passed("recall"):
        keep.append("Remembering the details they shared.")

    # Missed hooks: quote the user's reply to the line that dropped it.
    for h in card.hooks:
        if h.taken_up:
            continue
        cue = cue_by_id.get(h.id)
        if cue and cue.suggestion and _asked_turn(cue.suggestion, users, meaning,
                                                  strict=True) is not None:
            # asked about before the persona said it, and answered otherwise: not taken up
            # by the persona's rule (the persona and the card count alike), but never
            # "nobody asked about it" either
            continue
        reply = next((u for u in users if u.turn.index > h.dropped_turn), None)
        suggestion = (cue.suggestion if cue and cue.suggestion
                      else f"You mentioned {h.label} - how did that come about?")
        # labels are noun phrases or clauses ("rescue puppy Biscuit", "used to teach
        # chemistry"): set them off with a colon so both read naturally
        start.append(f"Ask about what {_cap(name)} mentioned: {h.label}.")
        tips.append(Tip("hook_uptake", f"{_cap(name)} mentioned something personal ({h.label}) "
                        "and nobody asked about it.",
                        quote=_short(reply.turn.text) if reply else None,
                        suggestion=suggestion, turn_index=reply.turn.index if reply else None))

    if passed("follow_ups") is False:
        start.append("Ask follow-up questions about what they just said.")
        missed = _missed_follow_up(users, meaning)
        if missed and not any(t.key == "hook_uptake" for t in tips):
            u, partner_said = missed
            why = ("This question changed the subject instead of building on their last line."
                   if u.feats.is_question else
                   f"{_cap(name)} told you something here and it went unasked.")
            tips.append(Tip("follow_ups", why, quote=_short(u.turn.text),
                            suggestion=partner_said, turn_index=u.turn.index))

    if passed("questions_total") is False or passed("questions_per_min") is False:
        start.append("Ask more questions: aim for one every minute or two.")
        statement = max((u for u in users if not u.feats.is_question and not
                         u.feats.is_backchannel and not u.feats.is_goodbye),
                        key=lambda u: u.feats.word_count, default=None)
        if statement and not any(t.turn_index == statement.turn.index for t in tips):
            tips.append(Tip("questions_total", "End your turn with a question so they can "
                            "take it further.", quote=_short(statement.turn.text),
                            suggestion=_lead_in(_without_fillers(statement, 60))
                            + " " + _question_about_them(statement.context),
                            turn_index=statement.turn.index))

    if passed("open_share") is False:
        closed = next((u for u in users if u.feats.is_question and u.feats.is_open is False),
                      None)
        start.append("Turn yes/no questions into open ones (what, how, why).")
        if closed:
            tips.append(Tip("open_share", "A yes/no question gets a short answer.",
                            quote=_short(closed.turn.text),
                            suggestion=_open_version(closed.feats),
                            turn_index=closed.turn.index))

    if passed("opener") is False and users:
        first = users[0]
        start.append("Open by introducing yourself.")
        tips.append(Tip("opener", "Say who you are before anything else.",
                        quote=_short(first.turn.text),
                        suggestion=f"Hi, I'm [your name]. {_without_fillers(first, 12)}",
                        turn_index=first.turn.index))
    if passed("offer") is False and users:
        start.append("Offer something: an introduction, an article, a hand.")
        late = _best_line_for_offer(users)
        tips.append(Tip("offer", "Networking is two-way: offer something before you part.",
                        quote=_short(late.turn.text) if late else None,
                        suggestion="That reminds me - I could introduce you to someone who "
                                   "works on that, if it helps.",
                        turn_index=late.turn.index if late else None))
    if passed("closing_ask") is False and users:
        last = users[-1]
        start.append("Ask to meet again or swap contacts before you leave.")
        who = f", {first_name}" if first_name else ""
        tips.append(Tip("closing_ask", "The conversation ended without a next step.",
                        quote=_short(last.turn.text),
                        suggestion=f"I've really enjoyed this{who} - could we grab a coffee "
                                   "next week?", turn_index=last.turn.index))
    if passed("name") is False and users:
        start.append(f"Use {first_name}'s name once.")
        first = users[0]
        tips.append(Tip("name", "Saying their name once helps you remember it, and they notice.",
                        quote=_short(first.turn.text),
                        suggestion=f"Nice to meet you, {first_name}. "
                                   + _without_fillers(first, 12),
                        turn_index=first.turn.index))

    # Stop: habits that cost the partner airtime or attention.
    if passed("talk_share") is False or passed("longest_monologue") is False:
        u = by_index.get(longest_turn) if longest_turn is not None else None
        if passed("talk_share") is False:
            stop.append(f"Talking most of the time ({m['talk_share'].value:.0f}% of it).")
        if passed("longest_monologue") is False:
            stop.append(f"Long monologues ({m['longest_monologue'].value:.0f} s at a stretch).")
        if u:
            tips.append(Tip("longest_monologue", "Hand the turn back sooner: two or three "
                            "sentences, then a question.", quote=_short(u.turn.text),
                            suggestion=_lead_in(_without_fillers(u, 60)) + " "
                            + _question_about_them(u.context),
                            turn_index=u.turn.index))
    if passed("filler_rate") is False:
        worst = max(users, key=lambda u: len(u.feats.fillers))
        stop.append("Filler words (" + ", ".join(sorted({f for u in users
                                                          for f in u.feats.fillers})) + ").")
        tips.append(Tip("filler_rate", "A short pause sounds more confident than a filler.",
                        quote=_short(worst.turn.text), suggestion=_without_fillers(worst),
                        turn_index=worst.turn.index))
    if passed("pace") is False:
        pace = m["pace"].value or 0
        fast = pace > 175
        stop.append("Speaking too fast." if fast else "Speaking very slowly.")
        timed_lines = [u for u in users if u.feats.wpm and u.feats.word_count >= 5]
        if timed_lines:
            u = (max if fast else min)(timed_lines, key=lambda x: x.feats.wpm or 0.0)
            tips.append(Tip("pace", f"This line ran at {u.feats.wpm:.0f} words a minute; "
                            + ("pause at each full stop." if fast else
                               "keep going through the sentence."),
                            quote=_short(u.turn.text), turn_index=u.turn.index))
    if passed("focus") is False:
        stop.append("Talking mostly about yourself (I/me/my).")
        selfish = max(users, key=lambda u: u.feats.i_words - u.feats.you_words)
        if not any(t.turn_index == selfish.turn.index for t in tips):
            tips.append(Tip("focus", "Turn the spotlight to them.",
                            quote=_short(selfish.turn.text),
                            suggestion=_lead_in(_without_fillers(selfish, 60))
                            + " " + _question_about_them(selfish.context),
                            turn_index=selfish.turn.index))
    if passed("response_pause") is False:
        stop.append("Long silences before answering.")
    if passed("engaging_questions") is False:
        start.append("Ask questions they can answer right away, about them and the moment.")
        dodged = next((u for u in users if u.feats.is_question
                       and u.turn.index not in _answered_turns(turns, users)), None)
        if dodged:
            tips.append(Tip("engaging_questions", f"{_cap(name)} did not take this question up.",
                            quote=_short(dodged.turn.text),
                            suggestion=_question_about_them(dodged.context),
                            turn_index=dodged.turn.index))
    # Tips that quote different lines first, so the top three teach three things.
    seen: set[int | None] = set()
    first, later = [], []
    for tip in tips:
        (later if tip.turn_index in seen and tip.turn_index is not None else first).append(tip)
        seen.add(tip.turn_index)
    tips[:] = first + later


# A "Try:" as close as this to a question the user asked would tell them to say what they said.
ASKED_SIM = 0.60  # cosine (trainer.meaning); without an embedder: shared content words
ASKED_OVERLAP = 0.5


def _asked_already(suggestion: str, users: list[_UserTurn], meaning: Embedder | None) -> bool:
    """Did the user already ask (about) what `suggestion` proposes?"""
    return _asked_turn(suggestion, users, meaning) is not None


def _asked_turn(suggestion: str, users: list[_UserTurn], meaning: Embedder | None,
                strict: bool = False) -> int | None:
    """The index of the first user turn that asked (about) what `suggestion` proposes: most
    of its content words, or (with an embedder) a question close to it in meaning. `strict`
    (to credit a hook): two of its content words or all of them ("how long have you been
    coming?" shares only "long" with "How long have you had Biscuit?")."""
    mine = [(u.turn.index, q) for u in users for q in u.feats.questions]
    if not mine:
        return None
    want = content_stems(expand([w for w in tokens(suggestion) if w not in "?.!;,\n"]))
    for index, q in mine:
        have = content_stems(expand(q.split()))
        shared = len(want & have)
        if want and shared / len(want) >= ASKED_OVERLAP and (
                not strict or shared >= min(2, len(want))):
            return index
    if meaning is None:
        return None
    vecs = meaning.embed([suggestion, *(q for _, q in mine)])
    return next((index for (index, _), v in zip(mine, vecs[1:], strict=True)
                 if float(vecs[0] @ v) >= ASKED_SIM), None)


_NEW_QUESTION_TIPS = frozenset({"hook_uptake", "follow_ups", "questions_total",
                                "engaging_questions", "longest_monologue", "focus"})


def _drop_tips_already_asked(card: Scorecard, users: list[_UserTurn],
                             meaning: Embedder | None) -> None:
    """A tip never suggests a question the user already asked: its "Try:" is dropped.

    Only tips that propose a new question; the open version of the user's own yes/no question
    (open_share) is meant to be close to it.
    """
    for tip in card.tips:
        if tip.key in _NEW_QUESTION_TIPS and tip.suggestion and tip.suggestion.rstrip().endswith("?") and _asked_already(
                tip.suggestion, users, meaning):
            tip.suggestion = None


# A question this close in meaning to the partner's line may build on it in words the rules
# did not link: it is never the example of "changed the subject".
CHANGED_SUBJECT_MAX_SIM = 0.30


def _close_to_their_line(u: _UserTurn, meaning: Embedder | None) -> bool:
    if meaning is None or not u.feats.questions:
        return False
    theirs = [x for x in re.split(r"(?<=[.!?])\s+", u.context.partner_text.strip()) if x]
    if not theirs:
        return False
    vecs = meaning.embed([" ".join(u.feats.questions), *theirs])
    return any(float(vecs[0] @ v) >= CHANGED_SUBJECT_MAX_SIM for v in vecs[1:])


def _missed_follow_up(users: list[_UserTurn], meaning: Embedder | None = None
                      ) -> tuple[_UserTurn, str] | None:
    """A reply that could have followed up on the partner's line, and the follow-up to ask.

    Topic-switching questions first, then introductory ones, then statements that did not
    build on the line. Not the opener (the first reply has little to build on), an ask to
    meet again or an offer: each is a move of its own, not a missed follow-up.
    """
    def candidates(kind: str | None):
        for u in users:
            if not u.context.partner_text or u.feats.is_backchannel or u.feats.is_goodbye:
                continue
            if kind is not None:
                if (u.feats.is_question and u.feats.question_kind == kind and u is not users[0]
                        and not u.feats.is_ask and not u.feats.is_offer
                        and not _close_to_their_line(u, meaning)):
                    yield u
            elif not u.feats.is_question and u.feats.builds_on is None:
                yield u

    for kind in ("topic_switch", "introductory", None):
        for u in candidates(kind):
            suggestion = _follow_up_for(u.context.partner_text, u.context.partner_name)
            if suggestion != "What about you?":
                return u, suggestion
    return None


def _first_name(name: str | None) -> str | None:
    return name.split()[0] if name and name.split() else None


def _lead_in(text: str) -> str:
    """The first sentence worth keeping (4+ words), or the first words of a run-on."""
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        if len(sentence.split()) >= 4:
            return _short(sentence, 14).rstrip(" ,") if sentence[-1:] in ".!?" else \
                _short(sentence, 10).rstrip(" ,.") + "."
    return _short(text, 10).rstrip(" ,.") + "."


def _question_about_them(ctx: TurnContext) -> str:
    return (_follow_up_for(ctx.partner_text, ctx.partner_name) if ctx.partner_text
            else "What about you?")


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _without_fillers(u: _UserTurn, words: int = 18) -> str:
    t = u.turn.text
    for f in sorted(set(u.feats.fillers), key=len, reverse=True):
        if f == "like":
            t = re.sub(r"(?i)(^|[\s,])like,?(?=\s)", r"\1", t)
        else:
            t = re.sub(rf"(?i)\b{re.escape(f)}\b,?\s*", "", t)
    t = re.sub(r"\s{2,}", " ", t).strip(" ,")
    t = re.sub(r"\bi(?=\b|'m\b|'ve\b|'d\b|'ll\b)", "I", t)  # ASR text: "i'm" -> "I'm"
    return _short(_cap(t), words)


def _best_line_for_offer(users: list[_UserTurn]) -> _UserTurn | None:
    # The reply to their last substantial line is where an offer fits best.
    cands = [u for u in users if not u.feats.is_goodbye and u.feats.word_count >= 3]
    return cands[-1] if cands else (users[-1] if users else None)


_OPEN_REWRITES = [
    (re.compile(r"(?i)^(?:so |and |but )?do you (like|enjoy|love|miss) (.+?)[?.!]*$"),
     lambda m: f"What do you {m[1].lower()} most about {m[2]}?"),
    (re.compile(r"(?i)^(?:so |and |but )?(?:was|is) (?:it|that) (\w+)(.*?)[?.!]*$"),
     lambda m: f"What made it {m[1].lower()}{m[2]}?"),
    (re.compile(r"(?i)^(?:so |and |but )?did you (.+?)[?.!]*$"),
     lambda m: f"How did you {m[1]}?"),
    (re.compile(r"(?i)^(?:so |and |but )?have you (?:ever )?(?:been to|tried|done) (.+?)[?.!]*$"),
     lambda m: f"What has your experience of {m[1]} been like?"),
    (re.compile(r"(?i)^(?:so |and |but )?are you (?:here )?(?:with|for) (.+?)[?.!]*$"),
     lambda m: "What brings you here tonight?"),
]


def _open_version(f: UtteranceFeatures) -> str:
    q = f.questions[0] if f.questions else f.text
    q = q.strip()
    for pat, fn in _OPEN_REWRITES:
        mm = pat.match(q)
        if mm:
            return fn(mm)
    return "What's that been like for you?"


_NOT_A_TOPIC = frozenset(re.findall(r"[a-z]+", """tonight today yesterday tomorrow morning
    evening afternoon week weekend weekends month months ages honest rather quite pretty sure
    three four five six seven eight nine twenty thirty hundred thousand first second last next
    these those there here where while thanks thank maybe perhaps probably else before after
    during around again until through without within across still name names thing things
    stuff kind sort idea ideas""" + " ".join(
    _NUMBERS.values())))


def _follow_up_for(partner_text: str, partner_name: str | None = None) -> str:
    """A follow-up built on the partner's last line, naming a detail they gave."""
    sentences = [x for x in re.split(r"(?<=[.!?])\s+", partner_text.strip()) if x]
    statements = [x for x in sentences if not x.rstrip().endswith("?")]
    skip = {w.lower() for w in (partner_name or "").split()}
    for sentence in reversed(statements):
        words = re.findall(r"[A-Za-z][A-Za-z'-]*", sentence)
        content = [w for w in words if w.lower() not in STOPWORDS and len(w) > 3
                   and w.lower() not in skip and w.lower() not in _NOT_A_TOPIC
                   and "'" not in w and not w.lower().endswith("ly")]
        # a name they gave ("a church hall on Harbour Street ..., hence the name"), else the
        # last content word: new information comes last in an English sentence
        names = _proper_names(words[1:], skip)
        if names:
            return f"You mentioned {names[-1]} - what's the story there?"
        if content:
            focus = content[-1]
            focus = focus if focus[:1].isupper() and focus != words[0] else focus.lower()
            return f"You mentioned {focus} - what's the story there?"
    return "What about you?"


def _proper_names(words: list[str], skip: set[str]) -> list[str]:
    """Runs of capitalised words (not the sentence's first, not "I", not the partner's name):
    "Harbour Street", "Yosemite"."""
    names: list[str] = []
    run: list[str] = []
    for w in [*words, ""]:
        if (w[:1].isupper() and w not in ("I", "I'm", "I've", "I'd", "I'll") and "'" not in w
                and w.lower() not in skip and w.lower() not in _NOT_A_TOPIC
                and w.lower() not in STOPWORDS):
            run.append(w)
            continue
        if run:
            names.append(" ".join(run))
            run = []
    return names


def _quote_question(text: str, f: UtteranceFeatures, kind: str | None = None) -> str:
    """The question as the user said it (original case), for quoting in Keep and tips."""
    for q in f.questions:
        words = re.findall(r"[a-z0-9']+", q)
        if not words:
            continue
        pat = r"[\W_]+".join(re.escape(w) for w in words)
        m = re.search(pat + r"\s*\??", text, flags=re.IGNORECASE)
        if m:
            return _short(m.group(0).strip(), 16)
    return _short(text)


def _rise(t: Turn) -> float | None:
    """The pitch rise the practice round measured at the end of a spoken turn, if any."""
    v = (t.meta or {}).get("final_rise_st")
    return float(v) if isinstance(v, (int, float)) else None
