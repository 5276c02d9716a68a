"""The role-play state machine: what the persona says next, given what the user just said.

Pure: text in, lines out (no audio, no model). The phases and `{trigger, source, dest,
conditions, unless}` edges come from the persona file and are built into a `transitions`
Machine whose model is `_Facts`, a plain object holding what the file's conditions read
(`asked`, `turns>=6`, `warmth<=0`...). After each user turn the conversation:

1. labels the turn with `trainer.analysis.analyze_utterance` (question? follow-up of a hook?
   offer? ask to meet? goodbye?) and updates the facts (warmth rises with good questions and
   falls with monologues, silences and turns that never ask);
2. fires the turn's event - `silence`, `ask_to_meet`, `goodbye` or `reply` - and `stall`
   (user-ended rounds first, otherwise the stall check first); the file's edges decide
   whether the phase changes or the round closes;
3. composes the persona's lines from the facts: a reaction (cool after a monologue, gratitude
   for an offer, warmth for a follow-up), the content (a topic's answer, a hook's warm answer,
   a deflection), maybe a hook dropped in passing, and a hand-back (a phase prompt or a nudge
   to ask something). Lines are chosen with a seeded `random.Random` and not repeated.

`trainer.routing.route_topic` maps a question (punctuated or not) onto one of the persona's
topics; hook follow-ups come from the analysis (one rule, shared with the scorecard).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from transitions import Machine, State

from trainer.analysis import (
    TurnContext,
    UtteranceFeatures,
    analyze_utterance,
    hooks_named,
    hooks_said,
    named_hooks_taken,
    sentences_saying,
)
from trainer.errors import UsageError
from trainer.offers import ASK_BACK_RE, offered_help
from trainer.personas import (
    COUNT_FACTS,
    FLAG_FACTS,
    Condition,
    Persona,
    facts_stated,
    parse_condition,
)

# Paraphrase routing lives in trainer/routing.py; re-exported here for callers of the old name.
from trainer.routing import (
    _WH,
    ANSWER_TIE,
    STOP_WORDS,
    MeaningRouter,
    Target,
    extraposed_it,
    normalise,
    route_topic,
    says_what_is_asked,
    topic_scores,
)
from trainer.types import ANSWERING_LINE_KINDS, Line, RecallQuestion, Word

__all__ = [
    "LINE_KINDS", "Conversation", "ConversationOptions", "Reply", "build_machine", "machine_dot",
    "normalise", "route_topic", "topic_scores",
]

# Every `Line.kind` the conversation produces, and what it is. Those that answer the user's
# question are listed once, in trainer.types.ANSWERING_LINE_KINDS (the scorecard reads it too).
LINE_KINDS = {
    "opener": "the persona's first line",
    "reaction": "a short reaction: acknowledgement, cool 'Mm.', gratitude, warmth",
    "answer": "an answer to a topic question (Line.topic says which)",
    "hook_answer": "a warm answer to a follow-up on a hook",
    "hook": "a personal detail dropped in passing (Line.hooks says which)",
    "deflection": "a dodge of an unknown question that hands the conversation back",
    "prompt": "a question or remark handing the conversation back (also after silence)",
    "move_on": "after repeated silence the persona carries on by itself",
    "nudge": "an invitation to ask something, for a user who only answers",
    "ask_answer": "the answer to an ask to meet or swap contacts",
    "close": "the last line of the round (Line.closes is True)",
}


@dataclass(frozen=True)
class ConversationOptions:
    """Thresholds of the conversation's reactions."""

    monologue_words: int = 70  # a turn this long is a monologue (~30 s at 140 wpm)
    monologue_s: float = 30.0  # ... or this long in seconds
    never_asks_turns: int = 2  # spoken turns in a row without a question before the nudge
    cool_warmth: int = 1  # at or below this warmth the persona keeps its replies short
    warmth_cap_above_patience: int = 4  # goodwill saturates: a stall stays possible later


@dataclass
class Reply:
    """What `Conversation.respond` returns: the labels of the user's turn and the persona's lines.

    `features` is None for a silent turn.
    """

    features: UtteranceFeatures | None
    lines: list[Line]

    @property
    def answered(self) -> bool:
        """Did a line answer the user (the scorecard's "engaging question" reads the same)?"""
        return any(line.kind in ANSWERING_LINE_KINDS for line in self.lines)


class _Facts:
    """The `transitions` model: the facts the persona file's conditions read, and the phase."""

    phase: str  # set by the Machine (model_attribute="phase")

    def __init__(self, patience: int, hooks_total: int):
        for name in FLAG_FACTS:
            setattr(self, name, False)
        for name in COUNT_FACTS:
            setattr(self, name, 0)
        self.warmth = patience
        self.hooks_left = hooks_total


class _Check:
    """A parsed condition as a callable for `transitions` (its text labels the diagram)."""

    def __init__(self, cond: Condition, facts: _Facts):
        self.cond = cond
        self.text = cond.text
        self._facts = facts

    def __call__(self) -> bool:
        return self.cond.holds(self._facts)

    def __repr__(self) -> str:
        return self.text


def build_machine(persona: Persona, facts: _Facts) -> Machine:
    """The persona's phases and transitions as a `transitions` Machine over `facts`."""
    states = [State(ph.id, final=ph.final) for ph in persona.phases]
    edges = []
    for t in persona.transitions:
        edges.append({
            "trigger": t.trigger,
            "source": "*" if t.sources() == ["*"] else t.sources(),
            "dest": t.dest,
            "conditions": [_Check(parse_condition(c), facts) for c in t.conditions],
            "unless": [_Check(parse_condition(c), facts) for c in t.unless],
        })
    return Machine(
        model=facts,
        states=states,
        transitions=edges,
        initial=persona.initial,
        auto_transitions=False,
        ignore_invalid_triggers=True,  # an event with no edge from this phase changes nothing
        model_attribute="phase",
    )


# "...and you?", "what about yourself?": the persona's own answer to the question it asked.
_MIRROR_RE = re.compile(
    r"^(?:(?:um|uh|oh|well|so|and|but|haha|ha)[,\s]+)*(?:and |what about |how about |same )?"
    r"(?:you|yourself|yours|for you|with you)(?: too| then)?[\s?.!]*$", re.IGNORECASE)
# A short question that points back at what was just said ("what was that like?", "why?").
_POINTS_BACK_RE = re.compile(
    r"^(?:(?:oh|wow|really|so|and|but|um|uh|okay|ok|nice|huh)[,!.\s]+)*"
    r"(?:why(?: is that| not)?|how come|how so|like what|such as|what was (?:that|it) like|"
    r"what happened(?: then| next)?|and then(?: what)?|really|seriously|what do you mean|"
    r"how(?: did| does| do| was| is) (?:that|it)\b.*|(?:is|was|does|did) (?:that|it)\b.*|"
    r"(?:what|where|when|who|how) (?:\w+ )?(?:it|that|they|them|there)\b.*|"
    # "how long have you been doing that?", "why did you pick it?": it ends on the pronoun
    r"(?:how|what|why|when|where|who|do|did|does|is|was|are|were|have|has)\b[^.?!]{0,40}"
    r"\b(?:that|it|there|them|this|those))[\s?.!]*$",
    re.IGNORECASE)


_TELL_ME_RE = re.compile(
    r"(?:^|[.!?]\s+|\b(?:ok|okay|so|go on|then|and|now)\s+)(?:please\s+)?(?:tell me|talk me through|"
    r"walk me through|give me|explain)\b", re.IGNORECASE)
# Bad news gets sympathy, not "Oh, very cool." (a persona file may give its own lines).
_BAD_NEWS_RE = re.compile(
    r"\b(?:laid off|made redundant|redundancy|lost my (?:job|mum|dad|mother|father)|got fired|"
    r"been fired|rejected|didn'?t get (?:it|the job|in)|failed|passed away|died|funeral|"
    r"broke up|divorce|struggl\w+|stuck in|burn(?:t|ed) out|unemployed|out of work|"
    r"hate my job|(?:really )?tough (?:year|time|month)|hard time|not great|been rough|"
    r"terrified|scared|nervous|anxious|overwhelmed|long (?:week|day|month)|exhausted|"
    r"exhausting|knackered|shattered|(?:don'?t|do not) (?:really )?know anyone|"
    r"lonely|on my own here|miss (?:home|my family)|brutal|awful|horrible|grim|nightmare|"
    r"(?:was|is|been) (?:really |pretty |so )?(?:hard|tough|rough)|used a food bank|homeless|"
    r"skint|went wrong|go wrong|gone wrong)\b",
    re.IGNORECASE)
# "it was hard but I loved it", "brutal, but worth it": the hard part is told as a good story
_GOOD_TURN_RE = re.compile(
    r"\bbut (?:i |we )?(?:really |honestly |absolutely )?(?:loved|enjoyed|liked|love|enjoy) (?:it|"
    r"that|every)|\bbut (?:it was |it's |so )?(?:(?:totally|so|really|well) )?worth it\b|"
    r"\bin a good way\b|\bbut (?:it was |it's )?(?:so much |really |great )?fun\b", re.IGNORECASE)
SYMPATHY_LINES = ("Oh, that's a lot. Honestly, most people feel like that at first.",
                  "Ah, that's hard. I'm glad you came, though.",
                  "Oh, I'm sorry. That's a tough one.")
# "Sorry, what was your name again?": the persona says its name (not its puppy's).
_THEIR_NAME_RE = re.compile(
    r"\b(?:what(?:'s| is| was) your name|your name again|(?:didn'?t|did not) (?:quite )?catch "
    r"your name|remind me (?:of )?your name|what (?:do|should) i call you|how do you say your "
    r"name|who are you again|what was it again)\b", re.IGNORECASE)
# An ask to meet that also wraps up the chat, or swaps contacts: the round's end.
_WRAP_UP_RE = re.compile(
    r"\b(?:this|that|it|tonight|today)(?:'s| is| was| has)?(?: been)? (?:really |so |very |such )?"
    r"(?:great|lovely|good|fun|nice|helpful|brilliant|amazing|useful|a pleasure|a great chat)\b|"
    r"\b(?:great|lovely|nice|good|a pleasure) (?:to meet|meeting|talking|chatting|to talk|to chat)|"
    r"\bthanks?\b|\bthank you\b|\blet you go\b|\b(?:should|must|have to|gotta|need to) (?:go|head|get "
    r"going|run|let you)\b|\bbefore (?:i|you) go\b|\bbye\b|\bsee you\b|\bleave you\b",
    re.IGNORECASE)
