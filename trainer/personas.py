"""Persona files: the strict schema, loading, and validation errors that name file and field.

A persona is data (`personas/*.yaml`): who they are, how their conversation moves from phase to
phase (`transitions` as `{trigger, source, dest, conditions, unless}`), what they can talk about
(topics), the personal details they drop in passing (hooks), and their lines for each reaction.
Unknown keys are refused everywhere (pydantic `extra="forbid"`), and every problem of a file is
reported at once as one `PersonaError` whose `.problems` hold one "FILE: field.path: expected..."
line each. trainer/conversation.py turns a Persona into a running state machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from trainer.analysis import HookCue
from trainer.errors import PersonaError, UsageError
from trainer.paths import personas_dir
from trainer.textsafe import control_chars

# --- the vocabulary the conversation machine understands ---------------------------------------

# Events the conversation fires after each user turn, in this order of precedence:
# silence | goodbye | ask_to_meet | reply, then `stall` (unless the round already ended).
TRIGGERS = ("reply", "silence", "goodbye", "ask_to_meet", "stall")

# Facts a condition may test. Flags describe the user's latest turn; counts the round so far.
FLAG_FACTS = {
    "asked": "the turn holds a question",
    "open_question": "the turn holds an open question",
    "followed_up": "the turn follows up on a hook or on the persona's last line",
    "offered": "the user offered help",
    "asked_to_meet": "the user asked to meet again or swap contacts",
    "said_goodbye": "the user said goodbye",
    "monologue": "the turn was a monologue (long, or cut at the maximum reply length)",
    "silent": "the user said nothing",
    "topic_known": "the question reached one of the persona's topics",
}
COUNT_FACTS = {
    "turns": "user turns so far, this one included",
    "phase_turns": "user turns in the current phase, this one included",
    "questions": "questions the user asked so far",
    "follow_ups": "follow-up questions so far",
    "silences": "silent turns in a row",
    "quiet_turns": "spoken turns in a row without a question",
    "monologues": "monologue turns so far",
    "offers": "offers to help so far",
    "warmth": "the persona's goodwill: starts at `patience`, rises with good questions",
    "hooks_dropped": "hooks the persona mentioned so far",
    "hooks_left": "hooks not mentioned yet",
}
_OPS = ("<=", ">=", "==", "!=", "<", ">")
_COND_RE = re.compile(r"^\s*([a-z_]+)\s*(?:(<=|>=|==|!=|<|>)\s*(-?\d+))?\s*$")

# English voices of espeak-ng (`espeak-ng --voices=en`); pyttsx3 passes the name to espeak-ng,
# which also accepts a variant after "+" (e.g. "en-us+f3" for a female voice).
ESPEAK_ENGLISH = (
    "en", "en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-gb-x-rp",
    "en-029", "en-us-nyc", "en-uk",
)
_VOICE_RE = re.compile(r"^([a-z0-9-]+)(?:\+([A-Za-z0-9_-]+))?$")


@dataclass(frozen=True)
class Condition:
    """One parsed condition: a fact name, and optionally a comparison with a whole number."""

    text: str
    fact: str
    op: str | None = None
    value: int | None = None

    def holds(self, facts: Any) -> bool:
        """Evaluate against an object that has the facts as attributes."""
        got = getattr(facts, self.fact)
        if self.op is None:
            return bool(got)
        v = self.value
        return {
            "<=": got <= v, ">=": got >= v, "==": got == v,
            "!=": got != v, "<": got < v, ">": got > v,
        }[self.op]



def ask_key(ask: str) -> str:
    """A way of asking, as compared for duplicates: lower-case words only."""
    return " ".join(re.findall(r"[a-z0-9']+", ask.lower()))

def parse_condition(text: str) -> Condition:
    """Parse "asked", "turns>=6" or "warmth <= 0"; raises ValueError saying what was expected."""
    m = _COND_RE.match(text) if isinstance(text, str) else None
    if not m:
        raise ValueError(
            f"expected FACT or FACT<op>NUMBER (op one of {' '.join(_OPS)}), got {text!r}")
    fact, op, value = m.group(1), m.group(2), m.group(3)
    if fact not in FLAG_FACTS and fact not in COUNT_FACTS:
        known = ", ".join([*FLAG_FACTS, *COUNT_FACTS])
        raise ValueError(f"unknown fact {fact!r}; expected one of {known}")
    if op is not None and fact not in COUNT_FACTS:
        raise ValueError(f"{fact!r} cannot be compared; expected a count: {', '.join(COUNT_FACTS)}")
    return Condition(text=text.strip(), fact=fact, op=op, value=int(value) if value else None)


# --- the schema -------------------------------------------------------------------------------

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Ident = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64)]
Cue = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9' -]*$")]
Lines = Annotated[list[Text], Field(min_length=1)]


class _Strict(BaseModel):
    # strict: YAML "yes" stays a string, 5 is not a name; forbid: a typo'd key is an error.
    model_config = ConfigDict(extra="forbid", strict=True)


_PIPER_VOICE_RE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}-[A-Za-z0-9_]+-(x_low|low|medium|high)$")


class Voice(_Strict):
    """How the persona sounds, and how fast it speaks.

    `engine: piper` speaks with the neural voice `piper_voice` (a piper voice name such as
    en_US-joe-medium, shipped in a package; `speaker` picks one of a multi-speaker model's
    voices). `id` is always the espeak-ng voice (pyttsx3): the engine when `engine: espeak`
    (the default, so older files keep their voice), the fallback when the neural voice is not
    installed, and the voice of `--voice espeak`. `rate_wpm` holds for both engines.
    """

    id: str
    rate_wpm: Annotated[int, Field(ge=80, le=300)] = 165
    engine: Literal["espeak", "piper"] = "espeak"
    piper_voice: Annotated[str, Field(pattern=_PIPER_VOICE_RE.pattern)] | None = None
    speaker: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _piper_fields_go_together(self) -> Voice:
        if self.engine == "piper" and self.piper_voice is None:
            raise PydanticCustomError("voice", "engine: piper needs piper_voice (e.g. "
                                      "en_US-joe-medium)")
        if self.speaker is not None and self.piper_voice is None:
            raise PydanticCustomError("voice", "speaker is a piper voice's speaker id; it "
                                      "needs piper_voice")
        return self


class Briefing(_Strict):
    """What the user reads before the round."""

    who: Text  # who you meet
    where: Text  # where you meet them
    goal: Text  # one goal for this round
    opener_tip: Text  # how to start


class _Said(_Strict):
    """Base of a spoken line object: compares equal to its text, so `text in answers` works."""

    text: Text

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return self.text == other
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash(self.text)


def _as_said(value: Any) -> Any:
    # A plain string is the short form of a line object: {text: STRING}.
    return {"text": value} if isinstance(value, str) else value


class FollowUp(_Said):
    """A detail of an answer for the listener's next question ("why Tuesdays?")."""

    asks: Lines  # ways a listener asks for this detail right after the answer
    hooks: list[Ident] = []  # hooks whose content this line says
    subject: str | None = None  # what "it/that" refer to after this line


