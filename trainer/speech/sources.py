"""Reply sources: where the user's answer comes from -- microphone, WAV files, or typed text.

Every source has `listen(after=..., on_level=..., on_pause=..., end_of_turn=...) -> Utterance |
None` (None: no more replies, e.g. the WAV files ran out or stdin closed). Audio sources share
one detector path: 16 kHz mono frames of 32 ms -> Silero VAD (vad.py) -> the end-of-turn rule
(endpoint.py), whose closing silence an `EndOfTurnPolicy` may set per pause from the draft
transcript (`AdaptiveEndOfTurn`, issue 15). `WavFileSource` feeds each file through exactly that
path, so demos and tests exercise the same code as a live microphone.

Times are seconds on the round clock (playback.RoundClock) shared with the Player, so a
reply's `pause_before_s` and `interrupted` come straight from comparing the two.
"""

from __future__ import annotations

import itertools
import math
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from trainer.errors import AudioError, DeviceError, UsageError
from trainer.speech import import_sounddevice
from trainer.speech.endpoint import (
    Endpointer,
    EndpointOptions,
    NoReply,
    SpeechPaused,
    SpeechStarted,
    TurnEnded,
)
from trainer.speech.playback import Playback, PlayResult, RoundClock
from trainer.speech.vad import FRAME_SAMPLES, SileroVad
from trainer.types import SAMPLE_RATE_HZ, Utterance

ANCHOR_BLOCKS = 64  # blocks (~2 s) over which the capture clock is anchored, see _take_block
MIC_HINT = "check the microphone (`trainer check`), pick one with --device, or use --input text"
LEVEL_FLOOR_DBFS = -100.0
ECHO_TAIL_S = 0.15  # a room's echo of the persona's last word (reverb), heard after its end

LevelCallback = Callable[[float], None]
"""Called about 31 times a second while listening with the input level in dBFS
(RMS of the last 32 ms frame; 0 = full scale, floor -100). Runs on the listening thread."""

PauseCallback = Callable[[np.ndarray], None]
"""Called when the user has gone quiet for `tail_s`: the float32 16 kHz audio the utterance will
have if the silence lasts. Use it to start transcribing early (SpeculativeTranscriber)."""

__all__ = [
    "AdaptiveEndOfTurn", "CapturedUtterance", "EndOfTurnPolicy", "EndpointOptions", "MicSource",
    "ReplySource", "SpeculativeTranscriber", "TextSource", "WavFileSource", "level_dbfs",
    "make_source",
]


class EndOfTurnPolicy(Protocol):
    """Decides, pause by pause, how much silence ends the user's turn (see AdaptiveEndOfTurn).

    `on_pause(audio)` is called when the user has been quiet for `tail_s` (the audio the turn
    will have if it ends in this pause). Then, at every frame of that pause, `silence_s(block)`
    returns the silence (seconds, from the end of speech) that ends it, or None while it cannot
    tell yet (the turn then waits, up to `EndpointOptions.undecided_max_s`). `block`: the
    source is not live (a file read faster than real time), so wait for the answer.
    """

    def on_pause(self, audio: np.ndarray) -> None: ...

    def silence_s(self, block: bool = False) -> float | None: ...


class CapturedUtterance(Utterance):
    """An Utterance cut from an audio stream.

    `start_s`/`end_s` are the detected start and end of speech on the round clock. `audio`
    starts `pre_roll_s` earlier, at `audio_start_s` (always set here), and runs up to `tail_s`
    past `end_s` (ASR needs the soft onset and the fade-out). `pause_before_s` is `start_s`
    minus the end of the persona's line; it is negative when the user started while the
    persona was talking (`interrupted`).

    A long reply comes in parts (issue 14, probe 8): a part cut near `max_reply_s` is `capped`
    and its audio ends exactly at `end_s`; the next `listen()` goes on from that sample (the
    persona has not spoken in between) and returns a part with `continued` set, starting at the
    previous part's `end_s` (no pre-roll, no pause before it). If the user had stopped right at
    the cut, that next part is `continued` with no audio: the reply was over.
    """


class ReplySource(Protocol):
    """What practice.py needs from a source of user replies."""

    kind: str  # "mic", "wav" or "text"
    clock: RoundClock

    def listen(self, *, after: Playback | PlayResult | None = None,
               on_level: LevelCallback | None = None,
               on_pause: PauseCallback | None = None,
               end_of_turn: EndOfTurnPolicy | None = None) -> Utterance | None: ...

    def close(self) -> None: ...