_CONTACTS_RE = re.compile(
    r"\b(?:linkedin|card|cards|email|e-mail|number|numbers|contacts?|details|in touch|connect|"
    r"follow you|add you|reach out|drop you a line|message you|text you|socials)\b", re.IGNORECASE)
# "i bet you get asked that all day", "i guess you must meet hundreds of students": a guess about
# the persona's world, put to it to confirm (a check, not news of the user's to echo back)
_GUESS_RE = re.compile(
    r"^(?:(?:so|well|oh|ha|haha|wow|and|yeah|um|uh|gosh)[,!.\s]+)*i (?:bet|guess|suppose|imagine|"
    r"reckon|expect|assume|(?:would|'d) (?:think|imagine|guess))(?: that)?[,\s]+"
    r"(?!(?:i|i'm|im|i've|i'll|i'd|my|me|we|we're|our|so|not)\b)(?P<rest>.+)$", re.IGNORECASE)
GUESS_SCORE = 0.6  # a guess is answered as a question when it matches a subject this clearly
# ...else a reaction that neither echoes it nor confirms a fact the persona may not hold
GUESS_LINES = ("Ha, you'd be surprised.", "Ha, sometimes!", "Ha, maybe a little.")
_YOU_RE = re.compile(r"\b(?:you|your|you're|youre|you've|yourself)\b", re.IGNORECASE)


def _guess(text: str) -> str | None:
    """What a guess about the persona says ("i bet you're busy" -> "you're busy"), or None."""
    m = _GUESS_RE.match(text.strip())
    return m.group("rest").strip(" ,.!?") if m else None


# "is there anything i could help with", "how can i help", "what could i do to help"
_HOW_TO_HELP_RE = re.compile(
    r"\b(?:(?:is there |was there )?anything (?:else )?(?:i|we) (?:can|could|might) (?:do|help)|"
    r"how (?:can|could|might|do|would) (?:i|we|people|someone|one) (?:\w+ )?(?:help|support|"
    r"chip in|pitch in|get involved)|what (?:can|could|should) (?:i|we) do to help|"
    r"what (?:can|could) (?:i|we) help with|(?:can|could|may) (?:i|we) help (?:with anything|"
    r"at all|out|somehow|in any way)|do you need (?:a hand|any help|help) with)\b", re.IGNORECASE)
HOW_TO_HELP_SCORE = 0.6  # ...routed when the file's content on helping is a clear match
IMPLICIT_QUESTION_SCORE = 0.7  # a line without a question's form routed only when this clear
# "any wins lately", "any plans for the weekend": "any" + a noun opens a question in speech (the
# transcript drops the "?"); "any kind of job, really" answers one
_ANY_ASK_RE = re.compile(
    r"^(?:(?:so|and|oh|ok|okay|well|um|uh|hey|right)[,\s]+)*any\s+(?!(?:kind|sort|type|of|one|"
    r"more|way|time|longer|day|job|role|company|field)\b)[a-z]", re.IGNORECASE)
ANY_ASK_SCORE = 0.55  # ...so it is routed on a fair match, not only on a very clear one
# "i'm trying to get into operations, would volunteering here actually help": a statement, then
# a clause in a question's word order (a modal or "do" before its subject) without the "?"
_TRAILING_ASK_RE = re.compile(
    r"(?:^|[,;]\s*|\s(?:so|but|and)\s+)((?:would|could|can|will|should|does|do|did)\s+"
    r"(?:you|it|that|this|there|they|he|she|we|i|the|a|an|your|my|any|\w+ing)\b)"
    r"([^,;.!?]*)$", re.IGNORECASE)
_FIRST_PERSON_RE = re.compile(r"\b(?:i|i'm|im|i've|i'd|i'll|my|me|we|we're|our|mine)\b", re.I)
# a pronoun skips the detail just mentioned for the answer before it only on a clearly better fit
FOLLOWS_ANSWER_MARGIN = 0.05
DETAIL_MIN = 0.5  # ...and fits well in itself (else the detail waits for a follow-up)
DETAIL_MARGIN = 0.12  # a detail asked for directly comes with its answer when it fits this much better
POINTING_OVERRIDE = 0.75  # a pointing-back question goes elsewhere only on a clear match


# "...what's yours?", "do you?", "have you?": the persona's own answer to what it asked.
_MIRROR_CLAUSE_RE = re.compile(
    r"^(?:(?:and|so|well|go on(?: then)?|ok|okay)[,\s]+)*(?:(?:what|how|which)(?:'s| is| was|"
    r" were| about)? yours\b.*|(?:do|did|are|were|have|has|can|would|will) you(?: too)?|"
    r"you|yourself|how about yourself|what about yourself|what about you\b.*|"
    r"how about you\b.*)[\s?.!]*$", re.IGNORECASE)


MIRROR_MARGIN = 0.15  # the statement routes this much better elsewhere than to the question


def _mirror_statement(text: str) -> str | None:
    """The user's own statement before "...and you?", if it says something (>= 3 words)."""
    m = ASK_BACK_RE.search(text)
    if m is None or m.start() == 0:
        return None
    said = text[:m.start()].strip(" ,.;:!?-")
    if len(said.split()) < 3 or len(normalise(said)) < 2 or _ANSWER_START_RE.match(said) \
            or not _FIRST_PERSON_RE.search(said):
        # "not really, to be honest", "yeah, first one", "mostly java sadly", "good question":
        # an answer to the persona's question, or nothing of the user's own
        return None
    return said


# A reply that starts as an answer to a yes/no or either/or question the persona asked.
_ANSWER_START_RE = re.compile(
    r"^(?:(?:um|uh|oh|well|ha|haha)[,\s]+)*(?:yes|yeah|yep|yup|no|nope|nah|not (?:really|yet|"
    r"quite|much|at all)|sort of|kind of|kinda|a bit|a little|definitely|absolutely|sure|"
    r"of course|never|once|twice|always|sometimes|first (?:one|time))\b", re.IGNORECASE)


# A question that only offers an alternative to the one before it ("..., or is it just you?").
_ALTERNATIVE_RE = re.compile(r"^\s*(?:or|or else)\b", re.IGNORECASE)


def _question_clause(questions: Sequence[str]) -> str | None:
    """The question a line ends on; "Do you have kids, or does the association count?" is one
    question in two parts, both of them the clause."""
    if not questions:
        return None
    if len(questions) > 1 and _ALTERNATIVE_RE.match(questions[-1]):
        return f"{questions[-2]}, {questions[-1]}"
    return questions[-1]


# Words that ask how, how much or what it was like, and name no subject of their own: "how long
# have you been doing that?", "is it hard?", "and do you enjoy it?" say only what they want to
# know about the thing "that"/"it" points at.
_FRAME_WORDS = frozenset(re.findall(r"\S+", """
long enjoy enjoyed like liked love loved hard easy fun scary
tough difficult good bad worth feel felt happen happened happens next else end ended start
started begin began first last doing done make made find found come came end up work works
worked going gone keep kept stick stuck fit fits get gets got into way ago whole part bit sure
"""))


def says_nothing_of_its_own(text: str) -> bool:
    """The line names no subject: only question words, pronouns and words that ask how or what
    it was like ("and then what?", "how did you get into that?", "is it hard?")."""
    words = [w.strip("'") for w in re.findall(r"[a-z']+", text.lower())]
    return bool(words) and all(w in STOP_WORDS or w in _WH or w in _FRAME_WORDS
                               or not w for w in words)


# "mostly climbing you", "i play football on sundays you": an answer, then "you" said back with
# the "?" lost in the transcript. Not when "you" is the object ("thank you", "nice to meet you").
_YOU_OBJECT_WORDS = frozenset(re.findall(r"\S+", """
thank thanks see meet met to for with at of from about love like miss bless tell told ask asked
help let call text email message owe trust believe know are were do did can could will would
should have has than behind around near by unlike give gave show send bring got get hear heard
understand mind bother join follow beat judge blame if as upon into onto against without
before after beside between are you're youre on over under towards toward depends depend
"""))


def _says_you_back(text: str) -> bool:
    words = re.findall(r"[a-z']+", text.lower())
    if len(words) < 3 or words[-1] not in ("you", "u", "yourself"):
        return False
    return words[-2] not in _YOU_OBJECT_WORDS and not _FIRST_PERSON_RE.fullmatch(words[-2])


def _points_back(text: str) -> bool:
    if extraposed_it(text):
        return False  # "was it hard to switch careers?" asks about switching careers
    return bool(_POINTS_BACK_RE.match(text.strip())) and len(text.split()) <= 9




# The key phrase of a statement, to react to what the user said ("Oh, computer science!").
_ECHO_PATTERNS = [re.compile(p, re.IGNORECASE) for p in (
    r"\bi(?:'m| am) (?:currently |actually |also |really )?(?:studying|doing|majoring in|"
    r"training for|working on|working in|working at|into|learning|building|running|a|an)\s+(.+)",
    r"\bi (?:currently |actually |also |just |really )?(?:study|studied|work in|work on|"
    r"work at|work as|run|play|love|like|enjoy|volunteer at|volunteer with|teach|build|"
    r"started|moved to|grew up in|live in|came from|did|ran|finished|joined|went to|visited|"
    r"keep|have|had|got|make|cook|read|watch|write|paint|climb|swim|cycle)\s+(.+)",
    r"\bmy (\w+(?: \w+)?) (?:is|are|was|were|runs|works|has|had)\b(.*)",
    r"\bi(?:'ve| have) (?:always |really |recently |just |also )?(?:been into|got into|"
    r"gotten into|been doing|been learning|been training for|started|taken up)\s+(.+)",
    # "this is my first one of these": what the user calls theirs
    r"^(?:(?:so|well|oh|um|uh|honestly|yeah|actually)[,\s]+)*(?:this|it|that)(?:'s| is| was) "
    r"((?:my|our) .+)",
)]
_ECHO_STOP = re.compile(r"[,.;:!?]| (?:and|but|so|because|cause|which|who|that|since|when|"
                        r"where|if|though|although|then|um|uh|like|at the moment|right now|"
                        r"these days|currently|at the minute|for now|actually|really)\b",
                        re.IGNORECASE)
