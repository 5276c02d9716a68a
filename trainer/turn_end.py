"""Has the user finished their turn? How long a pause must last, read from the words so far.

Pure. The speech edge (speech/sources.py) confirms the end of a turn after a stretch of silence.
A fixed stretch is either slow (0.7 s: the persona answered 0.82 s after the user stopped) or
cuts people off mid-thought. People leave about 0.2 s between turns (Stivers et al. 2009) and
hear from the words whether the other has finished (issue 15), so while the user pauses the
reply so far is transcribed (a draft) and `judge` says how long the pause must last:

- after a finished **question** -- short: a question hands the turn over;
- after a finished **sentence** -- a little longer;
- after something **unfinished** -- a trailing conjunction ("and", "so", "but"), a filler
  ("um"), a preposition or article, a comma or a trailing "..." (Whisper's mark for speech
  that trails off), a subordinate clause with no main clause yet ("If the team is kind."), a
  bare "I think." -- much longer;
- a **brief** statement (fewer than `brief_words` words: "Mostly Python SQL.", "I am a nurse.")
  says too little to judge -- a list being said, a fragment, a short answer -- and so does a
  draft with no closing mark: today's fixed wait;
- longer still for statements when the persona asked for a story (`asks_for_story`): a story
  comes in several sentences with pauses between them.

Whisper's punctuation is unreliable, so questions are found by word pattern
(questions.question_form) and "?" is only extra evidence; for unfinished speech the last word
decides first, the mark second. tiny.en also tidies speech up: a trailing "and" or "um" before a
pause is often left out of the draft ("I work on data pipelines and," -> "I work on data
pipeline."), so some unfinished replies look finished. The word timestamps catch most of
those: when the voiced audio runs on well past the draft's last word, a word is missing and
the pause is judged unfinished (`untranscribed_s`). benchmarks/latency.py counts what is left
against the fixed wait.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from trainer.lexicon import FILLER_WORDS, expand, tokens, word_set
from trainer.questions import clauses, question_form, strip_lead
from trainer.types import Transcript

# Last words that leave a sentence open whatever comes before: conjunctions and fillers.
CONJUNCTIONS = word_set(
    """and but or nor so because cause 'cause since although though while whereas unless until
    if whether than plus"""
)
# "so" closes these ("I think so", "I hope so").
_SO_CLOSES = word_set("think hope guess believe suppose said told expect afraid say thought")
# Last words that leave a statement open (a question may end on them: "where are you from?"):
# articles, possessives, prepositions, relatives.
OPEN_ENDS = word_set(
    """the a an my your our their his her its some every each of to in on at for from with
    about into onto over under between through by via per like which whose whom just"""
)
# A clause opened by these needs a main clause ("If the team is kind, ..."), unless it answers
# the partner's question (the value: words of a question it answers, "why" -> "because ...").
SUBORDINATORS = {
    "if": (), "unless": (), "although": (), "though": (), "while": (), "whereas": (),
    "because": ("why", "come"), "cause": ("why", "come"), "when": ("when",),
    "after": ("when",), "before": ("when",), "until": ("when", "long"),
    "once": ("when",), "whenever": ("when", "often"),
}
# "I think." / "I mean." alone: the thought is still coming.
_COMPLEMENT_VERBS = word_set("think mean thinking guess suppose believe feel")
# A new clause's subject after a conjunction ("It has been a busy day, and I") has its verb
# still to come ("So do I." ends on "I" after a verb: finished).
_SUBJECTS = word_set("i we they he she")
# Whisper's marks for speech that trails off.
_TRAILING_OFF = ("...", "\u2026", "-", "\u2014", "\u2013")

# Persona lines that invite a long, narrative answer (not just any open question: "What do
# you do?" gets a sentence or two; "Tell me about..." gets a story).
_STORY_RE = re.compile(
    r"\b(?:tell me (?:about|more|how|what|why|the story)|walk me through|"
    r"what (?:was|is) (?:that|it) like|how did (?:you|that|it) (?:get|end up|start|come|"
    r"happen|begin|find|decide|become)|what got you (?:into|started)|what happened|"
    r"what (?:is|was) the story|describe|how come|what made you)\b")


@dataclass(frozen=True)
class EndOfTurnOptions:
    """How long a pause must last before the persona speaks, in seconds of silence.

    The end of speech is only known once the VAD has heard `tail_s` of silence and the draft
    is transcribed, so in practice the short waits are "as soon as the draft is in".
    """

    question_s: float = 0.25  # after a finished question
    finished_s: float = 0.45  # after a finished sentence
    unfinished_s: float = 1.4  # trailing conjunction, filler, comma, trailing off
    story_extra_s: float = 0.5  # added to sentences and unfinished speech after a story prompt
    brief_words: int = 5  # a statement with fewer words than this ...
    brief_wait_s: float = 0.7  # ... waits this long: today's fixed wait
    empty_s: float = 0.7  # the draft heard no words (a cough, a breath): today's fixed wait
    # Voiced audio this long after the draft's last word (its word timestamps) is a word the
    # draft left out: tiny.en drops a lone trailing "and" or "um" before a pause ("I work on
    # data pipelines and," -> "I work on data pipeline."). Measured on espeak-ng speech
    # (benchmarks/latency.py's replies, each cut the way the microphone's pause cuts it):
    # 0.21-0.33 s after three such drafts (0.11 s after a fourth, missed), -0.08..+0.07 s after
    # 33 finished statements; 0.22 s after one question, so questions are left alone. Since
    # session 20 the voiced audio is the low band (sources.voiced_end_s): the hiss of a final
    # "s" ran 0.1 s past its word and made "...on weekend." look unfinished (1.4 s).
    untranscribed_s: float = 0.12


@dataclass(frozen=True)
class Verdict:
    """The judge's reading of the reply so far."""

    kind: str  # "question" | "finished" | "unfinished" | "unclear" | "empty"
    silence_s: float  # the pause that ends the turn
    reason: str  # e.g. "ends on 'and'", for traces and tests