def level_dbfs(frame: np.ndarray) -> float:
    """RMS level of float samples in dBFS (full scale 1.0), floored at -100."""
    if not len(frame):
        return LEVEL_FLOOR_DBFS
    rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64))))
    return max(LEVEL_FLOOR_DBFS, 20.0 * math.log10(rms)) if rms > 0 else LEVEL_FLOOR_DBFS


def _persona_end(after: Playback | PlayResult | None) -> tuple[float | None, Playback | None]:
    """(end of the persona's line if known, the Playback still to watch if it is playing)."""
    if after is None:
        return None, None
    if isinstance(after, PlayResult):
        return after.end_s, None
    if after.done:
        return after.result().end_s, None
    return None, after


# --- the shared detector path -------------------------------------------------------------------
class _AudioSource:
    """VAD + end-of-turn rule over frames from a subclass's `_frames()`."""

    kind = "audio"

    def __init__(self, options: EndpointOptions | None, clock: RoundClock | None):
        self.options = options or EndpointOptions()
        self.clock = clock or RoundClock()
        self._vad: SileroVad | None = None
        # a capped part's cut: (round time of the cut, the audio already read past it)
        self._carry: tuple[float, np.ndarray] | None = None

    @property
    def continuing(self) -> bool:
        """The last reply was capped: the next listen() continues it."""
        return self._carry is not None

    def _frames(self, after: Playback | None, continuing: bool = False) -> Iterator[np.ndarray]:
        """Yield 512-sample float32 frames; set self._t_first (round time of the first
        sample) before the first yield -- unless `continuing`: then the frames go on exactly
        where the last ones stopped, and _t_first is already set."""
        raise NotImplementedError

    def _t(self, sample: int) -> float:
        return self._t_first + sample / SAMPLE_RATE_HZ

    live = True  # frames arrive in real time (False: a file read at full speed)

    def _detect(self, after: Playback | PlayResult | None, on_level: LevelCallback | None,
                on_pause: PauseCallback | None,
                end_of_turn: EndOfTurnPolicy | None = None) -> Utterance:
        if self._vad is None:
            self._vad = SileroVad()
        o = self.options
        carry, self._carry = self._carry, None
        ep = Endpointer(o, SAMPLE_RATE_HZ, continuing=carry is not None)
        if carry is None:
            self._vad.reset()
            persona_end_s, playing = _persona_end(after)
            self._t_first = self.clock.now()
            frames: Iterator[np.ndarray] = self._frames(playing)
        else:
            # The same stream, straight on from the cut (VAD state kept): first the audio the
            # last part had read past it, then what follows.
            persona_end_s, playing = None, None
            self._t_first, rest = carry
            frames = itertools.chain(
                (rest[i:i + FRAME_SAMPLES] for i in range(0, len(rest), FRAME_SAMPLES)),
                self._frames(None, continuing=True))
        mute_until_s = -math.inf
        if not o.allow_interrupt and persona_end_s is not None:
            mute_until_s = persona_end_s + ECHO_TAIL_S
        for i, frame in enumerate(frames):
            if i == 0:
                if playing is None:
                    ep.timeout_origin_sample = self._sample_at(persona_end_s)
                else:
                    ep.timeout_origin_sample = sys.maxsize  # no timeout while the persona talks
            if playing is not None and playing.done:
                persona_end_s = playing.result().end_s
                ep.timeout_origin_sample = self._sample_at(persona_end_s)
                playing = None
            if on_level is not None:
                on_level(level_dbfs(frame))
            if self._t(i * FRAME_SAMPLES) < mute_until_s:
                # Interrupts off (no headphones): what the microphone caught before the line
                # ended -- the pre-roll, the room's echo -- is the persona's voice, not a reply.
                frame = np.zeros_like(frame)
            if end_of_turn is not None and ep.paused:
                # Asked before the frame is pushed, so a verdict that arrived ends the turn on
                # this frame, not the next.
                wait = end_of_turn.silence_s(block=not self.live)
                ep.end_silence_s = o.undecided_max_s if wait is None else wait
            for ev in ep.push(frame, self._vad.prob(frame)):
                if isinstance(ev, SpeechStarted):
                    if playing is not None and o.allow_interrupt:
                        playing.stop()  # the user talks over the persona: the persona yields
                elif isinstance(ev, SpeechPaused):
                    if on_pause is not None:
                        on_pause(ev.audio)
                    if end_of_turn is not None:
                        end_of_turn.on_pause(ev.audio)
                        wait = end_of_turn.silence_s(block=not self.live)
                        ep.end_silence_s = o.undecided_max_s if wait is None else wait
                elif isinstance(ev, TurnEnded):
                    return self._utterance(ev, playing, persona_end_s, carry is not None)
                elif isinstance(ev, NoReply):
                    t = self._t(ev.at_sample)
                    return Utterance(audio=None, start_s=t, end_s=t, timed_out=True)
        for ev in ep.flush():
            if isinstance(ev, TurnEnded):
                return self._utterance(ev, playing, persona_end_s, carry is not None)
            t = self._t(ev.at_sample)
            return Utterance(audio=None, start_s=t, end_s=t, timed_out=True)
        raise AssertionError("unreachable: flush always ends the turn")

    def _sample_at(self, round_s: float | None) -> int:
        if round_s is None:
            return 0
        return max(0, int(round((round_s - self._t_first) * SAMPLE_RATE_HZ)))

    def _utterance(self, ev: TurnEnded, playing: Playback | None,
                   persona_end_s: float | None, continued: bool = False) -> Utterance:
        if playing is not None:  # still talking (allow_interrupt off): its end decides overlap
            persona_end_s = playing.wait().end_s
        start_s, end_s = self._t(ev.onset_sample), self._t(ev.end_sample)
        if ev.capped:
            self._carry = (end_s, ev.rest if ev.rest is not None else np.zeros(0, np.float32))
        if continued and ev.end_sample <= ev.onset_sample:
            return Utterance(audio=None, start_s=start_s, end_s=start_s, continued=True)
        pause = None if persona_end_s is None or continued else start_s - persona_end_s
        return CapturedUtterance(
            audio=ev.audio, sample_rate_hz=SAMPLE_RATE_HZ, start_s=start_s, end_s=end_s,
            pause_before_s=pause, interrupted=pause is not None and pause < 0,
            capped=ev.capped, continued=continued, audio_start_s=self._t(ev.audio_start_sample))

    def listen(self, *, after: Playback | PlayResult | None = None,
               on_level: LevelCallback | None = None,
               on_pause: PauseCallback | None = None,
               end_of_turn: EndOfTurnPolicy | None = None) -> Utterance | None:
        """Wait for one reply and return it.

        Args:
            after: the persona's line just started (a Playback: speech during it is an
                interruption and stops it, if `options.allow_interrupt`) or finished (its
                PlayResult). The no-reply timeout counts from the line's end.
            on_level: live input level meter, see LevelCallback.
            on_pause: early look at the final audio, see PauseCallback.
            end_of_turn: sets the closing silence pause by pause (EndOfTurnPolicy); None:
                `options.silence_s` for every pause.

        Returns a CapturedUtterance, a timed-out Utterance (no speech; audio None), or None
        when the source has no more replies.
        """
        return self._detect(after, on_level, on_pause, end_of_turn)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --- microphone -----------------------------------------------------------------------------------