_FLIP = {"my": "your", "i": "you", "me": "you", "mine": "yours", "myself": "yourself",
         "our": "your", "we": "you", "i'm": "you're", "am": "are"}


# "Hi, I'm Amira", "my name's Joe": the user's name, to greet them by it.
_NAME_RE = re.compile(r"\b(?i:i'?m|i am|my name'?s|my name is|call me)\s+([A-Z][a-z]{1,15})"
                      r"(?=[\s,.!?]|$)")
_NOT_NAMES = {"Good", "Fine", "Great", "Okay", "Sorry", "Just", "Not", "Also", "So", "Really",
              "Still", "New", "Here", "Well", "Very", "Pretty", "Quite", "Doing", "Looking",
              "Trying", "Glad", "Happy", "Sure", "Afraid", "Actually", "Currently", "Working",
              "Studying", "The", "A", "An", "In", "At", "On", "Into", "From", "Back", "Only",
              "Kind", "Sort", "Hoping", "Thinking", "Interested", "Nervous", "Excited", "Tired"}
# Thanks for the event, the talk, the chat: a thank-you, not news to be interested in.
_THANKS_RE = re.compile(r"^(?:(?:oh|well|ok|okay|and|hi|hey|hello)[,!.\s]+)*(?:thank you|thanks|"
                        r"cheers)\b", re.IGNORECASE)
THANKS_LINES = ("Oh, you're very welcome.", "My pleasure, honestly.",
                "Aw, thank you for coming over.")
PROMPT_ECHO = 0.55  # a prompt this close in meaning to what the user just asked is not asked


def introduced_name(text: str) -> str | None:
    """The name a user gives for themselves ("Hi, I'm Amira" -> "Amira"), or None."""
    m = _NAME_RE.search(text)
    if m is None or m.group(1) in _NOT_NAMES:
        return None
    return m.group(1)


def _with_name(line: str, name: str) -> str:
    """'Nice to meet you!' -> 'Nice to meet you, Amira!'; 'Oh. Hi.' -> 'Oh. Hi, Amira.'"""
    m = re.search(r"\bmeet you\b", line)
    if m:
        return line[:m.end()] + f", {name}" + line[m.end():]
    if name.lower() in line.lower():
        return line
    if line[-1:] in ".!":  # "Oh. Hi." -> "Oh. Hi, Sam."
        return f"{line[:-1]}, {name}{line[-1]}"
    return f"{name}! {line}"


# A first-person statement's subject and verb ("I just started", "we've been trying to get",
# "my dad used to be"): what follows is what the statement is about.
_SUBJECT_VERB_RE = re.compile(
    r"^(?:(?:so|well|oh|um|uh|honestly|actually|yeah|and|but|ha|haha)[,\s]+)*"
    r"(?:i|i'm|im|i've|ive|i'd|i'll|we|we're|we've|my \w+|our \w+)\s+"
    r"(?:(?:just|only|actually|also|really|recently|currently|still|never|always|once|sort of|kind of|"
    r"pretty|quite|used to|have|has|had|been|am|is|are|was|were|do|did|got|ve|m|d|ll|s|"
    r"trying to|started|start|going to|gonna|want to|wanted to|get to|got to)\s+)*"
    r"(?:(?:\w+ed|\w+ing|\w+s|run|ran|do|did|make|made|read|write|wrote|grew up|come|came|"
    r"go|went|have|had|got|get|love|like|play|work|live|teach|taught|study|build|built|"
    r"know|knew|be|see|saw|met|meet|keep|kept|left|leave|moved|move|switch|joined|join|"
    r"lost|win|won|take|took|find|found|help|helped|volunteer|cook|climb|swim|cycle|use|"
    r"sell)\s+)"
    r"(?:(?:up|to|from|at|in|on|into|with|for|about|as|out|off|over|through|across|around|by|"
    r"near|down|back|away)\s+)?", re.IGNORECASE)
_FROM_RE = re.compile(r"^(?:(?:so|well|oh|um|uh|honestly|actually|yeah|and|but)[,\s]+)*"
                      r"(?:i'm|im|i am|we're|we are)\s+(?:originally\s+|actually\s+|also\s+)?"
                      r"from\s+", re.IGNORECASE)
_TRAILING_TIME_RE = re.compile(
    r"\s+(?:(?:last|next|this) (?:week|month|year|summer|winter|spring|autumn|weekend|term)|"
    r"(?:a|one|two|three|four|five|six|a few|a couple of) (?:days?|weeks?|months?|years?) ago|"
    r"on (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)|yesterday|today|"
    r"tomorrow|tonight|originally|honestly|myself|before|already|now|again|too|as well|"
    r"at the moment|these days|for a while|for ages|when i was (?:at )?\w+)$", re.IGNORECASE)
_VERB_CUT = {"go", "goes", "went", "gone", "is", "was", "are", "were"}
_CUT_AT = re.compile(r"^(?:going|that|which|who|where|when|because|so|but|and|if|to|while|"
                     r"go|goes|went|gone|is|was|are|were)$", re.IGNORECASE)


def _object_phrase(text: str) -> str | None:
    """What a first-person statement is about, when no pattern above took it: the words after
    its subject and verb ("I volunteered at a soup kitchen when I was at uni" -> "a soup
    kitchen"; "I'm from Cardiff originally" -> "Cardiff")."""
    first = re.split(r"(?<=[.!?;])\s+|,\s+(?=(?:but|and|so|because|though)\b)", text.strip())[0]
    m = _FROM_RE.match(first) or _SUBJECT_VERB_RE.match(first)
    if m is None or m.end() >= len(first):
        return None
    rest = first[m.end():].strip(" ,.!?;:")
    return rest or None


def _head_of(words: list[str], max_words: int) -> list[str]:
    """The head of a long phrase, cut before a clause word ("a community garden going on our
    street" -> "a community garden"), or [] when no short head stands alone."""
    for i, w in enumerate(words[1:max_words + 1], 1):
        if _CUT_AT.match(w) or w.lower() in ("in", "on", "at", "for", "with", "from", "about"):
            return words[:i] if i >= 2 or words[0].lower() not in ("a", "an", "the") else []
    return []


def key_phrase(text: str, offer: bool = False, max_words: int = 5) -> str | None:
    """The key phrase of a user's statement, seen from the persona's side, or None.

    "I'm studying computer science, second year" -> "computer science"; "my dog is a lab" ->
    "your dog". For an offer, what is offered ("ask him about Tuesdays").
    """
    t = " ".join(text.split())
    if offer:
        m = re.search(r"\b(?:i could|i can|i'?ll|i would|i'?d|let me|happy to|glad to)\s+(.+)",
                      t, re.IGNORECASE)
        groups = [m.group(1)] if m else []
    else:
        groups = []
        for rx in _ECHO_PATTERNS:
            m = rx.search(t)
            if m:
                groups = [m.group(1)] if rx is not _ECHO_PATTERNS[2] else ["my " + m.group(1)]
                break
    if not groups:
        found = None if offer else _object_phrase(t)
        if found is None:
            return None
        groups = [found]
    phrase = _ECHO_STOP.split(groups[0], maxsplit=1)[0].strip()
    while (trimmed := _TRAILING_TIME_RE.sub("", phrase).strip()) != phrase:
        phrase = trimmed  # "...last year too": both go
    words = phrase.split()
    while len(words) > 1 and words[0].lower() in ("about", "from", "to", "at", "in", "on",
                                                  "with", "for", "into", "of"):
        words = words[1:]  # "I read about your charity" -> "your charity"
    verb = next((i for i, w in enumerate(words) if i >= 2 and w.lower() in _VERB_CUT), None)
    if verb is not None:
        words = words[:verb]  # "a migration go wrong" -> "a migration"
    if len(words) > max_words:
        words = _head_of(words, max_words)
        if not words:
            return None  # a cut phrase ("a summer job in a") is worse than a plain reaction
    if not words or words[0].lower() in ("it", "that", "this", "to", "the", "you", "a", "an") \
            and len(words) == 1:
        return None
    if len(words) > 1 and words[-1].lower() in _DANGLING:
        return None  # "no idea it": a phrase cut before its end is worse than a plain reaction
    flipped = [_FLIP.get(w.lower(), w) for w in words]
    return " ".join(flipped)


# Words a noun phrase never ends on: a key phrase ending on one was cut mid-clause.
_DANGLING = frozenset((
    "it", "that", "this", "the", "a", "an", "to", "of", "and", "but", "so", "or", "was", "is",
    "were", "are", "be", "my", "your", "our", "their", "his", "her", "its", "if", "as", "than"))

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _first_sentence(text: str) -> str:
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0]


def _short_reply(text: str) -> str:
    """A reserved persona's short reply: the first sentence, or the first two when the first
    says nothing alone ("Later." of "Later. Most problems needed a correct join...")."""
    text = text.strip()
    ends = [m.start() for m in _SENTENCE_END.finditer(text)]
    if not ends:
        return text
    if len(text[:ends[0]].split()) < 3:
        return text[:ends[1]] if len(ends) > 1 else text
    return text[:ends[0]]


