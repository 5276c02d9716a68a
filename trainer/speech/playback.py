"""Playing the persona's lines through sounddevice, knowing exactly when each one was heard.

pyttsx3's own playback shells out to `aplay` and hides its errors, so lines are synthesised to
audio (tts.py) and played here. A `Player` keeps one output stream open for the round (opening
a PulseAudio stream costs tens of milliseconds, and the persona's reply latency matters) and
feeds it from a callback, so it knows the time the first sample reaches the speaker (PortAudio's
DAC time for the buffer) and can stop a line mid-way when the user interrupts.

A reply can also be played while it is still being synthesised (`Player.start_stream`, a
`StreamingPlayback`): its first sentence sounds as soon as it exists, and the rest is appended
as it comes. Should a later sentence be late, the speaker plays silence meanwhile and that gap
becomes part of the line, so its times stay true.

All times are seconds on a `RoundClock` (0 = the start of the round), shared with the reply
sources so pauses and overlaps can be computed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from trainer.errors import DeviceError
from trainer.speech import import_sounddevice

FLOW_WAIT_S = 3.0  # longest wait in open() for a new output stream to start flowing
SPEAKER_HINT = "pick another output with --device (see `trainer devices`), or use --no-voice"


class RoundClock:
    """Seconds since the round started, on `time.monotonic()`.

    `skip(s)` moves the clock ahead without waiting: parts of a round that are simulated rather
    than lived (a silent persona line under --no-voice, a WAV reply fed faster than real time)
    still take their time on the round's clock, so the timeline has no overlaps.
    """

    def __init__(self, start_mono: float | None = None):
        self._t0 = time.monotonic() if start_mono is None else start_mono
        self._skipped_s = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the round started."""
        return self.from_mono(time.monotonic())

    def from_mono(self, mono_s: float) -> float:
        """The round time of a `time.monotonic()` time."""
        return mono_s - self._t0 + self._skipped_s

    def to_mono(self, round_s: float) -> float:
        """The `time.monotonic()` time of a round time."""
        return round_s + self._t0 - self._skipped_s

    def skip(self, seconds: float) -> None:
        """Move the clock ahead by `seconds` (>= 0) without waiting."""
        with self._lock:
            self._skipped_s += max(0.0, seconds)


@dataclass(frozen=True)
class PlayResult:
    """When a line was heard, on the round clock.

    `start_s`: first sample at the speaker; `end_s`: last sample played (the stop time if the
    line was cut); `duration_s = end_s - start_s`; `stopped_early`: cut before its end (the user
    interrupted); `silent`: nothing was played (--no-voice), the times are an estimate.
    """

    start_s: float
    end_s: float
    duration_s: float
    stopped_early: bool = False
    silent: bool = False


