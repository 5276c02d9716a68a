"""Has the user finished their turn? How long a pause must last, read from the words so far.

Pure. The speech edge (speech/sources.py) confirms the end of a turn after a stretch of silence.
A fixed stretch is either slow (0.7 s: the persona answered 0.82 s after the user stopped) or
cuts people off mid-thought. People leave about 0.2 s between turns (Stivers et al. 2009) and
hear from the words whether the other has finished (issue 15), so while the user pauses the
reply so far is transcribed (a draft) and `judge` says how long the pause must last:

- after a finished **question** -- short: a question hands the turn over;
- after a finished **sentence** -- a little longer;
- after something **unfinished** -- a trailing conjunction ("and", "so", "but"), a filler
  ("um"), a preposition or article, a subordinator ("because", "when"), a comma or a trailing
  "..." (Whisper's mark for speech that trails off) -- much longer;
- longer still for statements when the persona asked for a story (`asks_for_story`): a story
  comes in several sentences with pauses between them.

Whisper's punctuation is unreliable, so questions are found by word pattern
(questions.question_form) and "?" is only extra evidence; for unfinished speech the last word
decides first, the mark second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainer.lexicon import FILLER_WORDS, expand, tokens, word_set
from trainer.questions import clauses, question_form

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

    question_s: float = 0.3  # after a finished question
    finished_s: float = 0.5  # after a finished sentence
    unfinished_s: float = 1.4  # trailing conjunction, filler, comma, trailing off
    story_extra_s: float = 0.5  # added to sentences and unfinished speech after a story prompt
    empty_s: float = 0.7  # the draft heard no words (a cough, a breath): today's fixed wait


@dataclass(frozen=True)
class Verdict:
    """The judge's reading of the reply so far."""

    kind: str  # "question" | "finished" | "unfinished" | "empty"
    silence_s: float  # the pause that ends the turn
    reason: str  # e.g. "ends on 'and'", for traces and tests


def asks_for_story(persona_text: str) -> bool:
    """Does the persona's line invite a story ("Tell me about...", "How did you get into...")?"""
    return bool(_STORY_RE.search(" ".join(expand(tokens(persona_text)))))


def judge(text: str, *, story: bool = False,
          options: EndOfTurnOptions | None = None) -> Verdict:
    """How long the user's pause must last, given the draft transcript `text` of their reply
    so far; `story`: the persona asked for a story (see asks_for_story)."""
    o = options or EndOfTurnOptions()
    extra = o.story_extra_s if story else 0.0
    raw = text.strip()
    toks = tokens(raw)
    words = [t for t in toks if t not in "?.!;,\n"]
    if not words:
        return Verdict("empty", o.empty_s, "no words")
    last = words[-1]
    before = words[-2] if len(words) > 1 else ""
    if last in FILLER_WORDS or (last in CONJUNCTIONS and not (last == "so"
                                                              and before in _SO_CLOSES)):
        return Verdict("unfinished", o.unfinished_s + extra, f"ends on {last!r}")
    if raw.endswith(_TRAILING_OFF):
        return Verdict("unfinished", o.unfinished_s + extra, "trails off")
    mark = toks[-1] if toks[-1] in "?.!;," else ""
    if mark in (",", ";"):
        return Verdict("unfinished", o.unfinished_s + extra, f"ends on {mark!r}")
    final = clauses(toks)[-1]
    if mark == "?" or question_form(final.exp, final.mark):
        return Verdict("question", o.question_s, "a question")
    if last in OPEN_ENDS:
        return Verdict("unfinished", o.unfinished_s + extra, f"ends on {last!r}")
    if not mark:  # Whisper closes finished speech with a mark; none is a fragment
        return Verdict("unfinished", o.unfinished_s + extra, "no closing mark")
    return Verdict("finished", o.finished_s + extra, "a finished sentence")