class Conversation:
    """One round with a persona. Call `start()`, then `respond(...)` per user turn.

    Args:
        persona: the validated persona script.
        seed: seed of the line choices; the same seed and replies give the same round.
        options: thresholds of the reactions.
    """

    def __init__(self, persona: Persona, seed: int | None = None,
                 options: ConversationOptions | None = None,
                 router: MeaningRouter | None = None):
        self.persona = persona
        # Understanding by meaning (issue 12) when the edge hands in a router built on the
        # sentence-embedding model; without one, the lexical router of routing.py.
        self.router = router
        self.options = options or ConversationOptions()
        self._rng = random.Random(seed)
        # Recall questions get their own generator: asking for them twice gives the same ones.
        self._recall_seed = self._rng.random()
        self._facts = _Facts(persona.patience, len(persona.hooks))
        self._machine = build_machine(persona, self._facts)
        self._final = {ph.id for ph in persona.phases if ph.final}
        self._used: dict[str, set[str]] = {}
        self._dropped: list[str] = []
        self._said_in: dict[str, str] = {}  # hook id -> the first line that said it
        # hooks the persona's last lines only named by one cue word -> (cue, that line): said
        # if the user's next turn takes them up (analysis.named_hooks_taken, as the scorecard)
        self._named: dict[str, tuple] = {}
        self._followed: list[str] = []
        self._last_lines: list[Line] = []
        self._last_topic: str | None = None
        self._turns_since_nudge = 99
        self._started = False
        self._close_reason: str | None = None
        self._said_goodbye = False
        self.history: list[tuple[str, str]] = []  # ("persona"|"user", text), in order
        # Conversation memory: what was said (never twice), what "it" means now, and the
        # persona's own answer to the question it just asked (for "...and you?").
        self._said_targets: set[Target] = set()
        self._last_target: Target | None = None
        self._last_subject: str | None = None
        self._last_own: str | None = None
        self._you_back = False  # this turn ends on "...you" said back (see _says_you_back)
        self._target: Target | None = None  # what the current question is about
        self._offer_only = False  # the turn's only question is an offer ("want me to ...?")
        self._how_to_help = False  # the offer asks how to help, and the persona's file says how
        self._plan = False  # an ask to meet made in passing: a warm yes, and the round goes on
        self._implicit_clause: str | None = None  # "..., would X help": a question without "?"

    # --- state --------------------------------------------------------------------------------

    @property
    def phase(self) -> str:
        """The current phase (state of the machine)."""
        return self._facts.phase

    @property
    def finished(self) -> bool:
        """True once the machine entered a final phase (the round is over)."""
        return self._facts.phase in self._final

    @property
    def hooks_dropped(self) -> list[str]:
        """Ids of the hooks the persona mentioned, in the order mentioned."""
        return list(self._dropped)

    @property
    def hooks_followed(self) -> list[str]:
        """Ids of the dropped hooks the user followed up on, in order."""
        return list(self._followed)

    @property
    def warmth(self) -> int:
        """The persona's goodwill (starts at `patience`; at 0 the conversation stalls)."""
        return self._facts.warmth

    @property
    def close_reason(self) -> str | None:
        """Why the round ended: "ask", "goodbye", "stall", "natural", or None while it runs."""
        return self._close_reason

    @property
    def closed_by(self) -> str | None:
        """"user" (goodbye or ask to meet) or "persona" (stall or natural end), None if open."""
        if self._close_reason is None:
            return None
        return "user" if self._close_reason in ("ask", "goodbye") else "persona"

    @property
    def user_said_goodbye(self) -> bool:
        return self._said_goodbye

    @property
    def turns(self) -> int:
        """User turns so far."""
        return self._facts.turns

    def facts(self) -> dict[str, int | bool]:
        """The current facts the conditions read (for debugging and tests)."""
        return {k: getattr(self._facts, k) for k in (*FLAG_FACTS, *COUNT_FACTS)}

    def context(self) -> TurnContext:
        """What the user is answering: the persona's last lines and the hooks dropped so far."""
        cues = {c.id: c for c in self.persona.hook_cues()}
        return TurnContext(
            partner_text=" ".join(line.text for line in self._last_lines),
            partner_name=self.persona.name,
            hooks=tuple(self._cue_as_said(cues[h]) for h in self._dropped),
            first_user_turn=self._facts.turns == 0,
            earlier_partner_text=" ".join(ln.text for ln in getattr(self, "_earlier_lines", ())),
        )

    def _cue_as_said(self, cue):
        """A dropped hook with the sentences of the line that said it: a question in other
        words is matched against them by meaning, as the scorecard does (scoring._walk)."""
        line = self._said_in.get(cue.id)
        if not line:
            return cue
        said = tuple(x for x in sentences_saying(line, cue) if x not in cue.texts)
        return replace(cue, texts=cue.texts + said) if said else cue

    # --- the round ----------------------------------------------------------------------------

    def start(self) -> list[Line]:
        """The persona's opening line(s)."""
        if self._started:
            raise UsageError("the conversation has already started")
        self._started = True
        choice = self._pick("opener", self.persona.opener)
        self._last_own = choice.own
        return self._said([Line(text=choice.text, kind="opener", phase=self.phase)])

    def respond(
        self,
        text: str,
        *,
        words: Sequence[Word] | None = None,
        duration_s: float | None = None,
        pause_s: float | None = None,
        silence: bool = False,
        capped: bool = False,
        interrupted: bool = False,
        final_rise_st: float | None = None,
    ) -> Reply:
        """The persona's reply to one user turn.

        Args:
            text: what the user said ("" for silence).
            words: ASR word timings, for the speaking pace.
            duration_s: how long the user spoke (seconds).
            pause_s: the pause before the user spoke (accepted for callers; not reacted to).
            silence: the user said nothing before the no-reply timeout.
            capped: the reply was cut at the maximum reply length (counts as a monologue).
            interrupted: the user started while the persona was still speaking.
            final_rise_st: the pitch rise at the end of a spoken turn, in semitones (a cue
                for a question said as a statement; trainer.speech.pitch).

        Returns:
            Reply(features, lines); no lines once the round is finished.
        """
        del pause_s  # part of the interface for callers; the persona does not react to it
        if not self._started:
            raise UsageError("call start() before respond()")
        text = text if isinstance(text, str) else ""
        feats: UtteranceFeatures | None = None
        named = [v for h, v in self._named.items() if h not in self._dropped]  # not said since
        self._named = {}
        if not silence:
            for hid in named_hooks_taken(text, self.context(), named, self._embedder()):
                if hid not in self._dropped:
                    self._dropped.append(hid)
                    self._said_in.setdefault(hid, next(ln for c, ln in named if c.id == hid))
            # the same embedder as the scorecard, so the persona reacts to what it counts
            feats = analyze_utterance(text, self.context(), words, duration_s,
                                      meaning=self._embedder(), final_rise_st=final_rise_st)
            silence = feats.is_empty
        if self.finished:
            return Reply(feats, [])
        self.history.append(("user", text))

        f = self._facts
        hook_fu, topic = self._read_turn(feats, silence, capped, interrupted, duration_s)
        trigger = ("silence" if f.silent else "ask_to_meet" if f.asked_to_meet
                   else "goodbye" if f.said_goodbye else "reply")
        # "want to grab a coffee tomorrow?" in the middle of a chat is a plan, not a goodbye:
        # a warm yes, and the round goes on (an ask that wraps up, a swap of contacts, or one
        # in the last phase still closes it, as the file's ask_to_meet edge says)
        self._plan = trigger == "ask_to_meet" and not f.said_goodbye \
            and self._ask_in_passing(feats) and self._ask_accepted()
        if self._plan:
            trigger = "reply"
        # What the user does to end the round (ask, goodbye) comes first; otherwise a stall
        # (goodwill run out) is checked before the ordinary edges of the turn.
        order = [trigger, "stall"] if trigger in ("ask_to_meet", "goodbye") else ["stall", trigger]
        before = f.phase
        moved_by = None
        for event in order:
            f.trigger(event)
            if f.phase != before:
                moved_by = event
                break

        lines = self._compose(feats, trigger, moved_by, hook_fu, topic, interrupted)
        if f.phase != before:
            f.phase_turns = 0
        return Reply(feats, self._said(lines))

    # --- reading the user's turn --------------------------------------------------------------

    def _read_turn(self, feats, silence, capped, interrupted, duration_s):
        """Update the facts from the turn; returns (hook followed up or None, topic or None)."""
        f, o = self._facts, self.options
        f.turns += 1
        f.phase_turns += 1
        f.silent = silence
        hook_fu: str | None = None
        topic: str | None = None
        self._offer_only = False
        self._implicit_clause = None
        if silence:
            for name in FLAG_FACTS:
                if name != "silent":
                    setattr(f, name, False)
            f.silences += 1
            f.warmth -= 1
            return None, None
        f.silences = 0
        f.asked = feats.is_question
        f.open_question = bool(feats.is_question and feats.is_open)
        f.offered = feats.is_offer
        f.asked_to_meet = feats.is_ask
        f.said_goodbye = feats.is_goodbye
        self._said_goodbye = self._said_goodbye or feats.is_goodbye
        f.monologue = bool(capped or feats.word_count >= o.monologue_words
                           or (duration_s is not None and duration_s >= o.monologue_s))
        # Which hook the user took up is the analysis's call (`hooks_taken`), the same rule the
        # scorecard counts, so the persona's warmth and the hook-uptake figure agree.
        taken = [h for h in feats.hooks_taken if h in self._dropped]
        hook_fu = feats.follow_up_hook if feats.follow_up_hook in taken else (
            taken[0] if taken else None)
        if hook_fu and self.router is not None and feats.is_question \
                and self._follows_last_answer(feats, hook_fu):
            taken = [h for h in taken if h != hook_fu]  # "them" meant the answer, not the hook
            hook_fu = taken[0] if taken else None
        for h in taken:
            if h not in self._followed:
                self._followed.append(h)
        f.followed_up = bool(hook_fu or (feats.is_question and feats.follow_up == "partner"))
        if not f.offered and self._offer_by_meaning(feats):
            f.offered = True
        self._target = None
        # "I know some SREs, want me to send them your way?": the question only makes the
        # offer; the thanks answers it, it is not a question about the persona's topics
        self._offer_only = f.offered and self._asks_only_to_offer(feats)
        self._how_to_help = False
        if f.offered and feats.is_question and self._asks_how_to_help(feats):
            # "is there anything I could help with?": it asks how, and the persona says how
            self._offer_only, self._how_to_help = False, True
        # an offer ("...i could introduce you") is thanked, never taken for a question back
        self._you_back = bool(not feats.is_question and self._last_own and not f.offered
                              and _says_you_back(feats.text))
        if self._you_back:
            f.asked = True  # "mostly climbing you": the persona's question asked back
        elif not feats.is_question and self._implicit_question(feats):
            f.asked = True  # "any big plans for the weekend": asked without a question's form
        if _THEIR_NAME_RE.search(feats.text) and not f.asked_to_meet:
            topic = "__name__"  # "sorry, I didn't catch your name": asked, with or without "?"
            f.asked = True
        elif (feats.is_question or f.asked) and not f.asked_to_meet and not self._offer_only:
            if self.router is not None:
                topic = self._route_by_meaning(feats)
                if hook_fu is None and self._target is not None \
                        and self._target.kind == "hook":
                    hook_fu = self._target.id  # asked about a detail directly: taken up
                    if hook_fu not in self._followed:
                        self._followed.append(hook_fu)
                    f.followed_up = True
                t = self._target
                if t is not None and t.follow_up is not None and self._last_target is not None \
                        and (t.kind, t.id, t.answer) == (self._last_target.kind,
                                                         self._last_target.id,
                                                         self._last_target.answer):
                    f.followed_up = True  # builds on the answer just given
            else:
                topic = self._route(feats)
            if topic is None and hook_fu is None and self._is_mirror(feats):
                topic = "__own__" if self._last_own else self._mirror_topic()
        f.topic_known = topic is not None or (self._target is not None)

        if f.asked:
            f.questions += 1
            f.quiet_turns = 0
        else:
            f.quiet_turns += 1
        f.follow_ups += int(f.followed_up)
        f.monologues += int(f.monologue)
        f.offers += int(f.offered)

        # Goodwill: why each step - see ARCHITECTURE.md anchors (questions and follow-ups make
        # people better liked; monologues and one-sided talk cost it).
        delta = 0
        reserved = self._closed_to_reserved(feats)  # a closed question to someone reserved
        if f.asked and not reserved:
            delta += 1
        if f.followed_up and not reserved:
            delta += 1
        if f.offered:
            delta += 2
        if f.monologue:
            delta -= 2
        if f.quiet_turns > o.never_asks_turns:
            delta -= 1
        if interrupted:
            delta -= 1
        cap = self.persona.patience + o.warmth_cap_above_patience
        f.warmth = min(cap, f.warmth + delta)
        return hook_fu, topic

    def _route(self, feats: UtteranceFeatures) -> str | None:
        asked = getattr(feats, "questions", None) or [feats.text]
        for q in asked[::-1]:  # the last question is the one the partner answers
            topic = route_topic(self.persona, q)
            if topic:
                return topic
        return route_topic(self.persona, feats.text) if len(asked) > 1 else None

    def prepare(self, text: str) -> None:
        """Embed what `respond(text)` will need, ahead of time (e.g. on the speculative
        transcript while the end of the turn is being confirmed); the embedder caches by text."""
        if self.router is None or not text.strip():
            return
        feats = analyze_utterance(text, self.context(), meaning=self._embedder())
        clause = _question_clause(feats.questions)
        self.router.embedder.embed(self.router.queries(text, clause, self._last_subject))

    def _implicit_question(self, feats: UtteranceFeatures) -> bool:
        """A short line without a question's form that plainly asks about one of the persona's
        topics ("any big plans for the weekend", "your favourite part of the job"): no
        first-person statement, and a clear match by meaning."""
        if self.router is None or feats.is_offer or feats.is_goodbye or feats.is_ask \
                or feats.is_backchannel or self._facts.offered:
            return False  # an offer in their own words is thanked, not answered as a question
        if _TELL_ME_RE.search(feats.text):
            return True  # "tell me something surprising about...": asked, as an imperative
        guess = _guess(feats.text)
        if guess is not None:
            m = self.router.match(feats.text, guess, subject=self._last_subject,
                                  last=self._last_target, exclude=self._said_targets)
            if m is not None and m.score >= GUESS_SCORE:
                self._implicit_clause = guess  # "...you must be tired": answered as asked
                return True
            return False
        trailing = _TRAILING_ASK_RE.search(feats.text.strip().rstrip(".!"))
        if trailing and trailing.start() > 0 and len(trailing.group(0).split()) >= 3:
            clause = (trailing.group(1) + trailing.group(2)).strip()
            m = self.router.match(feats.text, clause, subject=self._last_subject,
                                  last=self._last_target, exclude=self._said_targets)
            if m is not None and m.score >= IMPLICIT_QUESTION_SCORE:
                self._implicit_clause = clause  # the question part is what gets answered
                return True
        if not 2 <= feats.word_count <= 12:
            return False
        anyq = bool(_ANY_ASK_RE.match(feats.text.strip()))
        if not anyq and _FIRST_PERSON_RE.search(feats.text):
            return False
        m = self.router.match(feats.text, None, subject=self._last_subject,
                              last=self._last_target, exclude=self._said_targets)
        return m is not None and m.score >= (ANY_ASK_SCORE if anyq else IMPLICIT_QUESTION_SCORE)

    def _clause(self, feats: UtteranceFeatures) -> str | None:
        """The question part of the line: its last question, or the clause asked without a
        question's form ("..., would volunteering here help")."""
        return _question_clause(feats.questions) or self._implicit_clause

    def _embedder(self):
        return self.router.embedder if self.router is not None else None

    def _route_by_meaning(self, feats: UtteranceFeatures) -> str | None:
        """Topic id (and `self._target`) of the user's question by meaning, or None."""
        clause = self._clause(feats)
        text = feats.text
        if self._is_mirror(feats):
            about = self._mirror_of_statement(feats)
            if about is not None:
                # "I mostly cycle. What's yours?": the same question about the persona
                self._target = about
                return about.id if about.kind == "topic" else None
            if self._last_own:
                return None  # "...and you?": the persona's own answer to its question
        m = self.router.match(text, clause, subject=self._last_subject, last=self._last_target,
                              exclude=self._said_targets,
                              follows=feats.follow_up == "partner" or bool(feats.builds_on))
        last = self._last_target
        points = _points_back(clause or text) or (clause is not None and _points_back(text))
        if last is not None and points and (
                m is None or m.score < POINTING_OVERRIDE
                or (m.target.kind, m.target.id) == (last.kind, last.id)
                # "how long have you been doing that?" names nothing else: a close match
                # elsewhere comes from its frame ("how long have you..."), not its subject
                or says_nothing_of_its_own(text)):
            # "what was that like?", "why Tuesdays?": a detail of the answer just given - the
            # one it names when it matches one ("was it hard to leave teaching?"), else the next
            named = (m is not None and m.score >= self.router.options.threshold
                     and (m.target.kind, m.target.id, m.target.answer)
                     == (last.kind, last.id, last.answer) and m.target.follow_up is not None)
            # "how long ago was that?" when nothing left of that answer says when: the line
            # the router found in the same topic (another answer or its detail) is the reply
            other = (not named and m is not None and m.score >= self.router.options.threshold
                     and (m.target.kind, m.target.id) == (last.kind, last.id)
                     and not self._can_say(last, clause or text))
            self._target = m.target if named or other else Target(last.kind, last.id,
                                                                   last.answer, -1)
            return last.id if last.kind == "topic" else None
        again = self._asked_again(text, clause, m)
        if again is not None:
            # "so are you a runner?" right after the running answer: asked again, it wants
            # more of that answer (its details), not a second telling of it elsewhere
            self._target = again
            return again.id if again.kind == "topic" else None
        if m is not None and m.score >= self.router.options.threshold:
            self._target = m.target
            return m.target.id if m.target.kind == "topic" else None
        # Unplaceable but plainly about what was just said ("what was that like?"): continue
        # the last answer's subject rather than jump elsewhere.
        if self._last_target is not None and (feats.follow_up == "partner"
                                              or _points_back(clause or text)):
            self._target = Target(self._last_target.kind, self._last_target.id,
                                  self._last_target.answer, -1)
            return self._target.id if self._target.kind == "topic" else None
        return None

    def _asked_again(self, text: str, clause: str | None, m) -> Target | None:
        """The line asks again what the answer just given answered (its best match, were
        nothing excluded, is that answer): continue that answer's subject with a detail not
        told yet, when one is left and the line's match elsewhere is no clearly better fit."""
        last = self._last_target
        if last is None or last.answer is None:
            return None
        said = Target(last.kind, last.id, last.answer)
        raw = self.router.match(text, clause, subject=self._last_subject, last=last)
        if raw is None or raw.score < self.router.options.threshold \
                or Target(raw.target.kind, raw.target.id, raw.target.answer) != said:
            return None
        if m is not None and (m.target.kind, m.target.id, m.target.answer) == \
                (said.kind, said.id, said.answer):
            return None  # the router already found a detail of that answer
        items = (self.persona.topic(said.id).answers if said.kind == "topic"
                 else self.persona.hook(said.id).warm_answers)
        left = [k for k in range(len(items[said.answer].follow_ups))
                if Target(said.kind, said.id, said.answer, k) not in self._said_targets]
        if not left:
            return None
        return Target(said.kind, said.id, said.answer, -1)

    def _can_say(self, last: Target, question: str) -> bool:
        """Some detail of the answer `last` not said yet says the time `question` asks for
        ("how long?" -> a duration, "when?" -> a date); True when it asks for none."""
        if says_what_is_asked(question, "", time_only=True) is None or last.answer is None:
            return True
        items = (self.persona.topic(last.id).answers if last.kind == "topic"
                 else self.persona.hook(last.id).warm_answers)
        return any(says_what_is_asked(question, fu.text, time_only=True)
                   for k, fu in enumerate(items[last.answer].follow_ups)
                   if Target(last.kind, last.id, last.answer, k) not in self._said_targets)

    def _mirror_of_statement(self, feats: UtteranceFeatures) -> Target | None:
        """"I spend Saturdays at my allotment. What about you?" asks the persona what the
        user's statement answered. When that statement answers the persona's own last question
        ("What got you into volunteering?" - "my mum volunteered here. You?"), the persona's
        own answer is the reply (None here); when it is about something else, the target the
        statement routes to by meaning."""
        said = _mirror_statement(feats.text)
        if said is None:
            return None
        head = ASK_BACK_RE.search(feats.text)
        back = feats.text[head.start():] if head else ""
        if self._last_own and "yours" not in back.lower() and not [
                w for w in normalise(back) if w not in _WH]:
            # a bare "...what about you?" after answering the persona's question asks it back
            return None
        # the whole line: "...what about you, when you're not in here?" says more than "you"
        clause = feats.questions[-1] if feats.questions else None
        m = self.router.match(feats.text, clause, exclude=self._said_targets)
        if m is None or m.score < self.router.options.threshold:
            return None
        asked = [ln.text for ln in self._last_lines if "?" in ln.text]
        if asked:
            q = self.router.match(asked[-1], None)
            if q is not None and (q.target.kind, q.target.id) == (m.target.kind, m.target.id):
                return None  # the statement is about what the persona asked: its own answer
        if asked or self._last_own:
            refs = [*asked[-1:], *([self._last_own] if self._last_own else [])]
            vecs = self.router.embedder.embed([said, *refs])
            near = max(float(vecs[0] @ v) for v in vecs[1:])
            if m.score - near < MIRROR_MARGIN:
                return None  # it answers what the persona asked: the persona's own answer
        return m.target

    def _follows_last_answer(self, feats: UtteranceFeatures, hook_id: str) -> bool:
        """A question that points back ("how do you track them?") after an answer and a hook
        in passing: by meaning it asks for a detail of the answer, and names no hook word."""
        last = self._last_target
        if last is None:
            return False
        clause = self._clause(feats)
        m = self.router.match(feats.text, clause, subject=self._last_subject, last=last,
                              exclude=self._said_targets)
        if m is None:
            return False
        if self._asked_again(feats.text, clause, m) is not None:
            return True  # "so are you a runner?" after the running answer that told the hook
        if (m.target.kind, m.target.id, m.target.answer) == (last.kind, last.id, last.answer) \
                and m.target.follow_up is not None and m.score >= self.router.options.threshold \
                and m.score > m.scores.get(f"hook:{hook_id}", -1.0):
            # "where's the swim?" after "I'm training for a sea swim...": a detail of the answer
            # just given, even though the line says the hook's word
            return True
        if hook_id in self.router._cued(feats.text):
            return False
        if m.target.kind == last.kind and m.target.id == last.id:
            return m.score >= self.router.options.threshold
        # "do you enjoy it?" after an answer about the job and a remark about a bird: "it" is
        # whichever of the two the question fits better by meaning
        plain = self.router.match(feats.text, clause, subject=self._last_subject)  # no bonus
        answer = plain.scores.get(f"{last.kind}:{last.id}", -1.0)
        return answer >= plain.scores.get(f"hook:{hook_id}", -1.0) + FOLLOWS_ANSWER_MARGIN

    def _is_mirror(self, feats: UtteranceFeatures) -> bool:
        if self._you_back:
            return True
        if feats.question_kind == "mirror" or feats.question_form == "mirror":
            return True
        if _MIRROR_RE.search(feats.text.strip()):
            return True
        last = feats.questions[-1] if feats.questions else ""
        return bool(last and _MIRROR_CLAUSE_RE.match(last.strip()))

    def _offer_by_meaning(self, feats: UtteranceFeatures) -> bool:
        """An offer of help in the user's own words (not only the set phrases of analysis):
        trainer.offers, the rule the scorecard counts too."""
        if self.router is None:
            return False
        return offered_help(feats.text, self.router.embedder, asked=feats.is_question)

    def _ask_in_passing(self, feats: UtteranceFeatures) -> bool:
        """An ask to meet made in passing ("would you want to grab a coffee tomorrow?"): not
        a wrap-up ("this was great", "I'll let you go"), not a swap of contacts, and not in
        the round's last phase."""
        live = [ph.id for ph in self.persona.phases if not ph.final]
        if live and self.phase == live[-1]:
            return False
        return not (_WRAP_UP_RE.search(feats.text) or _CONTACTS_RE.search(feats.text))

    def _ask_accepted(self) -> bool:
        """The file's ask_to_meet edge from this phase would close the round now (its
        conditions hold): the ask is welcome, not too early."""
        for t in self.persona.transitions:
            if t.trigger != "ask_to_meet" or (t.sources() != ["*"]
                                              and self.phase not in t.sources()):
                continue
            if all(parse_condition(c).holds(self._facts) for c in t.conditions) and not any(
                    parse_condition(c).holds(self._facts) for c in t.unless):
                return t.dest in self._final
        return False

    def _asks_how_to_help(self, feats: UtteranceFeatures) -> bool:
        """"Is there anything I could help with?", "how can I help?": an offer that asks how,
        answered by what the persona's file says about helping (a clear match by meaning);
        with nothing in the file on it, the offer is thanked as before."""
        if self.router is None or not _HOW_TO_HELP_RE.search(feats.text):
            return False
        m = self.router.match(feats.text, self._clause(feats), exclude=self._said_targets)
        return m is not None and m.score >= HOW_TO_HELP_SCORE

    def _asks_only_to_offer(self, feats: UtteranceFeatures) -> bool:
        """Every question the line asks is itself the offer ("I could put you two in touch?",
        "would you fancy doing your talk at our meetup?"), none asks about the persona."""
        if self.router is None or not feats.questions:
            return False
        return all(offered_help(q, self.router.embedder) for q in feats.questions)

    def _mirror_topic(self) -> str | None:
        # "and you?" after the persona asked about the user: the persona answers the same
        # kind of question about itself - the mirror topic of the phase it asked in.
        if not self._last_lines:
            return None
        return self.persona.phase(self._last_lines[-1].phase).mirror_topic

    # --- composing the persona's lines --------------------------------------------------------

    def _compose(self, feats, trigger, moved_by, hook_fu, topic, interrupted) -> list[Line]:
        f, r = self._facts, self.persona.reactions
        closing = self.finished
        lines: list[Line] = []

        if f.silent:
            if closing:
                return [self._close("stall")]
            if f.silences == 1:
                return [self._line("silence_prompt", r.silence_prompt, kind="prompt")]
            lines.append(self._line("silence_move_on", r.silence_move_on, kind="move_on"))
            hook = self._next_hook(any_phase=True)
            if hook:
                lines.append(self._mention(hook))
            lines.append(self._prompt())
            return lines

        if closing and moved_by == "ask_to_meet":
            return [self._line("ask_to_meet", r.ask_to_meet, kind="ask_answer"),
                    self._close("ask")]
        if closing and moved_by == "goodbye":
            if f.offered:
                lines.append(self._line("offer", r.offer, kind="reaction"))
            return [*lines, self._close("goodbye")]

        cool = f.monologue or f.warmth <= self.options.cool_warmth
        # Short, but not cool: a reserved persona's answer to a closed question.
        short = cool or self._closed_to_reserved(feats)
        if interrupted and r.interrupted:
            lines.append(self._line("interrupted", r.interrupted, kind="reaction"))
        if f.monologue:
            lines.append(self._line("monologue", r.monologue, kind="reaction"))
        if f.offered and not self._how_to_help:
            lines.append(self._offer_line(feats))
        name = introduced_name(feats.text)
        if f.asked and name and r.introduced and "introduced" not in self._used:
            # "Hi, I'm Joe! How did you hear about this?": greeted by name, then answered
            greet = self._line("introduced", r.introduced, kind="reaction")
            greet.text = _with_name(greet.text, name)
            lines.append(greet)

        content: Line | None = None
        hands_back = False
        if trigger == "ask_to_meet":  # an ask the machine did not close on: too early
            content = self._line("early_ask", r.early_ask or r.ask_to_meet, kind="ask_answer")
            hands_back = bool(r.early_ask)
        elif self._plan:
            content = self._line("ask_to_meet", r.ask_to_meet, kind="ask_answer")
        elif hook_fu:
            if not short and hook_fu in self._dropped:
                # "Oh, you remembered!" only of what the persona did say in this round
                lines.append(self._line("follow_up", r.follow_up, kind="reaction"))
            content = self._hook_answer(hook_fu, short=short, feats=feats)
        elif f.asked and not self._offer_only:
            if topic == "__name__":
                full = self.persona.name
                first = self.persona.first_name
                text = f"It's {first}." if full == first else f"It's {first}. {full}."
                content = Line(text=text, kind="answer", phase=self.phase)
            elif topic == "__own__":
                content = Line(text=self._last_own, kind="answer", phase=self.phase)
                self._last_own = None
            elif self.router is not None and self._target is None and topic:
                content = self._answer_target(Target("topic", topic), feats, short=short)
            elif self.router is not None and self._target is not None:
                content = self._answer_target(self._target, feats, short=short)
            elif topic:
                content = self._answer(topic, short=short)
            elif f.followed_up and self._last_topic:
                content = self._answer(self._last_topic, short=short)
            if content is None and not f.offered:
                content = self._line("deflection", self.persona.deflections, kind="deflection")
                hands_back = True
            # ("want me to put you in touch?" asks only to offer: the thanks is the answer)
        elif not (feats.is_backchannel or f.offered or f.monologue or cool):
            guess = _guess(feats.text)
            echo = key_phrase(feats.text) if r.echo and guess is None else None
            if guess is not None:
                # "i bet running a startup is exhausting": the persona's world, not the
                # user's bad news; "i guess that makes sense": agreement, acknowledged
                content = (Line(text=self._pick("guess", GUESS_LINES), kind="reaction",
                                phase=self.phase) if _YOU_RE.search(guess)
                           else self._line("acknowledge", r.acknowledge, kind="reaction"))
            elif _BAD_NEWS_RE.search(feats.text) and not _GOOD_TURN_RE.search(feats.text):
                content = Line(text=self._pick("sympathy", r.sympathy or SYMPATHY_LINES),
                               kind="reaction", phase=self.phase)
            elif (feats.is_opener or introduced_name(feats.text)) and r.introduced \
                    and "introduced" not in self._used:
                content = self._line("introduced", r.introduced, kind="reaction")
                name = introduced_name(feats.text)
                if name:  # "Thank you for hosting, I'm Amira": greeted by name
                    content.text = _with_name(content.text, name)
                if echo and r.echo:  # "...I'm doing economics": and what they said
                    lines.append(content)
                    said = self._pick("echo", r.echo).replace("{echo}", echo)
                    content = Line(text=said[:1].upper() + said[1:], kind="reaction",
                                   phase=self.phase)
            elif _THANKS_RE.match(feats.text):
                content = Line(text=self._pick("thanks", THANKS_LINES), kind="reaction",
                               phase=self.phase)
            elif echo:
                said = self._pick("echo", r.echo).replace("{echo}", echo)
                content = Line(text=said[:1].upper() + said[1:], kind="reaction",
                               phase=self.phase)
            else:
                content = self._line("acknowledge", r.acknowledge, kind="reaction")
        if content:
            lines.append(content)

        if closing:
            lines.append(self._close("stall" if moved_by == "stall" else "natural"))
            return lines

        # A hook in passing: the answer's own hook first, a new one as the reward for a
        # follow-up, otherwise one every other turn while the user is still answering.
        hook = None
        # A reaction that asks about what the user said ("A soup kitchen! Tell me more.")
        # already hands the turn back: no remark or question of the persona's buries it.
        asked = f.asked and not self._offer_only  # an offer put as a question is no question
        touched = None if asked else self._touched_hook(feats.text)
        asks_back = (content is not None and content.kind == "reaction" and not asked and (
            content.text.rstrip().endswith("?") or bool(_TELL_ME_RE.search(content.text))))
        if asks_back and touched is None:
            hands_back = True
        if not short and trigger != "ask_to_meet" and not hands_back:
            if content is not None and content.topic:
                own = self.persona.topic(content.topic).hook
                hook = own if own and own not in self._dropped else None
            if hook is None and f.followed_up and not short:
                hook = self._next_hook(any_phase=True)
            if hook is None and not asked:
                if touched:
                    hook = touched  # their words touch a detail of the persona's: common ground
                elif not any(ln.hooks for ln in self._last_lines):
                    hook = self._next_hook(any_phase=False)
            if hook:
                lines.append(self._mention(hook))
                if asks_back:
                    hands_back = True  # the reaction's question and the detail are enough

        # Hand the conversation back: nudge a user who never asks; prompt when the user did
        # not ask (or the phase changed); stay quiet and cool after a monologue.
        self._turns_since_nudge += 1
        if hands_back:
            pass
        elif (f.quiet_turns >= self.options.never_asks_turns and f.turns > 1
              and self._turns_since_nudge > 2):
            lines.append(self._line("never_asks", r.never_asks, kind="nudge"))
            self._turns_since_nudge = 0
        elif moved_by is not None and (cool or hook is None):
            lines.append(self._prompt(feats.text))  # a new phase is announced, even when cool
        elif not cool and (not asked or self._plan):
            lines.append(self._prompt(feats.text))  # (after a plan made in passing: go on)
        if not lines:  # never leave the user with nothing: a cool "Mm." at least
            lines.append(self._line("monologue", r.monologue, kind="reaction"))
        return lines

    def _offer_line(self, feats: UtteranceFeatures) -> Line:
        r = self.persona.reactions
        echo = key_phrase(feats.text, offer=True)
        options = [o for o in r.offer if echo or "{echo}" not in o] or list(r.offer)
        text = self._pick("offer", options).replace("{echo}", echo or "that")
        return Line(text=text, kind="reaction", phase=self.phase)

    def _answer_target(self, target: Target, feats: UtteranceFeatures,
                       short: bool) -> Line | None:
        """The line that answers what was asked about `target`; None when all of it was said.

        A follow-up detail of an answer already given; else the answer of the topic (or hook)
        that fits the question best (seeded variety only among equally good ones), never one
        said before; when a topic is used up, an unsaid follow-up detail of it.
        """
        clause = self._clause(feats)
        items = (self.persona.topic(target.id).answers if target.kind == "topic"
                 else self.persona.hook(target.id).warm_answers)
        said = {t.answer for t in self._said_targets
                if (t.kind, t.id) == (target.kind, target.id) and t.follow_up is None}
        choice: Target | None = None
        detail: Target | None = None
        if target.follow_up is not None and target.answer is not None:
            parent = items[target.answer]
            if target.follow_up >= 0:
                cand = [target.follow_up]
            else:  # continue the subject: the detail that fits the question best, not said
                ranked = self.router.rank_follow_ups(target, feats.text, clause)
                cand = [k for k, _ in ranked] or list(range(len(parent.follow_ups)))
            cand = [k for k in cand if Target(target.kind, target.id, target.answer, k)
                    not in self._said_targets]
            if target.answer not in said and target.follow_up >= 0:
                # the detail asked for belongs to an answer not given yet: the answer, then
                # the detail ("Where are the warehouses?" -> what Northwind is, then where)
                choice = Target(target.kind, target.id, target.answer)
                # "Why the smoke?" after Marcus said he keeps bees: the hook's mention already
                # set the subject, so the detail asked for is the reply, not the warm answer
                mentioned = target.kind == "hook" and target.id in self._dropped and bool(cand) \
                    and self._fits_detail(target, feats.text, clause)
                if cand and (mentioned or self._asks_for_detail(target, feats.text, clause)):
                    detail = Target(target.kind, target.id, target.answer, cand[0])
                    if short or mentioned:  # the detail asked for, not the answer's start
                        choice, detail = detail, None
            elif cand:
                choice = Target(target.kind, target.id, target.answer, cand[0])
        if choice is None:
            ranked = self.router.rank_answers(target, feats.text, clause, used=said)
            if target.answer is not None and target.answer not in said \
                    and target.follow_up is None:
                choice = Target(target.kind, target.id, target.answer)
            elif ranked:
                top = ranked[0][1]
                ties = [j for j, sc in ranked if sc >= top - ANSWER_TIE]
                choice = Target(target.kind, target.id, self._rng.choice(ties))
        if choice is not None and choice.follow_up is None and detail is None:
            detail = self._detail_that_answers(choice, feats.text, clause)
        if choice is None:  # every answer said: a detail of one of them not told yet
            for j in sorted(said):
                for k in range(len(items[j].follow_ups)):
                    t = Target(target.kind, target.id, j, k)
                    if t not in self._said_targets:
                        choice = t
                        break
                if choice:
                    break
        if choice is None:
            return None
        ans = items[choice.answer]
        item = ans if choice.follow_up is None else ans.follow_ups[choice.follow_up]
        if self._already_said(item.text):
            # the same words under another topic or hook (a story a file tells twice): never
            # said twice in a round - the next best line of this target instead
            self._said_targets.add(choice)
            return self._answer_target(target, feats, short)
        self._said_targets.add(choice)
        self._last_target = choice
        self._last_subject = item.subject or ans.subject or self._last_subject
        text = item.text if choice.follow_up is None else self._not_restated(item.text)
        if short:
            text = _short_reply(text)
        hooks = tuple(h for h in item.hooks)
        if detail is not None and not short:
            more = ans.follow_ups[detail.follow_up]
            text = f"{text} {self._not_restated(more.text, also=text)}"
            hooks = tuple(dict.fromkeys((*hooks, *more.hooks)))
            self._said_targets.add(detail)
            self._last_target = detail
            self._last_subject = more.subject or self._last_subject
        if target.kind == "hook":
            hooks = tuple(dict.fromkeys((target.id, *hooks)))
            if target.id not in self._followed:
                self._followed.append(target.id)
        for h in hooks:
            if h not in self._dropped:
                self._dropped.append(h)
                self._facts.hooks_dropped += 1
                self._facts.hooks_left -= 1
        if target.kind == "topic":
            self._last_topic = target.id
            t = self.persona.topic(target.id)
            kind = "deflection" if t.kind == "personal" else "answer"
            return Line(text=text, kind=kind, phase=self.phase, topic=target.id, hooks=hooks)
        return Line(text=text, kind="hook_answer", phase=self.phase, hooks=hooks)

    def _not_restated(self, text: str, also: str = "") -> str:
        """A detail without its opening sentences that only restate a fact the persona said
        earlier in the round ("Thirty jars last summer." after "...I got thirty jars of honey"),
        as long as something is left to say."""
        if not self.persona.facts:
            return text
        sentences = _SENTENCE_END.split(text.strip())
        if len(sentences) < 2:
            return text
        said: set[str] = facts_stated(self.persona, also)
        for who, line in self.history:
            if who == "persona":
                said |= facts_stated(self.persona, line)
        if not said:
            return text
        while len(sentences) > 1:
            stated = facts_stated(self.persona, sentences[0])
            if not stated or not stated <= said:
                break
            sentences = sentences[1:]
        out = " ".join(sentences)
        return out[:1].upper() + out[1:]

    def _already_said(self, text: str) -> bool:
        """This line, or its first sentence, was said by the persona earlier in the round."""
        head = _first_sentence(text).strip().lower()
        for who, said in self.history:
            if who == "persona" and (said == text or (len(head) >= 25
                                                       and head in said.lower())):
                return True
        return False

    def _detail_that_answers(self, choice: Target, text: str, clause: str | None
                             ) -> Target | None:
        """"How long have you been doing it?" answered by a warm answer about how the training
        goes: the answer says no duration, so its best-fitting detail that does comes with it
        ("Since January."); None when the answer says what was asked, or no detail does."""
        question = clause or text
        items = (self.persona.topic(choice.id).answers if choice.kind == "topic"
                 else self.persona.hook(choice.id).warm_answers)
        ans = items[choice.answer]
        if not ans.follow_ups or says_what_is_asked(question, ans.text) is not False:
            return None
        for k, sc in self.router.rank_follow_ups(choice, text, clause):
            t = Target(choice.kind, choice.id, choice.answer, k)
            if sc >= DETAIL_MIN and t not in self._said_targets \
                    and says_what_is_asked(question, ans.follow_ups[k].text):
                return t
        return None

    def _fits_detail(self, target: Target, text: str, clause: str | None) -> bool:
        """The detail `target` fits the line well in itself."""
        fu = dict(self.router.rank_follow_ups(target, text, clause)).get(target.follow_up)
        return fu is not None and fu >= DETAIL_MIN

    def _asks_for_detail(self, target: Target, text: str, clause: str | None) -> bool:
        """The question asks for that detail rather than for its answer ("Where are the
        warehouses?" after nothing about them): the detail fits clearly better."""
        fu = dict(self.router.rank_follow_ups(target, text, clause)).get(target.follow_up)
        ans = dict(self.router.rank_answers(target, text, clause)).get(target.answer)
        if fu is None or ans is None or fu < DETAIL_MIN:
            return False
        if fu >= ans + DETAIL_MARGIN:
            return True
        # "how long have you been training?": the answer alone says no duration, the detail
        # does - without it the question would go unanswered
        items = (self.persona.topic(target.id).answers if target.kind == "topic"
                 else self.persona.hook(target.id).warm_answers)
        parent = items[target.answer]
        question = clause or text
        return (says_what_is_asked(question, parent.follow_ups[target.follow_up].text) is True
                and says_what_is_asked(question, parent.text) is False)

    def _closed_to_reserved(self, feats: UtteranceFeatures | None) -> bool:
        return bool(self.persona.open_questions_only and feats is not None
                    and feats.is_question and feats.is_open is False)

    def _answer(self, topic_id: str, short: bool) -> Line:
        t = self.persona.topic(topic_id)
        self._last_topic = topic_id
        if short and self.persona.open_questions_only and t.short_answers:
            text = self._pick(f"short:{topic_id}", t.short_answers)
        else:
            text = self._pick(f"topic:{topic_id}", t.answers).text
            if short:
                text = _short_reply(text)
        return Line(text=text, kind="answer", phase=self.phase, topic=topic_id)

    def _hook_answer(self, hook_id: str, short: bool, feats: UtteranceFeatures | None = None
                     ) -> Line:
        h = self.persona.hook(hook_id)
        if hook_id not in self._followed:
            self._followed.append(hook_id)
        if self.router is not None and feats is not None:
            target = self._target if (self._target is not None and self._target.kind == "hook"
                                      and self._target.id == hook_id) else Target("hook", hook_id)
            line = self._answer_target(target, feats, short)
            if line is not None:
                return line
            fresh = [a for a in h.warm_answers if not self._already_said(a.text)]
            if not fresh:  # all of it told: steer on rather than say it again
                return self._line("deflection", self.persona.deflections, kind="deflection")
            return Line(text=_short_reply(fresh[0].text) if short else fresh[0].text,
                        kind="hook_answer", phase=self.phase, hooks=())
        text = self._pick(f"warm:{hook_id}", h.warm_answers).text
        if short:
            text = _short_reply(text)
        return Line(text=text, kind="hook_answer", phase=self.phase, hooks=())

    def _touched_hook(self, user_text: str) -> str | None:
        """A hook not mentioned yet that the user's own words touch ("I ran a half marathon
        last year" -> "I'm training for the Riverside Half!")."""
        words = set(re.findall(r"[a-z0-9']+", user_text.lower()))
        touched = [h.id for h in self.persona.hooks if h.id not in self._dropped
                   and any(c in words for c in h.cues if len(c) >= 4)]
        return touched[0] if touched else None

    def _next_hook(self, any_phase: bool) -> str | None:
        here = [h for h in self.persona.phase(self.phase).hooks if h not in self._dropped]
        if here:
            return self._rng.choice(here)
        if any_phase:
            rest = [h.id for h in self.persona.hooks if h.id not in self._dropped]
            return rest[0] if rest else None
        return None

    def _mention(self, hook_id: str) -> Line:
        h = self.persona.hook(hook_id)
        self._dropped.append(hook_id)
        self._facts.hooks_dropped += 1
        self._facts.hooks_left -= 1
        return Line(text=self._pick(f"mention:{hook_id}", h.mentions), kind="hook",
                    phase=self.phase, hooks=(hook_id,))

    def ask(self, text: str) -> Line:
        """The persona asks the user one of its own questions now (an opener or a prompt of
        its file containing `text`), as if its last turn had ended on it: a scene that starts
        mid-round (the evaluation's "...and you?" items, tests)."""
        key = text.lower().rstrip("?. ")
        for choice in [*self.persona.opener, *(c for ph in self.persona.phases
                                                for c in ph.prompts)]:
            if key in choice.text.lower():
                self._last_own = choice.own
                return self._said([Line(text=choice.text, kind="prompt", phase=self.phase)])[0]
        raise UsageError(f"{self.persona.id} never asks {text!r}")

    def _prompt(self, user_text: str = "") -> Line:
        """A question that hands the conversation back: one of the phase's prompts not asked
        yet in this round, and not the question the user just asked ("what did you make of the
        talks?" is not met with "Did you like the talks?")."""
        ph = self.persona.phase(self.phase)
        if not ph.prompts:  # only final phases have none, and they are handled before
            return self._line("deflection", self.persona.deflections, kind="prompt")
        asked = {text for _, text in self.history}
        fresh = [c for c in ph.prompts if c.text not in asked]
        if not fresh:  # this phase's questions are used up: one of another phase's, not a repeat
            fresh = [c for other in self.persona.phases for c in other.prompts
                     if c.text not in asked]
        if fresh and user_text and self.router is not None:
            vecs = self.router.embedder.embed([user_text, *(c.text for c in fresh)])
            apart = [c for c, v in zip(fresh, vecs[1:], strict=True)
                     if float(vecs[0] @ v) < PROMPT_ECHO]
            fresh = apart or fresh
        if fresh:
            choice = self._rng.choice(fresh)
            self._used.setdefault(f"prompt:{ph.id}", set()).add(choice)
        else:
            choice = self._pick(f"prompt:{ph.id}", ph.prompts)
        self._last_own = choice.own
        return Line(text=choice.text, kind="prompt", phase=self.phase)

    def _close(self, reason: str) -> Line:
        self._close_reason = reason
        c = self.persona.closings
        options = {"ask": c.after_ask, "goodbye": c.goodbye, "stall": c.stall,
                   "natural": c.natural}[reason]
        return self._line(f"close:{reason}", options, kind="close", closes=True)

    def _line(self, key: str, options: Sequence[str], kind: str, closes: bool = False) -> Line:
        return Line(text=str(self._pick(key, options)), kind=kind, phase=self.phase,
                    closes=closes)

    def _pick(self, key: str, options: Sequence[str]) -> str:
        """A seeded choice that does not repeat a line until all of `options` were used."""
        used = self._used.setdefault(key, set())
        fresh = [o for o in options if o not in used]
        if not fresh:
            used.clear()
            fresh = list(options)
        choice = self._rng.choice(fresh)
        used.add(choice)
        return choice

    def _said(self, lines: list[Line]) -> list[Line]:
        # A hook is dropped as soon as any line says it, an answer as well as the hook line
        # (issue 13): the scorecard's rule, so the persona and the scorecard count the same.
        for line in lines:
            cues = [c for c in self.persona.hook_cues() if c.id not in self._dropped]
            for hid in hooks_said(line.text, cues) if cues else ():
                self._dropped.append(hid)
                line.hooks = (*line.hooks, hid)
        for line in lines:
            for h in line.hooks:
                self._said_in.setdefault(h, line.text)
            unsaid = [c for c in self.persona.hook_cues() if c.id not in self._dropped]
            for hid in hooks_named(line.text, unsaid) if unsaid and line.text.strip() else ():
                self._named[hid] = (next(c for c in unsaid if c.id == hid), line.text)
        # ... in the order the lines say them, as the scorecard walks them
        here = [h for line in lines for h in line.hooks]
        rest = [h for h in self._dropped if h not in here]
        self._dropped = rest + [h for h in dict.fromkeys(here) if h in self._dropped]
        if self._last_lines and lines:
            self._earlier_lines = self._last_lines
        self._last_lines = lines
        if not any(line.kind == "prompt" for line in lines) and \
                not any(line.kind == "opener" for line in lines):
            self._last_own = None if lines else self._last_own
        self.history.extend(("persona", line.text) for line in lines)
        return lines

    # --- after the round ----------------------------------------------------------------------

    def recall_questions(self, n: int = 2, only_dropped: bool = False) -> list[RecallQuestion]:
        """Listening checks on hooks: dropped ones first (in the order dropped).

        When fewer than `n` hooks were dropped, the rest are filled from hooks never mentioned
        unless `only_dropped` (a caller may prefer to ask fewer questions than unfair ones).
        """
        order = list(self._dropped)
        if len(order) > n:
            keep = set(random.Random(self._recall_seed).sample(order, n))
            order = [h for h in order if h in keep]
        if not only_dropped:
            rest = [h.id for h in self.persona.hooks if h.id not in order]
            order += rest[: max(0, n - len(order))]
        out = []
        for hid in order[:n]:
            h = self.persona.hook(hid)
            out.append(RecallQuestion(hook_id=hid, question=h.recall.question,
                                      answers=tuple(a.lower() for a in h.recall.answers)))
        return out