class Playback:
    """A line being played: `stop()` it, `wait()` for its `PlayResult`, or poll `done`."""

    def __init__(self, audio: np.ndarray, sample_rate_hz: int, clock: RoundClock):
        self.audio = audio
        self.sample_rate_hz = sample_rate_hz
        self._clock = clock
        self.offset = 0  # samples handed to the device so far
        self.first_mono: float | None = None  # when the first sample reaches the speaker
        self.stopped = False
        self.failed: str | None = None
        self._finished = threading.Event()
        self._result: PlayResult | None = None
        self.started_s = clock.now()  # when start() was called (not when it was heard)

    @property
    def planned_duration_s(self) -> float:
        return len(self.audio) / self.sample_rate_hz

    @property
    def done(self) -> bool:
        """The line has finished (or was stopped) and its last sample has been heard."""
        if not self._finished.is_set():
            return False
        end = self._end_mono()
        return end is None or time.monotonic() >= end

    @property
    def is_playing(self) -> bool:
        return not self.done

    def _end_mono(self) -> float | None:
        if self.first_mono is None:
            return None
        return self.first_mono + self.offset / self.sample_rate_hz

    def end_s(self) -> float | None:
        """Round time of the line's last sample, once known (None while still playing)."""
        return self.result().end_s if self._finished.is_set() else None

    def stop(self) -> None:
        """Stop the line at the next audio block (~10 ms); safe from any thread."""
        self.stopped = True

    def _finish(self) -> None:
        self._finished.set()

    def wait(self, timeout: float | None = None) -> PlayResult:
        """Block until the line has been heard to its end (or stopped); its PlayResult.

        Raises DeviceError if the speaker stops taking audio (unplugged) or the wait times out.
        """
        limit = timeout if timeout is not None else self.planned_duration_s + 3.0
        if not self._finished.wait(limit):
            self.stop()
            raise DeviceError("the speaker stopped playing (unplugged?)", hint=SPEAKER_HINT)
        if self.failed:
            raise DeviceError(f"the speaker failed ({self.failed})", hint=SPEAKER_HINT)
        end = self._end_mono()
        if end is not None:
            delay = end - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return self.result()

    def result(self) -> PlayResult:
        """The PlayResult of a finished line (see `wait()` to block until then)."""
        if not self._finished.is_set():
            raise RuntimeError("the line is still playing; use wait()")
        if self._result is None:
            if self.first_mono is None:  # nothing was played (empty line, or stopped at once)
                start = end = self._clock.now()
            else:
                start = self._clock.from_mono(self.first_mono)
                end = start + self.offset / self.sample_rate_hz
            self._result = PlayResult(start_s=start, end_s=end, duration_s=end - start,
                                      stopped_early=self.offset < len(self.audio))
        return self._result