class MicSource(_AudioSource):
    """Live replies from a microphone: a sounddevice InputStream at 16 kHz mono.

    The stream opens on the first `listen()` (or `open()`) and stays open for the round, so
    speech that starts while the persona is talking is heard. Each `listen()` starts with the
    audio captured from `pre_roll_s` before the call. Sample times come from counting samples,
    anchored to the arrival times of the audio blocks (the earliest-arriving block of the last
    ~2 s bounds the capture clock; measured within 5 ms of the truth through PulseAudio).
    Input overflows (samples the device dropped) are counted in `overflows`.

    Raises DeviceError (one line with the fix) for no device, a device that cannot be opened,
    or a stream that stops delivering audio for `stall_s` (unplugged mid-round).
    """

    kind = "mic"

    def __init__(self, device: int | str | None = None, options: EndpointOptions | None = None,
                 clock: RoundClock | None = None, stall_s: float = 2.0):
        super().__init__(options, clock)
        self._device_spec = device
        self.stall_s = stall_s
        self._stream = None
        self.device_name = ""
        self.overflows = 0
        self._reset_stream_state()

    def _reset_stream_state(self) -> None:
        """Sample counting starts again with each new stream."""
        self._rate_hz = SAMPLE_RATE_HZ
        self._resampler = None
        self._q: queue.Queue = queue.Queue()
        self._n_in = 0  # device-rate samples received
        self._anchor: float | None = None  # monotonic time of device sample 0
        self._anchors: deque[float] = deque(maxlen=ANCHOR_BLOCKS)
        self._n16 = 0  # 16 kHz samples produced
        self._pending = np.zeros(0, np.float32)  # 16 kHz samples not yet in a frame

    def open(self) -> None:
        """Open and start the input stream (DeviceError if it cannot)."""
        if self._stream is not None:
            return
        self._reset_stream_state()
        sd = import_sounddevice()
        from trainer.speech.devices import quiet_alsa_errors, resolve_device

        quiet_alsa_errors()
        index = resolve_device(self._device_spec, kind="input")
        try:
            info = sd.query_devices(index, "input")
        except (sd.PortAudioError, ValueError) as exc:
            raise DeviceError(f"no microphone ({exc})", hint=MIC_HINT) from exc
        self.device_name = info["name"]
        try:
            self._stream = self._open_at(sd, index, SAMPLE_RATE_HZ)
        except sd.PortAudioError:
            # Raw ALSA devices only take their own rates: record at the device's rate and
            # resample to 16 kHz as we go.
            import soxr

            rate = int(info["default_samplerate"])
            try:
                self._stream = self._open_at(sd, index, rate)
            except sd.PortAudioError as exc:
                raise DeviceError(f"cannot open the microphone {self.device_name!r} ({exc})",
                                  hint=MIC_HINT) from exc
            self._rate_hz = rate
            self._resampler = soxr.ResampleStream(rate, SAMPLE_RATE_HZ, 1, dtype="float32")
        try:
            self._stream.start()
        except sd.PortAudioError as exc:
            self._stream = None
            raise DeviceError(f"cannot start the microphone {self.device_name!r} ({exc})",
                              hint=MIC_HINT) from exc

    def _open_at(self, sd, index, rate_hz: int):
        return sd.InputStream(samplerate=rate_hz, channels=1, dtype="float32", device=index,
                              blocksize=int(rate_hz * FRAME_SAMPLES / SAMPLE_RATE_HZ),
                              latency="low", callback=self._callback)

    def _callback(self, indata, frames, time_info, status) -> None:
        self._q.put((indata[:, 0].copy(), time.monotonic(), bool(status.input_overflow)))

    def close(self) -> None:
        """Stop and close the stream (a reply being continued ends at its cut)."""
        self._carry = None
        if self._stream is not None:
            try:
                self._stream.close(ignore_errors=True)
            finally:
                self._stream = None

    def _take_block(self, timeout_s: float) -> bool:
        """Move one captured block into the pending 16 kHz buffer; False on timeout."""
        try:
            block, arrived, overflow = self._q.get(timeout=timeout_s)
        except queue.Empty:
            return False
        self.overflows += int(overflow)
        self._n_in += len(block)
        # Each block was captured no later than it arrived, so the smallest (arrival - samples
        # counted / rate) bounds the time of sample 0 best. Over the last ~2 s, not all time:
        # if the device drops samples (an overflow on a busy machine) the count falls behind
        # and the anchor must move forward, or every later time would be early by the loss.
        self._anchors.append(arrived - self._n_in / self._rate_hz)
        self._anchor = min(self._anchors)
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block)
        self._pending = np.concatenate([self._pending, block.astype(np.float32)])
        return True

    def _frames(self, after: Playback | None, continuing: bool = False) -> Iterator[np.ndarray]:
        self.open()
        listen_mono = time.monotonic()
        first = not continuing
        while True:
            while len(self._pending) < FRAME_SAMPLES:
                if not self._take_block(self.stall_s):
                    active = self._stream is not None and self._stream.active
                    self.close()
                    raise DeviceError(
                        "the microphone stopped sending audio"
                        + (" (unplugged?)" if active else " (its stream ended)"),
                        hint=MIC_HINT)
            frame, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
            start_idx = self._n16
            self._n16 += FRAME_SAMPLES
            frame_mono = self._anchor + start_idx / SAMPLE_RATE_HZ  # type: ignore[operator]
            if first:
                if frame_mono < listen_mono - self.options.pre_roll_s:
                    continue  # captured before this listen() (and its pre-roll): stale
                self._t_first = self.clock.from_mono(frame_mono)
                first = False
            yield frame


