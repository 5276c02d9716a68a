"""Typed values passed between the stages of a round (see ARCHITECTURE.md, data flow).

Plain dataclasses only: no devices, no models. numpy arrays carry audio.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np

SAMPLE_RATE_HZ = 16_000
Speaker = Literal["persona", "user"]


@dataclass(frozen=True)
class Word:
    """One recognised word with its time in the utterance, seconds from its start."""

    text: str
    start_s: float
    end_s: float


@dataclass
class Transcript:
    """What the ASR engine heard in one utterance."""

    text: str
    words: list[Word] = field(default_factory=list)
    duration_s: float = 0.0  # length of the audio transcribed
    engine: str = ""
    model: str = ""
    seconds_taken: float = 0.0  # wall-clock time of the transcription


@dataclass
class Utterance:
    """One user reply as captured: audio (float32 mono @16 kHz) or typed text.

    Times are seconds on the round's clock (0 = round start).
    """

    audio: np.ndarray | None = None
    sample_rate_hz: int = SAMPLE_RATE_HZ
    start_s: float = 0.0
    end_s: float = 0.0
    text: str | None = None  # typed replies carry text and no audio
    pause_before_s: float | None = None  # from end of persona line to start of speech
    interrupted: bool = False  # user started while the persona was still speaking
    capped: bool = False  # cut at the maximum reply length; the next listen goes on with it
    continued: bool = False  # goes on with the previous (capped) reply: one stretch of talk
    timed_out: bool = False  # no reply within the no-reply timeout (silence)
    # Round time of audio[0]: captured audio begins pre_roll before start_s (None: not known,
    # e.g. typed replies)
    audio_start_s: float | None = None

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


# Persona line kinds (see trainer.conversation.LINE_KINDS) that answer what the user asked: a
# topic's answer, the warm answer to a hook follow-up, the answer to an ask to meet. The
# scorecard's "engaging question" (answered in the very next turn) counts these; the
# conversation and scoring both read them from here.
ANSWERING_LINE_KINDS = frozenset({"answer", "hook_answer", "ask_answer"})


@dataclass
class Line:
    """One thing the persona says, as chosen by the conversation machine."""

    text: str
    kind: str = "answer"  # opener, answer, deflection, hook, prompt, reaction, close, ...
    phase: str = ""
    hooks: tuple[str, ...] = ()  # ids of hooks this line drops
    topic: str | None = None  # topic id when the line answers a topic question
    closes: bool = False  # the persona ends the conversation with this line


@dataclass
class Turn:
    """One stored turn of a round, persona or user."""

    index: int
    speaker: Speaker
    text: str
    start_s: float = 0.0
    end_s: float = 0.0
    phase: str = ""
    hooks: tuple[str, ...] = ()  # persona turns: hooks dropped in this line
    topic: str | None = None
    kind: str = ""  # persona line kind
    words: list[Word] = field(default_factory=list)
    pause_before_s: float | None = None
    interrupted: bool = False
    audio_path: str | None = None  # user turns: WAV kept beside the store
    error: str | None = None  # e.g. transcription failed (audio kept)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


@dataclass(frozen=True)
class RecallQuestion:
    """A listening check after the round: a question on a detail the persona dropped."""

    hook_id: str
    question: str  # "What is Dana's puppy called?"
    answers: tuple[str, ...]  # accepted answers, lowercase ("biscuit",)


def turn_to_dict(turn: Turn) -> dict[str, Any]:
    """A JSON-ready dict of a turn (the session export format uses it)."""
    d = asdict(turn)
    d["hooks"] = list(turn.hooks)
    return d


def turn_from_dict(d: dict[str, Any]) -> Turn:
    """The inverse of turn_to_dict; unknown keys are ignored."""
    known = {f.name for f in fields(Turn)}
    kw = {k: v for k, v in d.items() if k in known}
    kw["hooks"] = tuple(kw.get("hooks") or ())
    kw["words"] = [Word(**w) if isinstance(w, dict) else w for w in kw.get("words") or []]
    kw["meta"] = dict(kw.get("meta") or {})
    return Turn(**kw)