class Answer(_Said):
    """One answer of a topic (or a hook's warm answer), with what it is best at answering."""

    asks: list[Text] = []  # questions this particular answer fits best
    subject: str | None = None  # what "it/that/there" refer to right after this answer
    hooks: list[Ident] = []  # hooks whose content this answer says (they count as dropped)
    follow_ups: list[FollowUp] = []  # details for follow-up questions on this answer


AnswerItem = Annotated[Answer, BeforeValidator(_as_said)]
AnswerLines = Annotated[list[AnswerItem], Field(min_length=1)]


class Prompt(_Said):
    """A line that hands the conversation back; `own` is the persona's own answer to it."""

    own: str | None = None  # what the persona says to "...and you?" after this question


PromptItem = Annotated[Prompt, BeforeValidator(_as_said)]


class Phase(_Strict):
    """A state of the conversation machine."""

    id: Ident
    final: bool = False  # the round ends when the machine enters a final phase
    prompts: list[PromptItem] = []  # what the persona says to hand the conversation back
    hooks: list[Ident] = []  # hooks the persona may drop in passing in this phase
    mirror_topic: Ident | None = None  # the topic "and you?" gets after this phase's prompt


_SOURCE_RE = re.compile(r"^(\*|[a-z][a-z0-9_-]*)$")


def _check_source(value: Any) -> str | list[str]:
    # One clear message instead of one per alternative of a union.
    items = [value] if isinstance(value, str) else value
    if not (isinstance(items, list) and items
            and all(isinstance(s, str) and _SOURCE_RE.match(s) for s in items)):
        raise PydanticCustomError("source", "expected a phase id, '*', or a list of phase ids")
    return value


class Transition(_Strict):
    """A `transitions` edge: on TRIGGER in SOURCE, go to DEST if all conditions hold."""

    trigger: Literal["reply", "silence", "goodbye", "ask_to_meet", "stall"]
    source: Annotated[str | list[str], PlainValidator(_check_source)]  # phase id(s) or "*"
    dest: Ident
    conditions: list[str] = []
    unless: list[str] = []

    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)


class Topic(_Strict):
    """Something the user can ask about: the ways people ask, and several answers.

    `kind`: "answer" (the persona answers), "personal" (would rather not say: the answers are
    polite dodges), "unsure" (a detail outside the persona's world: honest "I'd be guessing").
    """

    id: Ident
    kind: Literal["answer", "personal", "unsure"] = "answer"
    covers: list[Ident] = []  # standard topics this one is (e.g. her_path covers path)
    asks: Lines  # paraphrases: ways people ask this
    answers: AnswerLines  # full answers, the one that fits the question best is chosen
    short_answers: list[Text] = []  # for closed questions to a persona who wants open ones
    hook: Ident | None = None  # a hook this answer leads into (mentioned right after)


class Fact(_Strict):
    """One fact of the persona's story, stated once; every line must agree with it."""

    id: Ident
    value: int | Text  # a count or year (int), or a name
    unit: str | None = None  # numbers: the word right after the number ("six years")
    near: Annotated[list[Text], Field(min_length=1)]  # words saying what the fact is about
    note: str = ""  # for authors: the fact in a sentence