# --- WAV files ----------------------------------------------------------------------------------
def load_audio(path: str | Path) -> np.ndarray:
    """A sound file as float32 mono at 16 kHz (AudioError naming the file if unreadable)."""
    import soundfile as sf

    try:
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise AudioError(f"cannot read audio file {path} ({exc})",
                         hint="use a WAV or FLAC file") from exc
    audio = audio.mean(axis=1)
    if rate != SAMPLE_RATE_HZ and len(audio):
        import soxr

        audio = soxr.resample(audio, rate, SAMPLE_RATE_HZ)
    if not len(audio):
        raise AudioError(f"audio file {path} is empty", hint="record a reply into it")
    return audio.astype(np.float32)


class WavFileSource(_AudioSource):
    """Replies from sound files: each file is one user turn, fed through the same VAD and
    end-of-turn rule as the microphone.

    A file starts when the persona's line has ended (files cannot interrupt). Silence
    (`silence_s` + 0.1 s) is added after each file so a reply that stops at the end of its file
    ends the same way a live one does; a file with no speech is a timed-out reply.

    Args:
        paths: the files, one per turn, in order.
        realtime: feed each file at real-time pace (a demo that looks live); by default it is
            fed at full speed and the round clock skips ahead by the audio consumed, so the
            round's timeline is the same either way.
    """

    kind = "wav"

    def __init__(self, paths: Sequence[str | Path], options: EndpointOptions | None = None,
                 clock: RoundClock | None = None, realtime: bool = False):
        super().__init__(options, clock)
        self.paths = [Path(p) for p in paths]
        missing = [str(p) for p in self.paths if not p.is_file()]
        if missing:
            raise AudioError(f"no such audio file: {', '.join(missing)}",
                             hint="give WAV files, one per turn")
        self.realtime = realtime
        self._next = 0
        self._audio: np.ndarray | None = None
        self._pos = 0  # samples of the current file read so far
        self._consumed = 0
        self._carried = 0

    @property
    def remaining(self) -> int:
        """Replies left: files not started, plus one if the last reply is being continued."""
        return len(self.paths) - self._next + int(self.continuing)

    @property
    def live(self) -> bool:  # type: ignore[override]
        return self.realtime

    def listen(self, *, after: Playback | PlayResult | None = None,
               on_level: LevelCallback | None = None,
               on_pause: PauseCallback | None = None,
               end_of_turn: EndOfTurnPolicy | None = None) -> Utterance | None:
        """The next file's reply (see _AudioSource.listen), or None when no file is left.

        A reply capped in the middle of its file goes on in the same file."""
        carried = self._carried = 0
        if self._carry is not None:
            carried = self._carried = len(self._carry[1])
        else:
            if self._next >= len(self.paths):
                return None
            path = self.paths[self._next]
            self._next += 1
            audio = load_audio(path)
            pad = np.zeros(int((self.options.silence_s + 0.1) * SAMPLE_RATE_HZ), np.float32)
            audio = np.concatenate([audio, pad])
            if len(audio) % FRAME_SAMPLES:
                audio = np.concatenate([audio, np.zeros(FRAME_SAMPLES - len(audio) % FRAME_SAMPLES,
                                                        np.float32)])
            self._audio, self._pos = audio, 0
            if isinstance(after, Playback):
                after = after.wait()
        utt = self._detect(after, on_level, on_pause, end_of_turn)
        if not self.realtime:  # the clock takes the time the audio would have taken
            consumed_s = (carried + self._consumed) / SAMPLE_RATE_HZ
            self.clock.skip(self._t_first + consumed_s - self.clock.now())
        return utt

    def _frames(self, after: Playback | None, continuing: bool = False) -> Iterator[np.ndarray]:
        audio = self._audio
        assert audio is not None
        lead = self._carried if continuing else 0  # the carried audio comes first
        start_mono = self.clock.to_mono(self._t_first) + lead / SAMPLE_RATE_HZ
        self._consumed = 0
        while self._pos < len(audio):
            if self.realtime:  # a frame is available once it has been "spoken"
                delay = (start_mono + (self._consumed + FRAME_SAMPLES) / SAMPLE_RATE_HZ
                         - time.monotonic())
                if delay > 0:
                    time.sleep(delay)
            frame = audio[self._pos:self._pos + FRAME_SAMPLES]
            self._pos += FRAME_SAMPLES
            self._consumed += FRAME_SAMPLES
            yield frame


