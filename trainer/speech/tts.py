"""Persona voices: text -> float32 audio with pyttsx3 on espeak-ng.

pyttsx3's `save_to_file` + `runAndWait` writes a 22.05 kHz WAV in about 10 ms; we read it back
and play it ourselves (playback.py), because pyttsx3's own playback shells out to `aplay` and
hides its errors.

What we measured with pyttsx3 2.99 on espeak-ng 1.51 (scripts in the issue 6 report):
- **No hang**: 300 `save_to_file` + `runAndWait` calls in a row in one process, every file
  written and non-empty, median 10 ms, max 32 ms per line. tests/test_tts.py keeps proving it
  (250 lines through one voice, plus lines in several voices and rates).
- **But changing voice or rate after the first `runAndWait` is unreliable**: once
  `SetVoiceByName` has been called after a synthesis, later rate changes are ignored (a line at
  120, 250 and 170 wpm came out 4.85, 4.92 and 4.92 s long; 38 of 60 lines with random
  voice/rate switches differed from `espeak-ng -w` by > 0.15 s). Voice and rate set once,
  before the first `runAndWait`, stay right for hundreds of lines (250 wpm: 2.0 s every time).
  (Initialising espeak in its synchronous mode instead makes pyttsx3's loop hang: no
  end-of-message event arrives.)
- **Empty files do happen**, rarely: the second line of a fresh engine came back as a 0-frame
  WAV in 2 of 30 fresh workers; synthesising it again gives the audio. So the worker checks
  every file and synthesises an empty one again (`EMPTY_RETRIES`); measured with the retry:
  300 lines in 60 fresh workers, 1 retry, 0 failures.
- espeak can be initialised only once per process and its synth callback is global.

So each distinct (voice, rate, volume) gets its own small **worker process** running one
pyttsx3 engine, configured once; lines go to it over a pipe and come back as WAV files. A
worker that does not answer within `WORKER_TIMEOUT_S` is killed and restarted once (a hang
costs one line's delay, not the round). Starting a worker takes about 0.2 s, once per voice.
The driver also prints "Audio saved to ..." for every file; in the worker that goes to stderr.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from trainer.errors import DependencyError, ModelError

TTS_HINT = "run scripts/setup (Debian: espeak-ng), or use --no-voice"
VOICE_HINT = "see `espeak-ng --voices=en` for voice ids, e.g. en-us, en-gb-x-rp, en-us+f3"
DEFAULT_VOICE = "en-us"
DEFAULT_RATE_WPM = 170
WORKER_TIMEOUT_S = 10.0  # a line takes ~10 ms; anything near this is a hang
EMPTY_RETRIES = 2  # an empty file is synthesised again (measured: ~1 line in 30 fresh workers)


@dataclass(frozen=True)
class VoiceInfo:
    """One espeak-ng voice as pyttsx3 lists it (`id` like 'gmw/en-us')."""

    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None


def _init_engine():
    """A pyttsx3 espeak engine, or DependencyError saying how to get one."""
    try:
        import pyttsx3
    except ImportError as exc:
        raise DependencyError("pyttsx3 is not installed", hint=TTS_HINT) from exc
    try:
        return pyttsx3.init("espeak")
    except (RuntimeError, OSError, ImportError) as exc:
        raise DependencyError(f"espeak-ng could not start ({exc})", hint=TTS_HINT) from exc


@lru_cache(maxsize=1)
def list_voices() -> tuple[VoiceInfo, ...]:
    """Every voice espeak-ng offers (131 on Debian's espeak-ng); listing needs no worker."""
    engine = _init_engine()
    return tuple(
        VoiceInfo(id=v.id, name=v.name, languages=tuple(v.languages or ()), gender=v.gender)
        for v in engine.getProperty("voices")
    )


# --- the worker process ---------------------------------------------------------------------
def _wav_frames(path: str) -> int:
    """Frames in a WAV file; 0 if it is missing or unreadable."""
    import wave

    try:
        with wave.open(path) as w:
            return w.getnframes()
    except (OSError, EOFError, wave.Error):
        return 0


def _worker_main(voice_id: str, rate_wpm: int, volume: float) -> None:
    """Run in a child process: one engine, configured once, synthesising lines from stdin.

    Requests are JSON lines {"text", "path"}; replies {"ok": true, "voice": current voice id}
    or {"ok": false, "error": "..."}.
    """
    out = os.fdopen(os.dup(1), "w")
    sys.stdout = sys.stderr  # the driver's prints must not reach the protocol pipe
    try:
        engine = _init_engine()
        # Queued by pyttsx3 and applied right before the first synthesis: the only moment
        # these settings reliably stick (see the module docstring).
        engine.setProperty("voice", voice_id)
        engine.setProperty("rate", int(rate_wpm))
        engine.setProperty("volume", float(volume))
    except Exception as exc:  # reported to the parent, which raises a clear error
        out.write(json.dumps({"ok": False, "error": str(exc)}) + "\n")
        out.flush()
        return
    for line in sys.stdin:
        try:
            req = json.loads(line)
            attempt = 0
            while attempt <= EMPTY_RETRIES:
                attempt += 1
                engine.save_to_file(req["text"], req["path"])
                engine.runAndWait()
                if _wav_frames(req["path"]) > 0:
                    break
            reply = {"ok": True, "voice": engine.getProperty("voice"), "attempts": attempt}
        except Exception as exc:
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


class _Worker:
    """The parent's handle on one worker process (thread-safe)."""

    def __init__(self, voice_id: str, rate_wpm: int, volume: float):
        self.args = (voice_id, int(rate_wpm), float(volume))
        self.lock = threading.Lock()
        self.tmpdir = tempfile.mkdtemp(prefix="trainer-tts-")
        self.proc: subprocess.Popen | None = None
        self.lines = 0
        self.restarts = 0  # worker processes killed and started again (hung or dead)
        self.empty_retries = 0  # lines synthesised again because the file came back empty

    def _start(self) -> None:
        voice_id, rate, volume = self.args
        code = ("import sys; from trainer.speech.tts import _worker_main; "
                "_worker_main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, voice_id, str(rate), str(volume)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, bufsize=1)

    def _kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def _ask(self, text: str, path: str) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(json.dumps({"text": text, "path": path}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return {"ok": False, "error": "the worker exited", "retry": True}
        ready, _, _ = select.select([self.proc.stdout], [], [], WORKER_TIMEOUT_S)
        if not ready:
            return {"ok": False, "error": f"no answer within {WORKER_TIMEOUT_S:.0f} s",
                    "retry": True}
        line = self.proc.stdout.readline()
        if not line:
            return {"ok": False, "error": "the worker exited", "retry": True}
        return json.loads(line)

    def synth(self, text: str) -> tuple[np.ndarray, int, str]:
        import soundfile as sf

        with self.lock:
            path = os.path.join(self.tmpdir, "line.wav")
            if os.path.exists(path):
                os.remove(path)
            reply = self._ask(text, path)
            if not reply.get("ok") and reply.get("retry"):
                self._kill()  # hung or dead: one fresh engine, one more try
                self.restarts += 1
                reply = self._ask(text, path)
            if not reply.get("ok"):
                self._kill()
                raise ModelError(f"espeak-ng failed on {text[:40]!r}: {reply.get('error')}",
                                 hint=TTS_HINT)
            self.lines += 1
            self.empty_retries += int(reply.get("attempts", 1)) - 1
            try:
                audio, sr = sf.read(path, dtype="float32", always_2d=True)
            except (OSError, RuntimeError) as exc:
                raise ModelError(f"espeak-ng wrote no audio for {text[:40]!r} ({exc})",
                                 hint=TTS_HINT) from exc
            return audio.mean(axis=1).astype(np.float32), sr, reply.get("voice", "")

    def close(self) -> None:
        with self.lock:
            self._kill()


_workers: dict[tuple[str, int, float], _Worker] = {}
_workers_lock = threading.Lock()


def _get_worker(voice_id: str, rate_wpm: int, volume: float) -> _Worker:
    key = (voice_id, int(rate_wpm), float(volume))
    with _workers_lock:
        if key not in _workers:
            _workers[key] = _Worker(*key)
        return _workers[key]


@atexit.register
def close_workers() -> None:
    """Stop every worker process (also run at exit)."""
    with _workers_lock:
        workers = list(_workers.values())
        _workers.clear()
    for w in workers:
        w.close()


@lru_cache(maxsize=64)
def resolve_voice(spec: str) -> str:
    """The engine's voice id for a voice spec, or ModelError naming the spec.

    A spec is `BASE[+VARIANT]`: BASE is an id ('gmw/en-us'), its last part ('en-us'), a name
    ('English (America)') or a language code ('en-gb'); VARIANT is an espeak-ng variant such as
    f3 or m2 (a different speaker of the same accent).
    """
    raw = (spec or "").strip()
    if not raw:
        raise ModelError("empty voice id", hint=VOICE_HINT)
    base, _, variant = raw.partition("+")
    base_l = base.lower()
    voices = list_voices()
    found = (
        [v for v in voices if v.id == base_l]
        or [v for v in voices if v.id.rsplit("/", 1)[-1] == base_l]
        or [v for v in voices if v.name.lower() == base_l]
        or [v for v in voices if base_l in (lang.lower() for lang in v.languages)]
    )
    if not found:
        raise ModelError(f"unknown voice {spec!r}", hint=VOICE_HINT)
    if variant and not re.fullmatch(r"[A-Za-z0-9_]+", variant):
        raise ModelError(f"bad voice variant in {spec!r}", hint=VOICE_HINT)
    return found[0].id + (f"+{variant}" if variant else "")


class Voice:
    """A persona's voice: `synth(text)` -> (float32 mono audio, sample rate in Hz).

    Args:
        voice_id: espeak-ng voice spec (see `resolve_voice`), e.g. 'en-us', 'en-gb+f3'.
        rate_wpm: speaking rate in words per minute (espeak's default is 175).
        volume: 0..1.

    The voice is checked when the object is made (ModelError for an unknown voice or variant):
    its worker process starts then and speaks a word. Synthesis is thread-safe.
    """

    def __init__(self, voice_id: str = DEFAULT_VOICE, rate_wpm: int = DEFAULT_RATE_WPM,
                 volume: float = 1.0):
        if not 80 <= int(rate_wpm) <= 450:
            raise ModelError(f"speaking rate {rate_wpm} wpm is out of range",
                             hint="use 80..450 words per minute (175 is espeak's default)")
        self.spec = voice_id
        self.voice_id = resolve_voice(voice_id)
        self.rate_wpm = int(rate_wpm)
        self.volume = float(volume)
        self._worker = _get_worker(self.voice_id, self.rate_wpm, self.volume)
        self.synth("ok")  # start the worker now and prove the voice exists

    def synth(self, text: str) -> tuple[np.ndarray, int]:
        """Speak `text` into memory: (float32 mono audio in -1..1, sample rate in Hz)."""
        if not text.strip():
            return np.zeros(0, np.float32), 22_050
        audio, sr, current = self._worker.synth(text)
        if current != self.voice_id:  # espeak silently keeps its default for unknown names
            raise ModelError(f"espeak-ng has no voice {self.voice_id!r} (it used {current!r})",
                             hint=VOICE_HINT)
        if not len(audio):
            raise ModelError(f"espeak-ng returned empty audio for {text[:40]!r}", hint=TTS_HINT)
        return audio, sr

    def estimate_s(self, text: str) -> float:
        """Rough speaking time of `text` at this rate (see SilentVoice)."""
        return estimate_speech_s(text, self.rate_wpm)

    def __repr__(self) -> str:
        return f"Voice({self.voice_id!r}, rate_wpm={self.rate_wpm})"


def estimate_speech_s(text: str, rate_wpm: int = DEFAULT_RATE_WPM) -> float:
    """Speaking time of `text` in seconds: words at `rate_wpm` plus espeak-like pauses.

    Least-squares fit to espeak-ng (en-us) on 125 lines at 130-230 wpm: 0.87 x the nominal
    word time + 0.17 s per comma + 0.24 s per sentence; within 40% of the real length for
    every line (tests/test_tts.py checks it).
    """
    words = len(re.findall(r"[\w']+", text))
    if not words:
        return 0.0
    clauses = len(re.findall(r"[,;:]", text))
    sentences = max(1, len(re.findall(r"[.!?]+", text)))
    return 0.87 * words * 60.0 / rate_wpm + 0.17 * clauses + 0.24 * sentences


class SilentVoice:
    """The --no-voice voice: `synth` returns silence as long as the line would take.

    Pair it with playback.SilentPlayer: the line is printed by the caller, nothing is played,
    and the round clock advances by the estimated speaking time.
    """

    sample_rate_hz = 16_000

    def __init__(self, voice_id: str = DEFAULT_VOICE, rate_wpm: int = DEFAULT_RATE_WPM,
                 volume: float = 1.0):
        self.voice_id = voice_id
        self.rate_wpm = int(rate_wpm)

    def synth(self, text: str) -> tuple[np.ndarray, int]:
        n = int(round(self.estimate_s(text) * self.sample_rate_hz))
        return np.zeros(n, np.float32), self.sample_rate_hz

    def estimate_s(self, text: str) -> float:
        return estimate_speech_s(text, self.rate_wpm)
