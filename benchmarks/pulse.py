"""A private PulseAudio daemon with a virtual speaker and a virtual microphone.

Used by the tests (tests/virtual_audio.py) and the latency benchmark, so both drive the real
PortAudio path without sound hardware (ARCHITECTURE.md, "A real microphone path without
hardware"):

- the **speaker** is `module-null-sink`; what reaches it is recorded from its `.monitor` by a
  `parec` process, with the time each sample was played;
- the **microphone** is `module-pipe-source` reading s16le 16 kHz mono from a FIFO. A feeder
  thread writes real-time paced silence into the FIFO (pulse has no clock of its own for a pipe,
  so the recording stalls when nobody writes) and, on request, a clip: `say(audio)` returns the
  time its first sample was "spoken", which is the truth the tests compare detected turns with;
- optional **loopback** mixes what the speaker plays back into the microphone, like a laptop's
  speaker heard by its own microphone (`trainer check` relies on that).

The daemon runs as an ordinary process (we may be root: user mode still works, it only warns)
with `-n` (no default.pa) and its own socket in a private XDG_RUNTIME_DIR; clients find it
through PULSE_SERVER. PortAudio sees it as the ALSA `pulse`/`default` devices, but only if these
variables are set before PortAudio initialises: `activate()` sets them and re-initialises
PortAudio in this process; `env()` gives them for subprocesses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_RATE_HZ = 16_000
CHUNK_SAMPLES = 160  # the feeder writes 10 ms at a time
KEEP_SPEAKER_S = 300.0  # how much of the speaker's recording is kept for speaker_audio()
SPEAKER = "speaker"
MIC = "mic"



def stop_process(proc: subprocess.Popen, wait_s: float = 5.0) -> None:
    """Terminate a child process, killing it if it has not gone within `wait_s`."""
    proc.terminate()
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(wait_s)

class PulseError(RuntimeError):
    """The private PulseAudio daemon could not be started or stopped."""


@dataclass
class Spoken:
    """A clip written into the virtual microphone.

    `start_mono` is the `time.monotonic()` time at which the clip's first sample was captured
    (written into the FIFO at real-time pace); sample k of the clip was captured at
    `start_mono + k / 16000`.
    """

    n_samples: int
    start_mono: float | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def duration_s(self) -> float:
        return self.n_samples / SAMPLE_RATE_HZ

    @property
    def end_mono(self) -> float | None:
        return None if self.start_mono is None else self.start_mono + self.duration_s

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the whole clip has been written; True if it was."""
        return self.done.wait(timeout)


@dataclass
class _Clip:
    spoken: Spoken
    audio: np.ndarray
    lead: int = 0  # samples of silence still to write before the clip
    offset: int = 0  # samples of the clip written so far


def _to_int16(audio: np.ndarray) -> np.ndarray:
    return (np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)