# --- typed text ---------------------------------------------------------------------------------
def _stdin_prompt() -> str | None:
    try:
        return input("you> ")
    except EOFError:
        return None


class TextSource:
    """Typed replies (`--input text`): one line per turn from `prompt()`.

    `prompt` returns the typed line, or None (or raises EOFError) when input has ended. An
    empty line is a timed-out reply (the persona prompts, as for silence). Typed replies carry
    `text` and no audio; as talk time they count the time the line would take to say
    (`rate_wpm`), ending when Enter was pressed, so talk-share figures stay comparable with
    spoken rounds.
    """

    kind = "text"

    def __init__(self, prompt: Callable[[], str | None] | None = None,
                 clock: RoundClock | None = None, rate_wpm: int = 150):
        self.prompt = prompt or _stdin_prompt
        self.clock = clock or RoundClock()
        self.rate_wpm = rate_wpm

    def listen(self, *, after: Playback | PlayResult | None = None,
               on_level: LevelCallback | None = None,
               on_pause: PauseCallback | None = None,
               end_of_turn: EndOfTurnPolicy | None = None) -> Utterance | None:
        """Read one typed reply (waits for the persona's line to finish first)."""
        from trainer.speech.tts import estimate_speech_s

        if isinstance(after, Playback):
            after = after.wait()
        persona_end_s = after.end_s if after is not None else None
        t0 = self.clock.now()
        try:
            text = self.prompt()
        except EOFError:
            text = None
        t1 = self.clock.now()
        if text is None:
            return None
        text = text.strip()
        if not text:
            return Utterance(text="", start_s=t1, end_s=t1, timed_out=True)
        start = max(t0, t1 - estimate_speech_s(text, self.rate_wpm))
        pause = None if persona_end_s is None else start - persona_end_s
        return Utterance(text=text, start_s=start, end_s=t1, pause_before_s=pause)

    def close(self) -> None:
        pass