# --- the machine as a diagram -----------------------------------------------------------------


def machine_dot(persona: Persona) -> str:
    """Graphviz DOT text of the persona's machine, read back from the built `transitions` one."""
    facts = _Facts(persona.patience, len(persona.hooks))
    machine = build_machine(persona, facts)
    finals = {ph.id for ph in persona.phases if ph.final}

    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = [f"digraph {q(persona.id)} {{", "  rankdir=LR;",
           f"  label={q(f'{persona.name} - {persona.setting} ({persona.difficulty})')};",
           '  labelloc="t"; node [shape=box, style=rounded, fontname="Helvetica"];',
           '  edge [fontname="Helvetica", fontsize=10];',
           '  __start [shape=point, label=""];',
           f"  __start -> {q(persona.initial)};"]
    for ph in persona.phases:
        shape = ", shape=doublecircle" if ph.id in finals else ""
        out.append(f"  {q(ph.id)} [label={q(ph.id)}{shape}];")
    # (dest, label) -> sources, in the machine's order; an edge from every live phase is drawn
    # once, from an "any phase" node (the file's source: "*"), to keep the picture readable.
    edges: dict[tuple[str, str], list[str]] = {}
    for trigger, event in machine.events.items():
        for source, trans in event.transitions.items():
            if source in finals:
                continue  # a wildcard source also covers final phases; no event fires there
            for t in trans:
                conds = [(str(c.func.text) if c.target else f"not {c.func.text}")
                         for c in t.conditions]
                label = trigger + (f" [{', '.join(conds)}]" if conds else "")
                srcs = edges.setdefault((t.dest, label), [])
                if source not in srcs:
                    srcs.append(source)
    live = [ph.id for ph in persona.phases if ph.id not in finals]
    if any(len(srcs) == len(live) > 1 for srcs in edges.values()):
        out.append('  __any [label="any phase", shape=box, style="rounded,dashed"];')
    for (dest, label), srcs in edges.items():
        if len(srcs) == len(live) > 1:
            out.append(f"  __any -> {q(dest)} [label={q(label)}, style=dashed];")
        else:
            out.extend(f"  {q(src)} -> {q(dest)} [label={q(label)}];" for src in srcs)
    out.append("}")
    return "\n".join(out) + "\n"