class Recall(_Strict):
    """A listening check after the round."""

    question: Text  # "What is Dana's puppy called?"
    answers: Annotated[list[Cue], Field(min_length=1)]  # accepted answers, lowercase


class Hook(_Strict):
    """A personal detail the persona drops in passing, and the reward for following it up."""

    id: Ident
    label: Text  # short name for reports: "rescue puppy Biscuit"
    mentions: Lines  # lines that drop the detail
    cues: Annotated[list[Cue], Field(min_length=1)]  # words that show the user took it up
    asks: list[Text] = []  # direct ways to ask about it (before or after it was mentioned)
    warm_answers: AnswerLines  # warmer, more open answers when the user follows up
    suggestion: Text  # a better line the user could have said
    recall: Recall


class Reactions(_Strict):
    """Lines for the persona's reactions to how the user behaves."""

    acknowledge: Lines  # to a plain statement ("Oh, nice.")
    echo: list[Text] = []  # to a statement, using its key phrase: "Oh, {echo}! Nice."
    sympathy: list[Text] = []  # to bad news ("I got laid off"): never "Oh, very cool."
    introduced: list[Text] = []  # to a self-introduction ("Nice to meet you!")
    monologue: Lines  # short and cool, after a long turn
    never_asks: Lines  # nudge when the user only answers and never asks
    silence_prompt: Lines  # first silence: a gentle prompt
    silence_move_on: Lines  # silence again: the persona moves on by itself
    follow_up: Lines  # warmth when the user follows up on a hook
    offer: Lines  # gratitude for an offer to help
    ask_to_meet: Lines  # the answer to "can we meet / swap contacts" (card, email, coffee)
    early_ask: list[Text] = []  # when an ask comes too early and the machine does not close
    interrupted: list[Text] = []  # when the user talks over the persona


class Closings(_Strict):
    """How the persona ends the conversation, by reason."""

    natural: Lines  # the conversation ran its course
    after_ask: Lines  # after answering an ask to meet
    goodbye: Lines  # the user said goodbye
    stall: Lines  # the persona ends it because it stalled


class Persona(_Strict):
    """A persona script. Load with `load_persona`; run with `trainer.conversation.Conversation`."""

    id: Ident
    name: Text
    role: Text
    setting: Text
    difficulty: Literal["easy", "medium", "hard"]
    voice: Voice
    briefing: Briefing
    patience: Annotated[int, Field(ge=1, le=20)] = 5  # starting warmth; 0 means stalled
    open_questions_only: bool = False  # closed questions get short answers
    opener: Annotated[list[PromptItem], Field(min_length=1)]
    initial: Ident
    phases: Annotated[list[Phase], Field(min_length=2)]
    transitions: Annotated[list[Transition], Field(min_length=1)]
    topics: Annotated[list[Topic], Field(min_length=1)]
    hooks: Annotated[list[Hook], Field(min_length=1)]
    reactions: Reactions
    deflections: Lines  # nothing matched: steer back (never a claim of not knowing)
    closings: Closings
    facts: list[Fact] = []  # the story's numbers and names, each once (checked against lines)
    names: list[Text] = []  # other proper names the lines may use (places, brands, people)

    _path: Path | None = PrivateAttr(default=None)
    _cache: dict = PrivateAttr(default_factory=dict)  # derived data (e.g. the topic router)

    @property
    def path(self) -> Path | None:
        """The file this persona was loaded from, if any."""
        return self._path

    @property
    def first_name(self) -> str:
        return self.name.split()[0]

    def hook(self, hook_id: str) -> Hook:
        """The hook with this id (KeyError if none)."""
        for h in self.hooks:
            if h.id == hook_id:
                return h
        raise KeyError(hook_id)

    def topic(self, topic_id: str) -> Topic:
        """The topic with this id, or the one that covers it (KeyError if none)."""
        for t in self.topics:
            if t.id == topic_id:
                return t
        for t in self.topics:
            if topic_id in t.covers:
                return t
        raise KeyError(topic_id)

    def topic_ids(self) -> set[str]:
        """Every topic id, and the standard topics they cover."""
        return {t.id for t in self.topics} | {c for t in self.topics for c in t.covers}

    def phase(self, phase_id: str) -> Phase:
        """The phase with this id (KeyError if none)."""
        for p in self.phases:
            if p.id == phase_id:
                return p
        raise KeyError(phase_id)

    def hook_cues(self) -> tuple[HookCue, ...]:
        """Every hook as the analysis sees it (id, cues, label, suggestion)."""
        return tuple(
            HookCue(id=h.id, cues=tuple(h.cues), label=h.label, suggestion=h.suggestion,
                    texts=tuple(h.mentions))  # what the hook says, for matching by meaning
            for h in self.hooks
        )

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary (for `trainer personas --json`)."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "setting": self.setting,
            "difficulty": self.difficulty,
            "voice": self.voice.model_dump(),
            "briefing": self.briefing.model_dump(),
            "topics": [t.id for t in self.topics],
            "hooks": [h.id for h in self.hooks],
            "path": str(self._path) if self._path else None,
        }


# --- cross-references -------------------------------------------------------------------------