# --- choosing a source --------------------------------------------------------------------------
def make_source(inputs: Sequence[str] = (), *, device: int | str | None = None,
                options: EndpointOptions | None = None, clock: RoundClock | None = None,
                realtime_files: bool = False) -> ReplySource:
    """The source for `trainer practice --input ...`.

    `inputs` is empty (the microphone if one exists, else typed text), ["mic"], ["text"], or
    sound files (one per turn).
    """
    from trainer.speech.devices import default_input_available

    values = [v for v in inputs if v]
    if not values:
        values = ["mic"] if default_input_available() else ["text"]
    if values == ["mic"]:
        return MicSource(device=device, options=options, clock=clock)
    if values == ["text"]:
        return TextSource(clock=clock)
    if any(v in ("mic", "text") for v in values):
        raise UsageError("--input takes mic, text, or sound files, not a mix",
                         hint="e.g. --input mic, or --input a.wav --input b.wav")
    return WavFileSource(values, options=options, clock=clock, realtime=realtime_files)


# --- transcribing while the end is being confirmed ----------------------------------------------
AnalysisFn = Callable[[Any], Any]
"""Speculative analysis: a function of a draft's transcription result (e.g. its sentence
embedding, trainer/meaning.py) run on the draft worker right after the draft, while the silence
is still being confirmed, so the reply does not wait for it (SpeculativeTranscriber)."""


def _same_audio(a: np.ndarray, b: np.ndarray) -> bool:
    return a is b or (len(a) == len(b) and np.array_equal(a, b))


class SpeculativeTranscriber:
    """Starts transcription when the user pauses, before the end of the turn is confirmed.

    Pass `on_pause` to `listen()`, then call `transcribe(utterance.audio)`: if the turn ended at
    that pause (the audio is identical) the early result is used -- most of the transcription
    then overlaps the `silence_s` wait; if the user spoke again, the draft is dropped and the
    final audio is transcribed now. `transcribe_fn` is any function audio -> result (e.g.
    `lambda a: transcriber.transcribe(a, sample_rate_hz=16000)`).

    `analyse_fn` (optional, see AnalysisFn) runs on each draft's result right after it, on
    the same worker; `analysis()` then returns it for the last `transcribe()` without waiting
    when the turn ended on that draft (and computes it on the spot when it did not).

    A reply with several pauses must not queue a transcription per pause (the final result
    would wait for all of them: ~3 s after a live reply with a few pauses). So a new pause
    supersedes the previous draft: cancelled if it has not started; if it is running, it runs
    to its end (a transcription cannot be stopped half-way) but nothing waits for it. Drafts
    run one at a time, so at most one stale draft is ever running, and the final result waits
    for at most that one's remainder plus its own transcription.

    `last_reused` tells whether the last `transcribe` used a draft; `drafts_started`,
    `drafts_cancelled` (superseded before they ran) and `drafts_used` count drafts.
    """

    def __init__(self, transcribe_fn: Callable[[np.ndarray], Any],
                 analyse_fn: AnalysisFn | None = None):
        self._fn = transcribe_fn
        self._analyse = analyse_fn
        # One worker: a stale draft never shares the CPU with a newer draft.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asr-draft")
        self._lock = threading.Lock()
        # the current draft: (audio, transcription future, analysis future or None)
        self._draft: tuple[np.ndarray, Future, Future | None] | None = None
        self._last: tuple[Any, Future | None] | None = None  # (result, analysis) of transcribe
        self.last_reused = False
        self.drafts_started = 0
        self.drafts_cancelled = 0
        self.drafts_used = 0

    def _drop(self, future: Future | None) -> bool:
        """Cancel a superseded job if it has not started (a running one finishes unwaited)."""
        return future is not None and future.cancel()

    def on_pause(self, audio: np.ndarray) -> None:
        """Start a draft transcription of `audio` (the listen() pause callback); it replaces
        the previous draft. The same pause reported twice (a caller passing this as
        listen()'s `on_pause` besides an AdaptiveEndOfTurn over this transcriber) is drafted
        once: a second draft would wait for the first on the one worker, ~0.2 s per turn."""
        with self._lock:
            if self._draft is not None and _same_audio(self._draft[0], audio):
                return
            if self._draft is not None:
                self.drafts_cancelled += int(self._drop(self._draft[1]))
                self._drop(self._draft[2])
            future = self._pool.submit(self._fn, audio)
            analysis = None
            if self._analyse is not None:
                # queued behind its own draft on the one worker: the verdict on the draft's
                # text (AdaptiveEndOfTurn) never waits for the analysis
                analysis = self._pool.submit(lambda f=future: self._analyse(f.result()))
            self._draft = (audio, future, analysis)
            self.drafts_started += 1

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run `fn(*args)` on the draft worker (after what is queued there): a second look at
        a draft never shares the CPU with another draft."""
        return self._pool.submit(fn, *args)

    def draft(self) -> Future | None:
        """The current draft's transcription (a Future; None before the first pause)."""
        with self._lock:
            return None if self._draft is None else self._draft[1]

    def transcribe(self, audio: np.ndarray) -> Any:
        """The transcription of `audio`, from the draft when it matches."""
        with self._lock:
            draft, self._draft = self._draft, None
        if draft is not None:
            draft_audio, future, analysis = draft
            # Not started yet: cancelled. That includes a matching draft queued behind a stale
            # one, which is transcribed here now instead of after the stale one.
            if self._drop(future):
                self.drafts_cancelled += 1
            if not future.cancelled() and _same_audio(draft_audio, audio):
                self.last_reused = True  # running or done: the quickest way to the result
                self.drafts_used += 1
                result = future.result()
                self._last = (result, analysis)
                return result
            self._drop(analysis)
        self.last_reused = False
        result = self._fn(audio)
        self._last = (result, None)
        return result

    def analysis(self) -> Any:
        """The speculative analysis (analyse_fn) of the last `transcribe()` result: the draft
        worker's when that result was a draft (waiting for it if it is still running),
        otherwise computed now. None without analyse_fn or before any transcribe()."""
        if self._analyse is None or self._last is None:
            return None
        result, analysis = self._last
        if analysis is not None and not analysis.cancelled():
            return analysis.result()
        return self._analyse(result)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


