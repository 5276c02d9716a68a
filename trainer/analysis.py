"""Per-utterance features from text (+ word timings): questions, follow-ups, fillers, focus...

Pure: no devices, no models. Everything must also work on text with no punctuation and no
capitals (Whisper's punctuation is unreliable).

INTERFACE (agreed between conversation, scoring and practice; the implementation is in progress).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from trainer.types import Word


@dataclass(frozen=True)
class HookCue:
    """A personal detail the partner dropped, and what counts as following up on it."""

    id: str
    cues: tuple[str, ...]  # lowercase words/phrases; any of them in a question = follow-up
    label: str = ""  # short name for reports, e.g. "rescue puppy Biscuit"
    suggestion: str = ""  # a better line, e.g. "How long have you had Biscuit?"


@dataclass(frozen=True)
class TurnContext:
    """What the user was answering: the partner's last line and the hooks dropped so far."""

    partner_text: str = ""
    partner_name: str | None = None
    hooks: tuple[HookCue, ...] = ()
    first_user_turn: bool = False


@dataclass
class UtteranceFeatures:
    """Labels for one user utterance."""

    text: str
    word_count: int = 0
    is_question: bool = False
    question_count: int = 0
    question_kind: str | None = None  # introductory | mirror | topic_switch | follow_up | None
    is_open: bool | None = None  # open vs closed; None when not a question
    follow_up: str | None = None  # None | "partner" (builds on the last line) | "hook:<id>"
    follow_up_hook: str | None = None  # hook id when the follow-up takes up a hook
    fillers: list[str] = field(default_factory=list)
    filler_rate: float = 0.0  # fillers per word
    wpm: float | None = None  # from word timings / duration when there are any
    i_words: int = 0
    you_words: int = 0
    is_opener: bool = False
    is_offer: bool = False
    is_ask: bool = False  # ask to follow up: coffee, swap contacts, connect, email
    uses_name: bool = False
    is_backchannel: bool = False
    is_goodbye: bool = False
    is_empty: bool = False


def analyze_utterance(
    text: str,
    context: TurnContext | None = None,
    words: Sequence[Word] | None = None,
    duration_s: float | None = None,
) -> UtteranceFeatures:
    """Label one utterance. Never raises on any string."""
    raise NotImplementedError("being built (issue 4)")