class StreamingPlayback(Playback):
    """A reply played while it is synthesised: `append` audio as it comes, then `end_input`.

    Made by `Player.start_stream`. It waits in the queue, silent, until its first audio
    arrives; from then on, audio that is late leaves a gap of silence in the line (counted in
    its times). `position_s()` is where the next appended audio will start in the line.
    """

    def __init__(self, sample_rate_hz: int, clock: RoundClock, lock: threading.Lock):
        super().__init__(np.zeros(0, np.float32), sample_rate_hz, clock)
        self._player_lock = lock  # the Player's: its callback reads `audio` under it
        self._input_done = threading.Event()
        self.gap_s = 0.0  # silence played because the next audio was not ready in time

    def append(self, audio: np.ndarray, sample_rate_hz: int) -> None:
        """Add audio to the end of the line (resampled to the device's rate)."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if sample_rate_hz != self.sample_rate_hz and len(audio):
            import soxr

            audio = soxr.resample(audio, sample_rate_hz, self.sample_rate_hz).astype(np.float32)
        with self._player_lock:
            self.audio = np.concatenate([self.audio, audio])

    def end_input(self) -> None:
        """No more audio will come: the line ends when what it has is played."""
        self._input_done.set()
        if self.failed or (self.stopped and self.first_mono is None):
            self._finish()

    @property
    def input_done(self) -> bool:
        return self._input_done.is_set()

    def position_s(self) -> float:
        with self._player_lock:
            return len(self.audio) / self.sample_rate_hz

    def stop(self) -> None:
        if not self._input_done.is_set():
            self._cut_early = True  # stopped before all of it existed: cut, whatever was queued
        super().stop()

    def result(self) -> PlayResult:
        res = super().result()
        if getattr(self, "_cut_early", False) and not res.stopped_early:
            res = self._result = PlayResult(res.start_s, res.end_s, res.duration_s,
                                            stopped_early=True)
        return res

    def _fill_gap(self, frames: int) -> None:  # the player's callback, under its lock
        self.audio = np.concatenate([self.audio, np.zeros(frames, np.float32)])
        self.gap_s += frames / self.sample_rate_hz

    def wait(self, timeout: float | None = None) -> PlayResult:
        """Block until the whole line has been synthesised and heard (or stopped)."""
        # Synthesis runs ~10x faster than speech; a feeder that never ends its input is a bug
        # or a hang, and must not block the round for ever.
        if not self._input_done.wait(timeout if timeout is not None else 60.0):
            self.stop()
            raise DeviceError("the persona's voice stopped producing audio",
                              hint="try --voice espeak")
        return super().wait(timeout)


class Player:
    """Plays lines on an output device; one stream for the whole round.

    Args:
        device: output device index or name (see devices.resolve_device); None: the default.
        clock: the round clock; a new one if None.
        latency_s: requested output latency in seconds, or PortAudio's "low"/"high". "high"
            (35 ms through PulseAudio) because "low" (9 ms) underruns while Whisper loads the
            two cores.
    """

    def __init__(self, device: int | str | None = None, clock: RoundClock | None = None,
                 latency_s: float | str = "high"):
        self.clock = clock or RoundClock()
        self._device_spec = device
        self._latency = latency_s
        self._stream = None
        self._sample_rate_hz = 0
        self._lock = threading.Lock()
        self._current: Playback | None = None
        self._queue: list[Playback] = []
        self.device_name = ""
        self._frames_out = 0  # frames the device has taken since the stream started

    # --- the stream -----------------------------------------------------------------------
    def open(self) -> None:
        """Open the output stream and wait until audio flows (up to 3 s through PulseAudio).

        Call it early (e.g. while the speech model loads); else the first line opens it.
        """
        if self._stream is not None:
            return
        sd = import_sounddevice()
        from trainer.speech.devices import quiet_alsa_errors, resolve_device

        quiet_alsa_errors()
        index = resolve_device(self._device_spec, kind="output")
        try:
            info = sd.query_devices(index, "output")
            self.device_name = info["name"]
            # Play at the device's own rate (lines are resampled here): raw ALSA devices refuse
            # other rates, and resampling 22.05 kHz speech costs well under a millisecond.
            self._sample_rate_hz = int(info["default_samplerate"])
            self._stream = sd.OutputStream(
                samplerate=self._sample_rate_hz, channels=1, dtype="float32", device=index,
                latency=self._latency, callback=self._callback,
                finished_callback=self._stream_finished)
            self._stream.start()
        except sd.PortAudioError as exc:
            self._stream = None
            raise DeviceError(f"cannot open the speaker {self.device_name or index!r} ({exc})",
                              hint=SPEAKER_HINT) from exc
        # A new PulseAudio output (through ALSA's pulse plugin) takes its first 35 ms of audio
        # and then stalls for ~1.9 s before it flows (measured on the null sink). Wait for the
        # flow here, once, so the persona's first line is not late by that much.
        deadline = time.monotonic() + FLOW_WAIT_S
        while self._frames_out < 0.1 * self._sample_rate_hz and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        """Stop any line and close the stream."""
        with self._lock:
            pending = ([self._current] if self._current else []) + self._queue
            self._current, self._queue = None, []
        for pb in pending:
            pb.stop()
            pb._finish()
        if self._stream is not None:
            try:
                self._stream.close(ignore_errors=True)
            finally:
                self._stream = None

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _stream_finished(self) -> None:  # PortAudio ended the stream (device gone)
        with self._lock:
            pending = ([self._current] if self._current else []) + self._queue
            self._current, self._queue = None, []
        for pb in pending:
            pb.failed = "the output stream ended"
            pb._finish()

    def _callback(self, outdata, frames, time_info, status) -> None:
        now = time.monotonic()
        outdata.fill(0)
        self._frames_out += frames
        # How far ahead of "now" this buffer is heard. PortAudio's ALSA host gives real DAC
        # times; if a host API reports none, fall back to the stream's nominal latency.
        ahead = time_info.outputBufferDacTime - time_info.currentTime
        if not 0 <= ahead < 2.0:
            ahead = self._stream.latency if self._stream is not None else 0.0
        filled = 0
        with self._lock:
            while filled < frames:
                pb = self._current
                if pb is None:
                    if not self._queue:
                        break
                    pb = self._current = self._queue.pop(0)
                if (not pb.stopped and pb.offset >= len(pb.audio)
                        and isinstance(pb, StreamingPlayback) and not pb.input_done):
                    if pb.first_mono is None:
                        break  # not started yet: nothing is heard, nothing is timed
                    pb._fill_gap(frames - filled)  # late audio: silence, part of the line
                    pb.offset = len(pb.audio)
                    break
                if pb.stopped or pb.offset >= len(pb.audio):
                    self._current = None
                    pb._finish()
                    continue
                take = min(frames - filled, len(pb.audio) - pb.offset)
                if pb.first_mono is None:
                    pb.first_mono = now + ahead + filled / self._sample_rate_hz
                outdata[filled:filled + take, 0] = pb.audio[pb.offset:pb.offset + take]
                pb.offset += take
                filled += take
                if pb.offset >= len(pb.audio) and not (isinstance(pb, StreamingPlayback)
                                                      and not pb.input_done):
                    self._current = None
                    pb._finish()

    # --- lines ----------------------------------------------------------------------------
    def start(self, audio: np.ndarray, sample_rate_hz: int) -> Playback:
        """Start playing float32 mono audio and return at once (after lines already queued)."""
        self.open()
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if sample_rate_hz != self._sample_rate_hz and len(audio):
            import soxr

            audio = soxr.resample(audio, sample_rate_hz, self._sample_rate_hz).astype(np.float32)
        pb = Playback(audio, self._sample_rate_hz, self.clock)
        if self._stream is None or not self._stream.active:
            pb.failed = "the output stream is not running"
            pb._finish()
            return pb
        if not len(audio):
            pb._finish()
            return pb
        with self._lock:
            self._queue.append(pb)
        return pb

    def start_stream(self) -> StreamingPlayback:
        """Queue a line whose audio is still being made (after lines already queued); feed it
        with `append` and close it with `end_input`. It starts when its first audio comes."""
        self.open()
        pb = StreamingPlayback(self._sample_rate_hz, self.clock, self._lock)
        if self._stream is None or not self._stream.active:
            pb.failed = "the output stream is not running"
            pb._finish()
            return pb
        with self._lock:
            self._queue.append(pb)
        return pb

    def play(self, audio: np.ndarray, sample_rate_hz: int, *,
             stop_event: threading.Event | None = None) -> PlayResult:
        """Play a line and block until it has been heard (or `stop_event` is set)."""
        pb = self.start(audio, sample_rate_hz)
        if stop_event is not None:
            while not pb._finished.wait(0.01):
                if stop_event.is_set():
                    pb.stop()
        return pb.wait()


class SilentPlayer:
    """The --no-voice player: plays nothing; each line takes its length on the round clock.

    With `pace=False` (default) the clock skips ahead by the line's length at once; with
    `pace=True` the call sleeps that long, as if the line were spoken.
    """

    def __init__(self, clock: RoundClock | None = None, pace: bool = False):
        self.clock = clock or RoundClock()
        self.pace = pace
        self.device_name = "none (--no-voice)"

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> SilentPlayer:
        return self

    def __exit__(self, *exc) -> None:
        pass

    def start(self, audio: np.ndarray, sample_rate_hz: int) -> Playback:
        """A finished Playback whose times span the line's length (nothing is played)."""
        duration = len(audio) / sample_rate_hz if sample_rate_hz else 0.0
        pb = Playback(np.zeros(0, np.float32), sample_rate_hz or 1, self.clock)
        start = self.clock.now()
        if self.pace:
            time.sleep(duration)
        else:
            self.clock.skip(duration)
        pb._result = PlayResult(start_s=start, end_s=start + duration, duration_s=duration,
                                silent=True)
        pb.first_mono = self.clock.to_mono(start)
        pb._finish()
        return pb

    def play(self, audio: np.ndarray, sample_rate_hz: int, *,
             stop_event: threading.Event | None = None) -> PlayResult:
        return self.start(audio, sample_rate_hz).result()