Judge = Callable[[Any, float | None], float]
"""(A draft transcription result, where the voiced audio it transcribed ends: seconds from the
audio's start, see `voiced_end_s`) -> the silence (seconds) that ends the turn in this pause."""

VOICED_BELOW_PEAK_DB = 35.0  # a 10 ms window within this of the loudest is voiced
# Voicing lives in the low band (the vowels and nasals of a dropped "and" or "um"); the hiss
# of a final "s" or "t" (unvoiced, mostly above 2 kHz) is the end of the last word heard, not
# a word the draft left out. Through the virtual microphone the band cut the tail of s-final
# words ("thanks", "helps", "sense", "process") by about 0.1 s, and left the dropped "and"s
# as they were (0.21-0.22 s past the last word, from 0.22-0.23 s with every frequency).
VOICED_BAND_HZ = (80.0, 1000.0)
VOICED_LOOK_BACK_S = 10.0  # only the end of a long reply is read (a 2-minute one took 0.2 s)


def voiced_end_s(audio: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ) -> float | None:
    """Where the voiced audio ends (seconds from its start): the end of the last 10 ms window
    whose low-band energy (VOICED_BAND_HZ) is within VOICED_BELOW_PEAK_DB of the loudest
    window's in the last VOICED_LOOK_BACK_S (relative, so a quiet microphone and a loud one
    read alike; a room's noise floor is 40-60 dB under speech). None for silence."""
    win = sample_rate_hz // 100
    n = len(audio) // win
    if not n:
        return None
    skip = max(0, n - int(VOICED_LOOK_BACK_S * 100))
    frames = np.asarray(audio[skip * win:n * win], dtype=np.float64).reshape(n - skip, win)
    power = np.abs(np.fft.rfft(frames * np.hanning(win), axis=1)) ** 2
    freqs = np.fft.rfftfreq(win, 1.0 / sample_rate_hz)
    lo, hi = VOICED_BAND_HZ
    band = np.sqrt(power[:, (freqs >= lo) & (freqs <= hi)].sum(axis=1))
    peak = float(band.max())
    if peak <= 1e-6:
        return None
    loud = np.flatnonzero(band >= peak * 10 ** (-VOICED_BELOW_PEAK_DB / 20))
    return (skip + int(loud[-1]) + 1) * win / sample_rate_hz