def _cross_problems(p: Persona) -> list[tuple[str, str]]:
    """What the schema cannot see: ids that must exist, be unique, be reachable. (path, msg)"""
    out: list[tuple[str, str]] = []

    m = _VOICE_RE.match(p.voice.id)
    if not m or m.group(1) not in ESPEAK_ENGLISH:
        out.append(("voice.id", f"expected an espeak-ng English voice "
                    f"({', '.join(ESPEAK_ENGLISH)}), optionally with a variant like '+f3';"
                    f" got {p.voice.id!r}"))

    for name, items in (("phases", p.phases), ("topics", p.topics), ("hooks", p.hooks)):
        seen: dict[str, int] = {}
        for i, it in enumerate(items):
            if it.id in seen:
                out.append((f"{name}[{i}].id", f"expected a unique id; {it.id!r} is also "
                            f"{name}[{seen[it.id]}]"))
            seen.setdefault(it.id, i)

    phase_ids = [ph.id for ph in p.phases]
    finals = {ph.id for ph in p.phases if ph.final}
    hook_ids = {h.id for h in p.hooks}
    phases_txt = ", ".join(phase_ids)
    if p.initial not in phase_ids:
        out.append(("initial", f"expected one of the phases ({phases_txt}), got {p.initial!r}"))
    elif p.initial in finals:
        out.append(("initial", "expected a phase that is not final"))
    if not finals:
        out.append(("phases", "expected at least one phase with `final: true`"))

    for i, ph in enumerate(p.phases):
        if not ph.final and not ph.prompts:
            out.append((f"phases[{i}].prompts", "expected at least one line (a phase that is "
                        "not final needs a way to hand the conversation back)"))
        if ph.final and (ph.prompts or ph.hooks):
            out.append((f"phases[{i}]", "expected no prompts or hooks in a final phase "
                        "(closing lines live under `closings`)"))
        if ph.mirror_topic is not None and ph.mirror_topic not in {t.id for t in p.topics}:
            out.append((f"phases[{i}].mirror_topic", f"expected a topic id "
                        f"({', '.join(t.id for t in p.topics)}), got {ph.mirror_topic!r}"))
        for j, hid in enumerate(ph.hooks):
            if hid not in hook_ids:
                out.append((f"phases[{i}].hooks[{j}]",
                            f"expected a hook id ({', '.join(sorted(hook_ids))}), got {hid!r}"))

    edges: dict[str, set[str]] = {ph: set() for ph in phase_ids}
    for i, t in enumerate(p.transitions):
        srcs = t.sources()
        if srcs != ["*"]:
            for j, s in enumerate(srcs):
                if s not in phase_ids:
                    where = f"transitions[{i}].source"
                    if isinstance(t.source, list):
                        where += f"[{j}]"
                    out.append((where, f"expected a phase id ({phases_txt}) or '*', got {s!r}"))
        if t.dest not in phase_ids:
            out.append((f"transitions[{i}].dest",
                        f"expected a phase id ({phases_txt}), got {t.dest!r}"))
        for key in ("conditions", "unless"):
            for j, c in enumerate(getattr(t, key)):
                try:
                    parse_condition(c)
                except ValueError as exc:
                    out.append((f"transitions[{i}].{key}[{j}]", str(exc)))
        for s in (phase_ids if srcs == ["*"] else srcs):
            if s in edges and t.dest in edges:
                edges[s].add(t.dest)

    # Every phase must be reachable, and a final phase reachable from every phase.
    if p.initial in edges and finals:
        reach = _reachable(edges, p.initial)
        for i, ph in enumerate(p.phases):
            if ph.id not in reach:
                out.append((f"phases[{i}]", f"expected a transition path from {p.initial!r} to "
                            f"{ph.id!r}; the phase can never be reached"))
            elif not ph.final and not (_reachable(edges, ph.id) & finals):
                out.append((f"phases[{i}]", f"expected a transition path from {ph.id!r} to a "
                            "final phase; the round could never end"))

    dropped = {hid for ph in p.phases for hid in ph.hooks}
    for i, t in enumerate(p.topics):
        if t.hook is not None:
            if t.hook not in hook_ids:
                out.append((f"topics[{i}].hook", f"expected a hook id, got {t.hook!r}"))
            dropped.add(t.hook)
        if p.open_questions_only and not t.short_answers:
            out.append((f"topics[{i}].short_answers", "expected at least one line "
                        "(open_questions_only: closed questions get a short answer)"))
    for i, h in enumerate(p.hooks):
        if h.id not in dropped:
            out.append((f"hooks[{i}]", f"expected hook {h.id!r} under some phase's `hooks` or a "
                        "topic's `hook`; otherwise it is never mentioned"))

    asked: dict[str, str] = {}
    for i, t in enumerate(p.topics):
        for j, a in enumerate(t.asks):
            key = ask_key(a)
            if key in asked and asked[key] != t.id:
                out.append((f"topics[{i}].asks[{j}]", f"expected each way of asking to belong to "
                            f"one topic; {a!r} is also under {asked[key]!r}"))
            asked.setdefault(key, t.id)
    for i, h in enumerate(p.hooks):  # a hook's direct asks are its own, not a topic's too
        for j, a in enumerate(h.asks):
            key = ask_key(a)
            if key in asked:
                out.append((f"hooks[{i}].asks[{j}]", f"expected each way of asking to belong to "
                            f"one place; {a!r} is also under topic {asked[key]!r}"))

    topic_ids = {t.id for t in p.topics}
    covered: dict[str, str] = {}
    for i, t in enumerate(p.topics):
        for j, c in enumerate(t.covers):
            if c in topic_ids:
                out.append((f"topics[{i}].covers[{j}]", f"expected a subject no other topic "
                            f"has; {c!r} is a topic of its own (fold one into the other)"))
            elif c in covered:
                out.append((f"topics[{i}].covers[{j}]", f"expected {c!r} to be covered once; "
                            f"{covered[c]!r} covers it too"))
            covered.setdefault(c, t.id)

    def hook_refs(where: str, ids: Sequence[str]) -> None:
        for j, hid in enumerate(ids):
            if hid not in hook_ids:
                out.append((f"{where}.hooks[{j}]",
                            f"expected a hook id ({', '.join(sorted(hook_ids))}), got {hid!r}"))

    for i, t in enumerate(p.topics):
        for j, a in enumerate(t.answers):
            hook_refs(f"topics[{i}].answers[{j}]", a.hooks)
            for k, fu in enumerate(a.follow_ups):
                hook_refs(f"topics[{i}].answers[{j}].follow_ups[{k}]", fu.hooks)
    for i, h in enumerate(p.hooks):
        for j, a in enumerate(h.warm_answers):
            hook_refs(f"hooks[{i}].warm_answers[{j}]", a.hooks)
    for j, line in enumerate(p.deflections):
        m = _IGNORANCE_RE.search(line)
        if m:
            out.append((f"deflections[{j}]", "expected a steer-back that does not claim "
                        f"ignorance (a persona knows its own world), got {m.group(0)!r}"))
    for j, line in enumerate(p.reactions.echo):
        if "{echo}" not in line:
            out.append((f"reactions.echo[{j}]", "expected the placeholder {echo} (the key "
                        "phrase of the user's statement)"))
    seen_facts: dict[str, int] = {}
    for i, f in enumerate(p.facts):
        if f.id in seen_facts:
            out.append((f"facts[{i}].id", f"expected a unique id; {f.id!r} is also "
                        f"facts[{seen_facts[f.id]}]"))
        seen_facts.setdefault(f.id, i)
        if f.unit is not None and not isinstance(f.value, int):
            out.append((f"facts[{i}].unit", "expected no unit on a name fact"))
    out.extend(fact_problems(p))
    return out


