"""End-of-turn detection: when did the user start and stop speaking?

A pure state machine fed one frame at a time with the frame's audio and its VAD speech
probability; it knows nothing about devices or clocks, only sample counts, so tests drive it
with synthetic frames. Positions are sample indices from the start of listening.

The rule (issue 6):
- a turn **starts** at the first speech frame (probability >= `vad_threshold`) of a run that
  stays speech-like (>= the lower `vad_neg_threshold`) for `min_speech_s`; shorter blips
  (a cough, a click, a noise burst) are ignored. The turn's audio keeps `pre_roll_s` before it.
- it **ends** once the probability stays below `vad_neg_threshold` for `silence_s`
  (0.7 s by default); the end time is the start of that silence, and `tail_s` of it is kept.
- it is **capped** near `max_reply_s`: where the user talks on after a pause that began past
  it (or mid-speech when no pause comes within `cap_grace_s`), so a long reply comes in parts
  of a bounded size; a pause past the cap that ends the turn ends it as usual. Nothing is
  lost: the capped `TurnEnded` carries the audio already read past the cut (`rest`), and an
  endpointer made with `continuing=True` picks the reply up exactly there (issue 14, probe 8:
  a two-minute reply used to lose everything after 45 s);
- with no speech `no_reply_timeout_s` after the persona finished, there is **no reply**.

For low latency the machine also reports `SpeechPaused` once the silence has lasted `tail_s`:
from then on the turn's audio is final unless speech resumes, so a transcriber can start on it
while the rest of the silence is being confirmed (see sources.SpeculativeTranscriber).

The silence that ends a turn need not be fixed: while a pause lasts, the caller may set
`end_silence_s` (issue 15: short after a finished question, long after "and" or "um", judged
from the draft transcript by sources.AdaptiveEndOfTurn). It is read at every frame; None
means `silence_s`. Speech that resumes voids it (the next pause gets its own).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainer.errors import UsageError


@dataclass
class EndpointOptions:
    """How a reply is cut out of the microphone stream. All times in seconds.

    Attributes:
        silence_s: continuous non-speech that ends a turn.
        pre_roll_s: audio kept before the detected start of speech (soft onsets, breaths).
        tail_s: audio kept after the last speech frame; must be shorter than `silence_s`.
            It is also when the draft transcript starts (SpeechPaused), so it is on the
            path of every turn's latency: 0.1 s, not 0.2 (issue 15). Whisper does not need
            more: WER 8.4% / 8.6% / 8.0% with 0.2 / 0.15 / 0.1 s on 46 espeak-ng replies.
        max_reply_s: a turn is cut (`capped`) where the user talks on after a pause that
            began this long after its start; None: never. The rest of the reply is the next
            part.
        cap_grace_s: past `max_reply_s`, how long the cut waits for a pause before it cuts
            mid-speech (a pause keeps a word from being split between two parts).
        no_reply_timeout_s: with no speech this long after the persona's line ended, the reply
            is `timed_out`; None: wait for ever.
        min_speech_s: speech must last this long to count as the start of a turn.
        vad_threshold: VAD probability (0..1) at or above which a frame is speech.
        vad_neg_threshold: probability below which a frame is silence; in between, a frame
            keeps the current state (hysteresis). None: `vad_threshold - 0.15`, as in Silero.
        undecided_max_s: with an end-of-turn policy (sources.EndOfTurnPolicy) that has no
            verdict yet for a pause (its draft transcript is still running), the pause ends
            the turn after this much silence anyway.
        allow_interrupt: speech that starts while the persona is talking stops the persona.
            Turn it off when the microphone hears the speaker (no headphones), or the persona
            would interrupt itself; then listening after a finished line ignores the audio
            from before its end and the room's echo (sources.ECHO_TAIL_S).
    """

    silence_s: float = 0.7
    pre_roll_s: float = 0.3
    tail_s: float = 0.1
    max_reply_s: float | None = 45.0
    cap_grace_s: float = 5.0
    no_reply_timeout_s: float | None = 8.0
    min_speech_s: float = 0.15
    vad_threshold: float = 0.5
    vad_neg_threshold: float | None = None
    undecided_max_s: float = 2.0
    allow_interrupt: bool = True

    def __post_init__(self):
        problems = []
        if self.silence_s <= 0:
            problems.append(f"silence_s must be > 0 (got {self.silence_s})")
        if not 0 <= self.tail_s < self.silence_s:
            problems.append(f"tail_s must be >= 0 and < silence_s (got {self.tail_s})")
        if self.pre_roll_s < 0 or self.min_speech_s < 0:
            problems.append("pre_roll_s and min_speech_s must be >= 0")
        if self.max_reply_s is not None and self.max_reply_s <= 0:
            problems.append(f"max_reply_s must be > 0 or None (got {self.max_reply_s})")
        if self.cap_grace_s < 0:
            problems.append(f"cap_grace_s must be >= 0 (got {self.cap_grace_s})")
        if self.no_reply_timeout_s is not None and self.no_reply_timeout_s <= 0:
            problems.append("no_reply_timeout_s must be > 0 or None "
                            f"(got {self.no_reply_timeout_s})")
        if not 0 < self.vad_threshold < 1:
            problems.append(f"vad_threshold must be between 0 and 1 (got {self.vad_threshold})")
        if problems:
            raise UsageError("bad end-of-turn options: " + "; ".join(problems))

    @property
    def neg_threshold(self) -> float:
        if self.vad_neg_threshold is not None:
            return self.vad_neg_threshold
        return max(self.vad_threshold - 0.15, 0.01)


# --- events -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SpeechStarted:
    """Speech confirmed; it began at `onset_sample`."""

    onset_sample: int


@dataclass(frozen=True)
class SpeechPaused:
    """Silence after speech has lasted `tail_s`: if the turn ends here, `audio` is its audio.

    `audio_start_sample` is the position of `audio[0]`; `end_sample` the end of speech.
    """

    onset_sample: int
    end_sample: int
    audio_start_sample: int
    audio: np.ndarray


@dataclass(frozen=True)
class SpeechResumed:
    """Speech came back before the silence was long enough: the last pause is void."""

    at_sample: int


@dataclass(frozen=True)
class TurnEnded:
    """The turn is over. Speech ran from `onset_sample` to `end_sample`; `audio` starts at
    `audio_start_sample` (pre-roll included) and includes up to `tail_s` after the end.

    `capped`: cut near max_reply_s while the user is still talking. Then `end_sample` is the
    cut (a pause the user talked on from is the first part's), `audio` ends exactly there, and
    `rest` is the audio already pushed after it (whole frames, possibly none): feed it first
    to an Endpointer(continuing=True) to go on.
    """

    onset_sample: int
    end_sample: int
    audio_start_sample: int
    audio: np.ndarray
    capped: bool = False
    rest: np.ndarray | None = None


@dataclass(frozen=True)
class NoReply:
    """No speech within `no_reply_timeout_s` of the timeout origin (or before the input ended)."""

    at_sample: int


Event = SpeechStarted | SpeechPaused | SpeechResumed | TurnEnded | NoReply

_WAITING, _ONSET, _SPEAKING, _SILENCE, _DONE = "waiting", "onset", "speaking", "silence", "done"


class Endpointer:
    """The end-of-turn rule, fed with `push(frame, prob)`; see the module docstring.

    Each `push` returns the events the frame caused (usually none). After `TurnEnded` or
    `NoReply` the endpointer is done; make a new one for the next turn.

    `continuing=True`: the input goes on from a capped turn's cut (TurnEnded.rest first). The
    user is speaking from sample 0 (no onset to confirm, no pre-roll, no timeout); if the
    silence that follows ends the turn with no more speech, its TurnEnded has
    `end_sample == onset_sample == 0`: the reply had ended at the cut.
    """

    def __init__(self, options: EndpointOptions | None = None, sample_rate_hz: int = 16_000,
                 continuing: bool = False):
        self.options = options or EndpointOptions()
        self.sample_rate_hz = sample_rate_hz
        self.timeout_origin_sample = 0  # no-reply timeout counts from here (persona's end)
        self.pos = 0  # samples pushed so far
        self._state = _SPEAKING if continuing else _WAITING
        self._frames: list[np.ndarray] = []  # audio kept, starting at self._kept_from
        self._kept_from = 0
        self._kept_len = 0
        self._onset = 0
        self._silence_from = 0
        self._paused_sent = False
        # The silence that ends the current pause (seconds; None: options.silence_s), set by
        # the caller while the pause lasts, cleared when speech resumes.
        self.end_silence_s: float | None = None

    # --- helpers ---------------------------------------------------------------------------
    def _samples(self, seconds: float) -> int:
        return int(round(seconds * self.sample_rate_hz))

    @property
    def state(self) -> str:
        return self._state

    @property
    def done(self) -> bool:
        return self._state == _DONE

    @property
    def paused(self) -> bool:
        """In a pause that has lasted `tail_s` (SpeechPaused was reported for it)."""
        return self._state == _SILENCE and self._paused_sent

    @property
    def quiet_s(self) -> float:
        """How long the current pause has lasted (0 outside a pause)."""
        if self._state != _SILENCE:
            return 0.0
        return (self.pos - self._silence_from) / self.sample_rate_hz

    def _end_silence_samples(self) -> int:
        o = self.options
        seconds = o.silence_s if self.end_silence_s is None else self.end_silence_s
        # never shorter than the tail the turn's audio keeps (SpeechPaused's audio is final)
        return max(self._samples(seconds), self._samples(o.tail_s) + 1)

    def _audio(self, start: int, end: int) -> np.ndarray:
        """Kept audio between two positions (clipped to what is kept)."""
        audio = np.concatenate(self._frames) if self._frames else np.zeros(0, np.float32)
        self._frames = [audio]
        a = max(0, start - self._kept_from)
        b = max(a, min(len(audio), end - self._kept_from))
        return audio[a:b].copy()

    def _trim_waiting(self) -> None:
        """While nobody speaks, keep only what a pre-roll (+ a pending onset) could need."""
        keep = self._samples(self.options.pre_roll_s) + self._samples(self.options.min_speech_s)
        keep += 2 * 1024  # a little slack for frame rounding
        while len(self._frames) > 1 and self._kept_len - len(self._frames[0]) >= keep:
            first = self._frames.pop(0)
            self._kept_from += len(first)
            self._kept_len -= len(first)

    def _over_cap(self, sample: int) -> bool:
        o = self.options
        return o.max_reply_s is not None and sample - self._onset >= self._samples(o.max_reply_s)

    def _end(self, end_sample: int, capped: bool) -> TurnEnded:
        start = max(self._kept_from, self._onset - self._samples(self.options.pre_roll_s))
        tail_end = end_sample if capped else end_sample + self._samples(self.options.tail_s)
        self._state = _DONE
        rest = self._audio(end_sample, self.pos) if capped else None
        return TurnEnded(onset_sample=self._onset, end_sample=end_sample,
                         audio_start_sample=start, audio=self._audio(start, tail_end),
                         capped=capped, rest=rest)

    # --- the rule --------------------------------------------------------------------------
    def push(self, frame: np.ndarray, prob: float) -> list[Event]:
        """Feed one frame of audio and its VAD speech probability; returns the events."""
        if self._state == _DONE:
            raise RuntimeError("endpointer is done; make a new one for the next turn")
        o = self.options
        frame = np.asarray(frame, dtype=np.float32).reshape(-1)
        frame_start = self.pos
        self._frames.append(frame)
        self._kept_len += len(frame)
        self.pos += len(frame)
        events: list[Event] = []
        speech = prob >= o.vad_threshold
        silence = prob < o.neg_threshold

        if self._state == _WAITING and speech:
            self._state, self._onset = _ONSET, frame_start
        elif self._state == _ONSET and silence:
            self._state = _WAITING  # a blip, not a turn
        if self._state == _ONSET and self.pos - self._onset >= self._samples(o.min_speech_s):
            self._state = _SPEAKING
            events.append(SpeechStarted(self._onset))
        elif self._state == _SPEAKING and silence:
            self._state, self._silence_from, self._paused_sent = _SILENCE, frame_start, False
        elif self._state == _SILENCE and speech:
            if self._over_cap(frame_start):
                # Past the cap, a pause the user talks on from is the cut: the words on both
                # sides stay whole, and the next part starts with this frame.
                events.append(self._end(frame_start, capped=True))
                return events
            self._state = _SPEAKING
            self.end_silence_s = None
            if self._paused_sent:
                events.append(SpeechResumed(frame_start))

        if self._state == _SILENCE:
            quiet = self.pos - self._silence_from
            if not self._paused_sent and quiet >= self._samples(o.tail_s):
                self._paused_sent = True
                start = max(self._kept_from, self._onset - self._samples(o.pre_roll_s))
                end = self._silence_from + self._samples(o.tail_s)
                events.append(SpeechPaused(self._onset, self._silence_from, start,
                                           self._audio(start, end)))
            if self._paused_sent and quiet >= self._end_silence_samples():
                events.append(self._end(self._silence_from, capped=False))
                return events
        if self._state == _SPEAKING and o.max_reply_s is not None and \
                self.pos - self._onset >= self._samples(o.max_reply_s + o.cap_grace_s):
            events.append(self._end(self.pos, capped=True))  # no pause came: cut mid-speech
            return events
        if self._state == _WAITING:
            self._trim_waiting()
            if o.no_reply_timeout_s is not None and \
                    self.pos - self.timeout_origin_sample >= self._samples(o.no_reply_timeout_s):
                self._state = _DONE
                events.append(NoReply(self.pos))
        return events

    def flush(self) -> list[Event]:
        """The input ended (a WAV file ran out): close the turn with what there is."""
        if self._state == _DONE:
            return []
        if self._state in (_SPEAKING, _SILENCE):
            end = self._silence_from if self._state == _SILENCE else self.pos
            ev = self._end(end, capped=False)
            return [ev]
        self._state = _DONE
        return [NoReply(self.pos)]