# The second opinion's beam width (AdaptiveEndOfTurn's `recheck`). Beam 3 heard the misheard
# draft above right, and 4 of 22 finished replies of the latency benchmark better; offline on
# its 46 clips a transcription took 0.132 s median instead of greedy's 0.101 s. Greedy stays
# the transcriber's default: beam 3 appended a hallucinated tail to 9 of 75 clean neural-voice
# lines, which greedy heard without one (session 21).
RECHECK_BEAM_SIZE = 3


class AdaptiveEndOfTurn:
    """An EndOfTurnPolicy that reads the draft transcript (issue 15).

    At each pause the SpeculativeTranscriber starts a draft; once it is in,
    `judge(result, voiced_end_s)` says how long this pause must last (trainer.turn_end.judge:
    short after a finished question, long after "and" or "um", or when the voice went on
    past the draft's last word). Until then the pause cannot end the turn (up to
    EndpointOptions.undecided_max_s): the reply needs that transcription anyway, so waiting
    for it costs no latency. A draft that failed gives `fallback_s` (the fixed rule).

    A second opinion (`recheck`, optional: the same audio transcribed another way, e.g. with
    a beam search) is asked for only when the draft reads as finished and the voice alone made
    the pause long (it ran on past the draft's last word). Greedy tiny.en sometimes mishears
    a finished sentence so that its last word ends early: through the virtual microphone "I
    volunteer at a food bank on weekends." came back 4 times in 14 as "I'm Alan Tierr at a
    Foodman Con weekend.", 0.15 s of voice after "weekend", and waited 1.4 s. The second
    opinion runs on the draft worker during that wait; if its words reach the end of the
    voice and read as finished, the pause is judged again on them. It is ignored when it
    heard more words than the draft: a word more is most likely the one the draft left out
    (the full benchmark: "I work on data pipelines and," drafted "I work on data pipeline.",
    second opinion "I work on data pipeline then.", a cut-off), many more a hallucinated
    "Thanks for watching..." (a beam search appended one to 9 of 75 clean persona lines).
    It never lengthens a wait.

    `verdicts` keeps (draft result, seconds) for the pauses judged in the last listen(), for
    traces and the benchmark; `reset()` clears it (practice calls it per turn).
    """

    def __init__(self, speculative: SpeculativeTranscriber, judge: Judge,
                 fallback_s: float = EndpointOptions().silence_s,
                 recheck: Callable[[np.ndarray], Any] | None = None):
        self.speculative = speculative
        self.judge = judge
        self.fallback_s = fallback_s
        self.recheck = recheck
        self._judged: tuple[Future, float] | None = None
        self._voiced: tuple[Future | None, float | None] = (None, None)
        self._audio: np.ndarray | None = None
        # (draft future, second-opinion future) while a second opinion is pending
        self._second: tuple[Future, Future] | None = None
        self.verdicts: list[tuple[Any, float]] = []

    def reset(self) -> None:
        self._judged = None
        self._voiced = (None, None)
        self._audio = None
        self._second = None
        self.verdicts = []

    def on_pause(self, audio: np.ndarray) -> None:
        self.speculative.on_pause(audio)
        self._voiced = (self.speculative.draft(), voiced_end_s(audio))
        self._audio = audio
        self._second = None

    def silence_s(self, block: bool = False) -> float | None:
        future = self.speculative.draft()
        if future is None:
            return None
        if self._judged is not None and self._judged[0] is future:
            return self._second_look(future, block)
        if not (block or future.done()):
            return None
        try:
            result = future.result()
        except Exception:  # the draft failed; the final transcription will say why
            seconds, result = self.fallback_s, None
        else:
            voiced_future, voiced_s = self._voiced
            voiced_s = voiced_s if voiced_future is future else None
            seconds = float(self.judge(result, voiced_s))
            if (self.recheck is not None and voiced_s is not None and self._audio is not None
                    and float(self.judge(result, None)) < seconds):
                # finished by its words, long only because the voice ran on past them
                self._second = (future, self.speculative.submit(self.recheck, self._audio))
        self._judged = (future, seconds)
        self.verdicts.append((result, seconds))
        return self._second_look(future, block)

    def _second_look(self, future: Future, block: bool) -> float:
        """The pause for `future`'s draft, judged again on the second opinion once it is in."""
        seconds = self._judged[1]
        second = self._second
        if second is None or second[0] is not future or not (block or second[1].done()):
            return seconds
        self._second = None
        try:
            result = second[1].result()
            draft = future.result()
        except Exception:  # no second opinion: the first stands
            return seconds
        if len(result.words) > len(draft.words):  # the left-out word, or a run-on
            return seconds
        again = float(self.judge(result, self._voiced[1]))
        if again < seconds:
            self._judged = (future, again)
            self.verdicts.append((result, again))
            return again
        return seconds