# --- one consistent story: lines checked against the facts -------------------------------------

_NUM_WORDS = {w: i for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"])}
_NUM_WORDS.update({w: 10 * (i + 2) for i, w in enumerate(
    ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])})
_ORDINALS = {w: i + 1 for i, w in enumerate(
    ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth", "eighteenth", "nineteenth", "twentieth"])}
_ORDINALS["thirtieth"] = 30
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_DOZEN = {"dozen": 12}
_ALWAYS_CAPITAL = set(
    ["I", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December", "Christmas", "Easter", "English", "OK"])
_WORD_RE = re.compile(r"[A-Za-z0-9']+(?:-[A-Za-z0-9']+)*")
_SENT_RE = re.compile(r"(?<=[.!?])\s+")


def _number_at(words: list[str], i: int) -> tuple[int, int] | None:
    """(value, words used) of a number starting at words[i]: "12", "twelve", "forty-five"..."""
    w = words[i].lower()
    m = re.fullmatch(r"(\d+)(?:st|nd|rd|th|s)?", w.replace(",", ""))
    if m:
        return int(m.group(1)), 1
    parts = w.split("-")
    if w in _ORDINALS:
        return _ORDINALS[w], 1
    if len(parts) == 2 and parts[0] in _NUM_WORDS and (parts[1] in _NUM_WORDS
                                                      or parts[1] in _ORDINALS):
        return _NUM_WORDS[parts[0]] + _NUM_WORDS.get(parts[1], _ORDINALS.get(parts[1], 0)), 1
    if w in _DOZEN:
        return 12, 1
    if w not in _NUM_WORDS and not (w == "a" and i + 1 < len(words)
                                    and words[i + 1].lower() in (*_SCALES, *_DOZEN)):
        return None
    total, current, j = 0, 0, i
    while j < len(words):
        t = words[j].lower()
        tp = t.split("-")
        if t == "a" and j == i:
            current = 1
        elif t in _NUM_WORDS:
            current += _NUM_WORDS[t]
        elif len(tp) == 2 and tp[0] in _NUM_WORDS and tp[1] in _NUM_WORDS:
            current += _NUM_WORDS[tp[0]] + _NUM_WORDS[tp[1]]
        elif t in _SCALES:
            if _SCALES[t] == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * _SCALES[t]
                current = 0
        elif t in _DOZEN:
            current = max(current, 1) * 12
        elif t == "and" and j > i and j + 1 < len(words) and words[j + 1].lower() in _NUM_WORDS:
            pass  # "two hundred and fifty"
        else:
            break
        j += 1
    return total + current, j - i


def _near_at(words_lower: list[str], near: Sequence[str]) -> list[int]:
    out = []
    for k, w in enumerate(words_lower):
        for n in near:
            n = n.lower()
            if w == n or (len(n) >= 4 and w.startswith(n)):
                out.append(k)
                break
    return out


def _unit_follows(words_lower: list[str], i: int, used: int, unit: str) -> bool:
    unit = unit.lower()
    for k in range(i + used, min(len(words_lower), i + used + 2)):
        w = words_lower[k]
        if w == unit or w.rstrip("s") == unit.rstrip("s"):
            return True
    return False


def iter_lines(p: Persona) -> Iterable[tuple[str, str]]:
    """Every line of the persona file with its field path, for checks that read them all."""
    for k in ("who", "where", "goal", "opener_tip"):
        yield f"briefing.{k}", getattr(p.briefing, k)
    for i, o in enumerate(p.opener):
        yield f"opener[{i}]", o.text
        if o.own:
            yield f"opener[{i}].own", o.own
    for i, ph in enumerate(p.phases):
        for j, pr in enumerate(ph.prompts):
            yield f"phases[{i}].prompts[{j}]", pr.text
            if pr.own:
                yield f"phases[{i}].prompts[{j}].own", pr.own
    for i, t in enumerate(p.topics):
        for j, a in enumerate(t.answers):
            yield f"topics[{i}].answers[{j}]", a.text
            for k, fu in enumerate(a.follow_ups):
                yield f"topics[{i}].answers[{j}].follow_ups[{k}]", fu.text
        for j, a in enumerate(t.short_answers):
            yield f"topics[{i}].short_answers[{j}]", a
    for i, h in enumerate(p.hooks):
        for j, m in enumerate(h.mentions):
            yield f"hooks[{i}].mentions[{j}]", m
        for j, a in enumerate(h.warm_answers):
            yield f"hooks[{i}].warm_answers[{j}]", a.text
            for k, fu in enumerate(a.follow_ups):
                yield f"hooks[{i}].warm_answers[{j}].follow_ups[{k}]", fu.text
    for name in Reactions.model_fields:
        for j, line in enumerate(getattr(p.reactions, name)):
            yield f"reactions.{name}[{j}]", line
    for j, line in enumerate(p.deflections):
        yield f"deflections[{j}]", line
    for name in Closings.model_fields:
        for j, line in enumerate(getattr(p.closings, name)):
            yield f"closings.{name}[{j}]", line


def fact_problems(p: Persona) -> list[tuple[str, str]]:
    """Lines whose numbers or names contradict the persona's facts: (field path, message).

    A number (digits or words) followed within two words by a fact's `unit` and within six
    words of one of its `near` words must equal its value - unless it equals the value of
    another fact that is near too ("here four years ... before that a teacher"). A capitalised
    word right next to a name fact's `near` word must be a known name.
    """
    if not p.facts:
        return []
    nums = [f for f in p.facts if isinstance(f.value, int)]
    names = [f for f in p.facts if isinstance(f.value, str)]
    known = {w.lower() for f in names for w in _WORD_RE.findall(f.value)}
    known |= {w.lower() for n in p.names for w in _WORD_RE.findall(n)}
    known |= {w.lower() for w in _WORD_RE.findall(f"{p.name} {p.role} {p.setting}")}
    out: list[tuple[str, str]] = []
    for path, text in iter_lines(p):
        for words, low, numbers in _sentence_numbers(text):
            for i, value, used in numbers:
                # "first year" is not a count of years: ordinals only meet facts without a unit
                ordinal = low[i] in _ORDINALS or bool(re.fullmatch(r"\d+(?:st|nd|rd|th)", low[i]))
                cands = []
                for f in nums:
                    if f.unit and (ordinal or not _unit_follows(low, i, used, f.unit)):
                        continue
                    dist = [abs(k - i) for k in _near_at(low, f.near)]
                    if dist and min(dist) <= 6:
                        cands.append((min(dist), f))
                if cands and value not in {f.value for _, f in cands}:
                    _, f = min(cands, key=lambda c: c[0])
                    shown = " ".join(words[i:i + used])
                    out.append((path, f"expected {f.value}{' ' + f.unit if f.unit else ''} "
                                f"(fact {f.id}), the line says {shown!r}"))
            for f in names:
                for k in _near_at(low, f.near):
                    for m in range(max(1, k - 2), min(len(words), k + 3)):
                        w = words[m]
                        if (m != k and w[:1].isupper() and w not in _ALWAYS_CAPITAL
                                and not w.startswith("I'") and w.lower() not in known):
                            out.append((path, f"expected {f.value} (fact {f.id}) or a name "
                                        f"listed under `names`, the line says {w!r}"))
    return list(dict.fromkeys(out))


def facts_stated(p: Persona, text: str) -> set[str]:
    """Ids of the number facts `text` states ("thirty jars of honey last summer" ->
    {"honey_jars"}), by the rule `fact_problems` checks them with: the fact's value before its
    unit, within six words of one of its `near` words."""
    out: set[str] = set()
    nums = [f for f in p.facts if isinstance(f.value, int) and f.unit]
    if not nums:
        return out
    for _words, low, numbers in _sentence_numbers(text):
        for i, value, used in numbers:
            for f in nums:
                if f.value == value and _unit_follows(low, i, used, f.unit) and any(
                        abs(k - i) <= 6 for k in _near_at(low, f.near)):
                    out.add(f.id)
    return out


def _sentence_numbers(text: str):
    """Per sentence of `text`: (its words, the same lower-cased, [(index, value, words used)]
    for each number said in it, digits or words)."""
    for sentence in _SENT_RE.split(text):
        words = _WORD_RE.findall(sentence)
        numbers = []
        i = 0
        while i < len(words):
            got = _number_at(words, i)
            if got is None:
                i += 1
                continue
            numbers.append((i, *got))
            i += got[1]
        yield words, [w.lower() for w in words], numbers


# Steer-back lines must not claim ignorance of the persona's own world (issue 12).
_IGNORANCE_RE = re.compile(
    r"\b(?:i (?:honestly |really |just )?(?:do not|don't|dont) know|no idea|not sure|"
    r"have to check|stumped|above my pay grade|beats me|i wouldn't know|couldn't tell you|"
    r"only be guessing|i'?d be guessing)\b", re.IGNORECASE)


def _reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


# --- loading ----------------------------------------------------------------------------------


# libyaml's parser when PyYAML was built with it (4x faster); same safe constructors.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_BaseLoader):
    """A safe loader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                dup = key in seen
                seen.add(key)
            except TypeError:
                continue  # unhashable keys are reported by the base class
            if dup:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


# Bounds against hostile files (issue 14): a persona is a few KB and a few hundred values; a
# few-KB YAML alias bomb expands to hundreds of millions (minutes and GBs in validation).
MAX_PERSONA_BYTES = 1024 * 1024
MAX_YAML_VALUES = 50_000


class _TooBig(Exception):
    """The YAML expands to more values than any persona has (or contains itself)."""


def _load_yaml(text: str) -> Any:
    """yaml.load with the document's size after alias expansion checked before it is built."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _check_expanded_size(root: yaml.Node) -> None:
    """Count the values the node graph stands for, aliases expanded (each node sized once)."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            if size[key] > MAX_YAML_VALUES:
                raise _TooBig(f"expected at most {MAX_YAML_VALUES} values with YAML aliases "
                              "expanded (an alias bomb?)")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise _TooBig("expected YAML without an alias to a value that contains it")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _control_problems(data: Any) -> list[tuple[str, str]]:
    """(field path, problem) for each text holding terminal control characters (ESC, BEL...).

    Persona text is printed in the terminal; an escape sequence there could clear the screen,
    retitle the window or write the clipboard, so a file carrying one is invalid (issue 14).
    """
    out: list[tuple[str, str]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    seen: set[int] = set()  # each list/dict once (shared by aliases, or data with a cycle)
    while stack and len(out) < 20:
        value, loc = stack.pop()
        if isinstance(value, (dict, list)):
            if id(value) in seen:
                continue
            seen.add(id(value))
        if isinstance(value, str):
            bad = control_chars(value)
            if bad:
                out.append((_loc_text(loc), "expected text without control characters, got "
                            + ", ".join(bad)))
        elif isinstance(value, dict):
            for k, v in reversed(list(value.items())):
                if isinstance(k, str) and control_chars(k):
                    out.append((_loc_text((*loc, k)), "expected a key without control "
                                "characters, got " + ", ".join(control_chars(k))))
                stack.append((v, (*loc, k)))
        elif isinstance(value, list):
            stack.extend((v, (*loc, i)) for i, v in reversed(list(enumerate(value))))
    return out


def _yaml_problem(exc: BaseException) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or (str(exc).strip().splitlines() or ["?"])[0]
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: expected valid YAML ({problem})"
    return f"expected valid YAML ({problem})"


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _loc_text(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.match(part):
            out += ("." if out else "") + part
        else:  # a key with spaces, newlines or quotes: shown as Python would, on one line
            out += f"[{_short(part)}]"
    return out or "(top level)"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fields_at(loc: Sequence[Any]) -> list[str] | None:
    """The allowed keys of the model at `loc` (the parent of an unknown key), if a model."""
    tp: Any = Persona
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if part not in tp.model_fields:
                return None
            tp = tp.model_fields[part].annotation
        elif get_origin(tp) is list and isinstance(part, int):
            tp = get_args(tp)[0]
        else:
            return None
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return None


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _pydantic_problem(err: dict[str, Any]) -> tuple[str, str]:
    loc = list(err.get("loc", ()))
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid"))
    if kind == "extra_forbidden":
        allowed = _fields_at(loc[:-1])
        hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
        return _loc_text(loc), f"unknown field{hint}"
    if kind == "missing":
        return _loc_text(loc), "expected this field (it is required)"
    if msg.startswith("Input should be "):
        msg = "expected " + msg[len("Input should be "):]
    elif msg.startswith(("String should", "List should", "Value should")):
        msg = "expected a value that should" + msg.split("should", 1)[1]
    if "input" in err and kind not in ("missing",):
        msg += f", got {_short(err['input'])}"
    return _loc_text(loc), msg


def parse_persona(text: str | bytes, source: str = "<text>") -> Persona:
    """Validate persona YAML; one PersonaError lists every problem ("SOURCE: path: ...")."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _error(source, [f"{source}: byte {exc.start}: expected UTF-8 text"]) from None
    if len(text) > MAX_PERSONA_BYTES:
        raise _error(source, [f"{source}: (top level): expected a persona file of at most "
                              f"{MAX_PERSONA_BYTES // 1024} KB; this one is larger"])
    try:
        data = _load_yaml(text)  # a SafeLoader subclass, aliases bounded
    except yaml.YAMLError as exc:
        raise _error(source, [f"{source}: {_yaml_problem(exc)}"]) from None
    except _TooBig as exc:
        raise _error(source, [f"{source}: (top level): {exc}"]) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # PyYAML's constructors raise these for e.g. "2021-02-30" (not a date) or deep nesting.
        raise _error(source, [f"{source}: expected valid YAML ({type(exc).__name__}: "
                              f"{str(exc)[:80]})"]) from None
    return validate_persona(data, source)


def validate_persona(data: Any, source: str = "<data>") -> Persona:
    """Validate already-parsed data (a dict) into a Persona, with the same error format."""
    if not isinstance(data, dict):
        got = "an empty file" if data is None else type(data).__name__
        raise _error(source, [f"{source}: (top level): expected a mapping of persona fields, "
                              f"got {got}"])
    unsafe = [f"{source}: {path}: {msg}" for path, msg in _control_problems(data)]
    try:
        persona = Persona.model_validate(data)
    except ValidationError as exc:
        lines = unsafe
        for err in exc.errors(include_url=False):
            path, msg = _pydantic_problem(err)
            lines.append(f"{source}: {path}: {msg}")
        raise _error(source, _dedupe(lines)) from None
    except RecursionError:
        raise _error(source, [f"{source}: (top level): expected a persona, got data nested too "
                              "deeply"]) from None
    cross = unsafe + [f"{source}: {path}: {msg}" for path, msg in _cross_problems(persona)]
    if cross:
        raise _error(source, cross)
    return persona


def _dedupe(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _error(source: str, problems: list[str]) -> PersonaError:
    # One line per problem whatever the input held (a key or a value with a newline).
    problems = [p.replace("\r", " ").replace("\n", " ") for p in problems]
    n = len(problems)
    return PersonaError(
        f"invalid persona file {source} ({n} problem{'s' if n != 1 else ''})",
        problems=problems,
        hint="fix the lines above; `trainer persona check FILE` re-checks",
    )


def load_file(path: str | Path) -> Persona:
    """Load and validate one persona file."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_PERSONA_BYTES + 1)  # bounded: /dev/zero never ends
    except FileNotFoundError:
        raise _error(str(path), [f"{path}: expected an existing file"]) from None
    except IsADirectoryError:
        raise _error(str(path), [f"{path}: expected a file, got a folder"]) from None
    except OSError as exc:
        raise _error(str(path), [f"{path}: expected a readable file ({exc.strerror})"]) from None
    persona = parse_persona(raw, str(path))
    persona._path = path
    return persona


def list_personas(folder: str | Path | None = None) -> list[Persona]:
    """Every persona in the shipped folder (or `folder`), sorted by difficulty then id."""
    folder = Path(folder) if folder else personas_dir()
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    personas = []
    problems: list[str] = []
    for f in files:
        try:
            personas.append(load_file(f))
        except PersonaError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PersonaError(f"invalid persona files in {folder}", problems=problems,
                           hint="`trainer persona check FILE` shows each problem")
    order = {"easy": 0, "medium": 1, "hard": 2}
    return sorted(personas, key=lambda p: (order[p.difficulty], p.id))


def load_persona(id_or_path: str | Path) -> Persona:
    """A shipped persona by id (e.g. "dana"), or any persona file by path."""
    text = str(id_or_path)
    path = Path(text)
    if isinstance(id_or_path, Path) or path.suffix in (".yaml", ".yml") or "/" in text \
            or path.is_file():
        return load_file(path)
    folder = personas_dir()
    for ext in (".yaml", ".yml"):
        candidate = folder / f"{text}{ext}"
        if candidate.exists():
            persona = load_file(candidate)
            if persona.id == text:
                return persona
    for persona in list_personas(folder):
        if persona.id == text:
            return persona
    known = ", ".join(p.id for p in list_personas(folder))
    raise UsageError(f"no persona with id {text!r}", hint=f"known personas: {known}")


def check_files(paths: Iterable[str | Path]) -> list[str]:
    """Validate persona files; one problem line per problem (empty when all are valid)."""
    problems: list[str] = []
    ids: dict[str, str] = {}
    for p in paths:
        try:
            persona = load_file(p)
        except PersonaError as exc:
            problems.extend(exc.problems)
            continue
        if persona.id in ids:
            problems.append(f"{p}: id: expected an id unique among the files checked; "
                            f"{persona.id!r} is also in {ids[persona.id]}")
        ids.setdefault(persona.id, str(p))
    return problems