class _MonitorRecorder:
    """Records the speaker's monitor with `parec`, keeping every sample with its play time."""

    def __init__(self, env: dict[str, str]):
        self._proc = subprocess.Popen(
            ["parec", "-d", f"{SPEAKER}.monitor", "--format=s16le", f"--rate={SAMPLE_RATE_HZ}",
             "--channels=1", "--latency-msec=10", "--raw"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        self._lock = threading.Lock()
        self._chunks: list[tuple[float, np.ndarray]] = []  # (time of first sample, samples)
        self._n = 0
        # Time of sample 0: the smallest (arrival time - samples received / rate) over the
        # last ~2 s of reads. Each sample was played no later than it arrived, so the minimum
        # is the tightest bound; a recent window follows any samples parec drops.
        self._anchors: deque[float] = deque(maxlen=100)
        self._taps: list[deque] = []
        self._thread = threading.Thread(target=self._run, name="pulse-monitor", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        out = self._proc.stdout
        assert out is not None
        while True:
            data = out.read1(640) if hasattr(out, "read1") else out.read(640)
            now = time.monotonic()
            if not data:
                return
            if len(data) % 2:  # keep whole samples
                data += out.read(1)
            samples = np.frombuffer(data, dtype=np.int16).astype(np.float32) / 32768.0
            with self._lock:
                start = self._n
                self._n += len(samples)
                self._anchors.append(now - self._n / SAMPLE_RATE_HZ)
                self._chunks.append((min(self._anchors) + start / SAMPLE_RATE_HZ, samples))
                while self._chunks and self._chunks[0][0] < now - KEEP_SPEAKER_S:
                    self._chunks.pop(0)
                for tap in self._taps:
                    tap.append(samples)

    def tap(self) -> deque:
        """A queue that receives every chunk recorded from now on (for loopback)."""
        q: deque = deque()
        with self._lock:
            self._taps.append(q)
        return q

    def audio_between(self, start_mono: float, end_mono: float) -> tuple[np.ndarray, float]:
        """Samples played between two monotonic times, and the time of the first one."""
        with self._lock:
            chunks = [(t, a) for t, a in self._chunks
                      if t + len(a) / SAMPLE_RATE_HZ > start_mono and t < end_mono]
        if not chunks:
            return np.zeros(0, np.float32), start_mono
        t0 = chunks[0][0]
        audio = np.concatenate([a for _, a in chunks])
        i0 = max(0, int((start_mono - t0) * SAMPLE_RATE_HZ))
        i1 = max(i0, min(len(audio), int((end_mono - t0) * SAMPLE_RATE_HZ)))
        return audio[i0:i1].copy(), t0 + i0 / SAMPLE_RATE_HZ

    def stop(self) -> None:
        stop_process(self._proc)
        self._thread.join(2)


class VirtualAudio:
    """A private PulseAudio daemon: a null-sink speaker and a FIFO-fed microphone.

    Use as a context manager, or call `start()` / `stop()`. Times are `time.monotonic()`.
    """

    def __init__(self, root: Path | None = None):
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="trainer-pulse-"))
        self.runtime_dir = self.root / "runtime"
        self.socket = self.runtime_dir / "native"
        self.fifo = self.root / "mic.fifo"
        self.log_path = self.root / "pulse.log"
        self._daemon: subprocess.Popen | None = None
        self._monitor: _MonitorRecorder | None = None
        self._stop = threading.Event()
        self._feeder: threading.Thread | None = None
        self._feeder_error: BaseException | None = None
        self._lock = threading.Lock()
        self._clips: deque[_Clip] = deque()
        self._t0 = 0.0  # monotonic time of mic stream sample 0
        self._pos = 0  # mic stream samples written so far
        self._loopback: deque | None = None
        self._loopback_gain = 1.0
        self._saved_env: dict[str, str | None] = {}

    # --- daemon ---------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """Environment variables that point PulseAudio clients (and PortAudio) at this daemon."""
        return {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(self.runtime_dir),
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
        }

    def _client_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env())
        return env

    def start(self) -> VirtualAudio:
        for tool in ("pulseaudio", "pactl", "parec"):
            if shutil.which(tool) is None:
                raise PulseError(f"{tool} not found: run scripts/setup "
                                 "(Debian: pulseaudio pulseaudio-utils libasound2-plugins)")
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        self.runtime_dir.chmod(0o700)
        home = self.root / "home"
        home.mkdir(exist_ok=True)
        if self.fifo.exists():
            self.fifo.unlink()  # module-pipe-source creates the FIFO itself and fails if it exists
        script = self.root / "daemon.pa"
        script.write_text(
            f"load-module module-native-protocol-unix socket={self.socket} auth-anonymous=1\n"
            f"load-module module-null-sink sink_name={SPEAKER} rate={SAMPLE_RATE_HZ} channels=1\n"
            f"load-module module-pipe-source source_name={MIC} file={self.fifo} "
            f"format=s16le rate={SAMPLE_RATE_HZ} channels=1\n"
            f"set-default-sink {SPEAKER}\n"
            f"set-default-source {MIC}\n"
        )
        env = self._client_env()
        env["HOME"] = str(home)  # the daemon's cookie and state stay in the private folder
        # -n: no default.pa (no hardware probing); --exit-idle-time=-1: never exit on its own;
        # --system=no with a private runtime dir works as root too (it only warns).
        self._daemon = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
             "--use-pid-file=no", "--system=no", "--disable-shm=yes", f"--file={script}",
             f"--log-target=file:{self.log_path}"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            ok = subprocess.run(["pactl", "list", "short", "sources"], env=self._client_env(),
                                capture_output=True, text=True)
            if ok.returncode == 0 and f"\t{MIC}\t" in ok.stdout and self.fifo.exists():
                break
            if self._daemon.poll() is not None or time.monotonic() > deadline:
                log = self.log_path.read_text()[-2000:] if self.log_path.exists() else ""
                self.stop()
                raise PulseError(f"pulseaudio did not start: {log}")
            time.sleep(0.05)
        self._stop.clear()
        self._fd = os.open(self.fifo, os.O_WRONLY)  # pulse holds it O_RDWR: this does not block
        self._t0 = time.monotonic()
        self._pos = 0
        self._feeder = threading.Thread(target=self._feed, name="pulse-mic-feeder", daemon=True)
        self._feeder.start()
        self._monitor = _MonitorRecorder(self._client_env())
        return self

    def stop(self) -> None:
        """Stop the feeder, the monitor recorder and the daemon; remove the private folder."""
        self.deactivate()
        self._stop.set()
        if self._feeder is not None:
            self._feeder.join(2)
            self._feeder = None
            os.close(self._fd)
        if self._monitor is not None:
            self._monitor.stop()
            self._monitor = None
        self.kill_daemon()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def kill_daemon(self) -> None:
        """Stop the daemon (tests use it to pull the plug on a running stream)."""
        if self._daemon is not None and self._daemon.poll() is None:
            stop_process(self._daemon)
        self._daemon = None

    def __enter__(self) -> VirtualAudio:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- this process's PortAudio ---------------------------------------------------------
    def activate(self) -> None:
        """Point this process's PortAudio at the daemon (re-initialising PortAudio)."""
        for k, v in self.env().items():
            self._saved_env.setdefault(k, os.environ.get(k))
            os.environ[k] = v
        _reinit_portaudio()

    def deactivate(self) -> None:
        """Undo `activate()`."""
        if not self._saved_env:
            return
        for k, v in self._saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved_env.clear()
        _reinit_portaudio()

    # --- the microphone -------------------------------------------------------------------
    def say(self, audio: np.ndarray, *, at_mono: float | None = None) -> Spoken:
        """Speak float32 16 kHz audio into the microphone, after any clip already queued.

        With `at_mono`, the clip starts at that monotonic time (if it is still in the future).
        Returns at once; `Spoken.start_mono` is set when the clip's first sample is written.
        """
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        lead = 0
        if at_mono is not None:
            lead = max(0, int(round((at_mono - self.now_mono()) * SAMPLE_RATE_HZ)))
        clip = _Clip(Spoken(n_samples=len(audio)), audio, lead)
        with self._lock:
            self._clips.append(clip)
        return clip.spoken

    def clear(self) -> None:
        """Drop clips not yet spoken (between tests)."""
        with self._lock:
            for clip in self._clips:
                clip.spoken.done.set()
            self._clips.clear()

    def now_mono(self) -> float:
        """The capture time of the next sample the feeder will write."""
        return self._t0 + self._pos / SAMPLE_RATE_HZ

    def set_loopback(self, on: bool, gain: float = 1.0) -> None:
        """Mix what the speaker plays into the microphone (a speaker the mic can hear)."""
        self._loopback_gain = gain
        self._loopback = self._monitor.tap() if on and self._monitor else None

    def _next_chunk(self, n: int) -> np.ndarray:
        out = np.zeros(n, np.float32)
        filled = 0
        with self._lock:
            while filled < n and self._clips:
                clip = self._clips[0]
                if clip.lead:  # silence before a clip scheduled at a given time
                    take = min(n - filled, clip.lead)
                    clip.lead -= take
                    filled += take
                    continue
                if clip.spoken.start_mono is None:
                    clip.spoken.start_mono = self._t0 + (self._pos + filled) / SAMPLE_RATE_HZ
                take = min(n - filled, len(clip.audio) - clip.offset)
                out[filled:filled + take] = clip.audio[clip.offset:clip.offset + take]
                filled += take
                clip.offset += take
                if clip.offset >= len(clip.audio):
                    clip.spoken.done.set()
                    self._clips.popleft()
        loop = self._loopback
        if loop is not None:
            have = 0
            while have < n and loop:
                chunk = loop[0]
                take = min(n - have, len(chunk))
                out[have:have + take] += self._loopback_gain * chunk[:take]
                have += take
                if take < len(chunk):
                    loop[0] = chunk[take:]
                else:
                    loop.popleft()
        return out

    def _feed(self) -> None:
        try:
            while not self._stop.is_set():
                due = int((time.monotonic() - self._t0) * SAMPLE_RATE_HZ) - self._pos
                if due < CHUNK_SAMPLES:
                    time.sleep((CHUNK_SAMPLES - due) / SAMPLE_RATE_HZ)
                    continue
                n = due - due % CHUNK_SAMPLES
                chunk = self._next_chunk(n)
                os.write(self._fd, _to_int16(chunk).tobytes())
                self._pos += n
        except OSError as exc:  # the daemon went away (kill_daemon)
            self._feeder_error = exc

    # --- the speaker ----------------------------------------------------------------------
    def speaker_audio(self, start_mono: float, end_mono: float) -> tuple[np.ndarray, float]:
        """What reached the speaker between two monotonic times: (float32 16 kHz audio,
        monotonic time of its first sample). Waits until `end_mono` has passed."""
        assert self._monitor is not None, "not started"
        delay = end_mono + 0.1 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return self._monitor.audio_between(start_mono, end_mono)


def _reinit_portaudio() -> None:
    """PortAudio lists devices when it initialises: re-initialise so env changes take effect."""
    sd = sys.modules.get("sounddevice")
    if sd is None:
        return
    sd._terminate()
    sd._initialize()