def asks_for_story(persona_text: str) -> bool:
    """Does the persona's line invite a story ("Tell me about...", "How did you get into...")?"""
    return bool(_STORY_RE.search(" ".join(expand(tokens(persona_text)))))


def judge(text: str, *, partner_text: str = "", options: EndOfTurnOptions | None = None,
          untranscribed_s: float | None = None) -> Verdict:
    """How long the user's pause must last before their turn is over.

    Args:
        text: the draft transcript of the reply so far.
        partner_text: the persona's line the user is answering (a story prompt waits longer;
            "Because ..." answers "why?").
        untranscribed_s: seconds of voiced audio after the draft's last word (see
            `untranscribed_speech_s`); past `options.untranscribed_s` a statement that reads
            as finished is not: the draft left its last word out.
    """
    o = options or EndOfTurnOptions()
    verdict = _judge_text(text, partner_text, o)
    if (untranscribed_s is not None and untranscribed_s >= o.untranscribed_s
            and verdict.kind in ("finished", "unclear")):
        extra = o.story_extra_s if partner_text and asks_for_story(partner_text) else 0.0
        return Verdict("unfinished", o.unfinished_s + extra,
                       f"{untranscribed_s:.2f} s of speech after the last word heard")
    return verdict


def untranscribed_speech_s(draft: Transcript, speech_end_s: float | None) -> float | None:
    """Seconds of speech after the last word the draft heard: `speech_end_s` (where the voiced
    audio ends, seconds from the start of the audio the draft transcribed) minus the end of
    its last word. None if either is unknown."""
    if speech_end_s is None or not draft.words:
        return None
    return speech_end_s - draft.words[-1].end_s


def _judge_text(text: str, partner_text: str, o: EndOfTurnOptions) -> Verdict:
    extra = o.story_extra_s if partner_text and asks_for_story(partner_text) else 0.0

    def unfinished(reason: str) -> Verdict:
        return Verdict("unfinished", o.unfinished_s + extra, reason)

    raw = text.strip()
    toks = tokens(raw)
    words = [t for t in toks if t not in "?.!;,\n"]
    if not words:
        return Verdict("empty", o.empty_s, "no words")
    last = words[-1]
    before = words[-2] if len(words) > 1 else ""
    if last in FILLER_WORDS or (last in CONJUNCTIONS and not (last == "so"
                                                              and before in _SO_CLOSES)):
        return unfinished(f"ends on {last!r}")
    if last in _SUBJECTS and before in CONJUNCTIONS:  # "..., and I." -- its verb is coming
        return unfinished(f"ends on {before} {last!r}")
    if raw.endswith(_TRAILING_OFF):
        return unfinished("trails off")
    mark = toks[-1] if toks[-1] in "?.!;," else ""
    if mark in (",", ";"):
        return unfinished(f"ends on {mark!r}")
    final = clauses(toks)[-1]
    if mark == "?" or question_form(final.exp, final.mark):
        return Verdict("question", o.question_s, "a question")
    if last in OPEN_ENDS:
        return unfinished(f"ends on {last!r}")
    sentence = _last_sentence(toks)
    core = strip_lead(expand([t for t in sentence if t != ","]))
    if core and core[0] in SUBORDINATORS and "," not in sentence:
        partner = set(expand(tokens(partner_text)))
        if not partner & set(SUBORDINATORS[core[0]]):
            return unfinished(f"a {core[0]!r} clause without its main clause")
    if not mark:
        # Whisper mostly closes finished speech with a mark, but not always ("I think the
        # people more than the code"): no mark is no evidence either way, so the fixed wait.
        return Verdict("unclear", max(o.brief_wait_s, o.finished_s + extra), "no closing mark")
    if last in _COMPLEMENT_VERBS and len(core) <= 3:
        return unfinished(f"a bare {' '.join(core)!r}")
    if len(words) < o.brief_words:
        return Verdict("finished", max(o.brief_wait_s, o.finished_s + extra), "a brief statement")
    return Verdict("finished", o.finished_s + extra, "a finished sentence")


def _last_sentence(toks: list[str]) -> list[str]:
    """The tokens of the last sentence (commas kept, its closing mark dropped)."""
    body = toks[:-1] if toks and toks[-1] in "?.!;" else toks
    for i in range(len(body) - 1, -1, -1):
        if body[i] in "?.!;\n":
            return body[i + 1:]
    return body


def draft_judge(partner_text: str = "", options: EndOfTurnOptions | None = None
                ) -> Callable[[Transcript, float | None], float]:
    """The judge for speech.sources.AdaptiveEndOfTurn: (a draft Transcript, where the voiced
    audio it transcribed ends in seconds or None) -> the silence (s) that ends the turn in
    this pause, for a reply to the persona's `partner_text`."""

    def silence_s(draft: Transcript, speech_end_s: float | None = None) -> float:
        return judge(draft.text, partner_text=partner_text, options=options,
                     untranscribed_s=untranscribed_speech_s(draft, speech_end_s)).silence_s

    return silence_s
