"""Getting a round's edges ready: where replies come from, the speaker, the speech model.

Each part is set up so the persona can speak within a couple of seconds of the command: the
speech model loads in a thread (ModelLoader) and the speaker opens in a thread (open_speaker)
while the store and the persona are read. Also the round's process plumbing: the trace file
benchmarks read (Trace) and SIGTERM handled like Ctrl-C. (PortAudio's stderr noise filter,
portaudio_noise_filtered, moved to speech/devices.py; it is re-exported here.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainer.errors import TrainerError, UsageError
from trainer.live import Screen

# Lives with the devices now (`trainer check` uses it too); still importable from here.
from trainer.speech.devices import portaudio_noise_filtered as portaudio_noise_filtered

# --- trace ------------------------------------------------------------------------------------


class Trace:
    """JSON-lines events to the file named by $TRAINER_TRACE (for benchmarks); else nothing."""

    def __init__(self, path: str | None = None):
        self.path = path if path is not None else os.environ.get("TRAINER_TRACE") or None
        self._lock = threading.Lock()

    def __call__(self, event: str, **fields: Any) -> None:
        if not self.path:
            return
        rec = {"event": event, "t": time.time(), "pid": os.getpid(), **fields}
        with self._lock:
            try:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(rec) + "\n")
            except OSError as exc:  # a benchmarking aid never stops a round: one line, then off
                print(f"trainer: tracing off, cannot write {self.path} "
                      f"({exc.strerror or exc})", file=sys.stderr)
                self.path = None


def read_trace(path, event: str | None = None) -> list[dict]:
    """The events in a $TRAINER_TRACE file (all, or those named `event`), oldest first.

    A line still being written by the traced process is skipped.
    """
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event is None or rec.get("event") == event:
            out.append(rec)
    return out


# --- understanding by meaning, loaded in the background -----------------------------------------


def persona_key(persona) -> str:
    """A key for the persona's cached example vectors: the file's hash (or its content's)."""
    import hashlib

    if persona.path is not None and persona.path.is_file():
        return hashlib.sha256(persona.path.read_bytes()).hexdigest()
    return hashlib.sha256(persona.model_dump_json().encode()).hexdigest()


def embedded_lines(persona) -> list[str]:
    """The fixed texts a round with this persona embeds besides the user's words: each of the
    persona's lines as written (its prompts are compared with the user's question) and each
    sentence of it as the scorecard reads it (follow-ups and hooks are judged against the
    persona's lines), plus the stock questions and offers every round compares with."""
    from trainer.analysis import _STOCK_QUESTIONS, _sentences
    from trainer.offers import OFFER_EXAMPLES
    from trainer.personas import iter_lines

    texts = [*_STOCK_QUESTIONS, *OFFER_EXAMPLES]
    lines = [text for _path, text in iter_lines(persona)]
    lines += [t for h in persona.hooks for t in (h.label, h.suggestion)]  # the scorecard's
    for text in lines:
        if text and "{" not in text:  # a line with a {slot} is filled in at run time
            texts += [text, *_sentences(text)]
    return list(dict.fromkeys(" ".join(t.split()) for t in texts if t.strip()))


def meaning_router(persona, embedder=None, options=None, warm_lines: bool = False):
    """The MeaningRouter a round uses: the persona's example vectors from the disk cache
    (trainer.meaning.embed_cached, keyed by the file's hash), on the shared model by default.

    The vectors of the persona's own lines (embedded_lines) come from that cache too and are
    handed to the model's text cache: a reply then embeds only the user's words (issue 15:
    the prompts compared at each reply cost 15-40 ms apiece on the turn's path). They are
    computed only with `warm_lines` (`trainer persona warm`, which setup runs): ~1,500 lines
    take 15-60 s, too long for a round's loading thread, which only reads them from disk."""
    from trainer.meaning import embed_cached, shared
    from trainer.routing import ROUTER_OPTIONS, MeaningRouter

    m = embedder if embedder is not None else shared()
    key = persona_key(persona)
    vecs = embed_cached(m, MeaningRouter.texts(persona), key)
    if hasattr(m, "remember"):
        lines = embedded_lines(persona)
        vectors = embed_cached(m, lines, key + ":lines", compute=warm_lines)
        if vectors is not None:
            m.remember(lines, vectors)
    return MeaningRouter(persona, m, vectors=vecs, options=options or ROUTER_OPTIONS)


class RouterLoader:
    """Loads the sentence-embedding model and the persona's example vectors in a thread.

    The vectors of a persona file are cached on disk by its hash (trainer.meaning.embed_cached),
    so only the first round with a new file pays for them (about 2-3 s for ~400 lines). When
    the model cannot be loaded the round goes on with the lexical router and says so once.
    """

    def __init__(self, persona, trace: Trace):
        self.persona = persona
        self.trace = trace
        self._result = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._told = False
        self._thread = threading.Thread(target=self._run, name="meaning-load", daemon=True)
        self._thread.start()

    def join(self, timeout_s: float = 30.0) -> None:
        """Wait for the loading thread: a process must not exit while onnxruntime is still
        initialising in it (the C++ runtime aborts: "terminate called without an active
        exception"), e.g. when a round ends before the first reply."""
        self._thread.join(timeout_s)

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            self._result = meaning_router(self.persona)
            self.trace("meaning_ready", seconds=round(time.perf_counter() - t0, 3))
        except BaseException as exc:  # handed to the main thread by get()
            self._error = exc
        finally:
            self._done.set()

    def ready(self) -> bool:
        """Loaded (or failed): `get()` will not wait."""
        return self._done.is_set()

    def get(self, screen=None):
        """The MeaningRouter (waits for it), or None when the model could not be loaded."""
        self._done.wait()
        if self._error is not None and not self._told:
            self._told = True
            msg = getattr(self._error, "message", None) or str(self._error)
            if screen is not None:
                screen.notice(f"Understanding by meaning is off ({msg}); the persona matches "
                              "your words instead.")
        return self._result


# --- the speech model, loaded in the background -----------------------------------------------


class ModelLoader:
    """Loads the transcriber in a thread so the persona can speak meanwhile.

    `start()` begins loading; `get()` waits for it (starting it if nobody did).

    When: run_practice starts it before anything else, because a new PulseAudio output stalls
    ~1-2 s before audio flows (Player.open) and nothing plays meanwhile. Loading *while* a line
    plays costs audible drop-outs: the model's imports and CTranslate2's load hold the GIL for
    tens of milliseconds, and the speaker's callback (Python, ~9 ms buffers) misses its turn
    (measured: 10-20 silent 10 ms frames in the opener), and its warm-up keeps both cores busy.
    So the opener waits for a short load (OPENER_WAITS_FOR_MODEL_S), and a 1 ms GIL switch
    interval during the load keeps the rest of the set-up responsive.
    """

    def __init__(self, engine: str | None, model: str | None, trace: Trace):
        self.engine, self.model = engine, model
        self.trace = trace
        self.status: tuple[str, float | None] = ("loading the speech model", None)
        self._result = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    @classmethod
    def holding(cls, transcriber) -> ModelLoader:
        """A loader that already holds a transcriber loaded elsewhere (tests, a long session)."""
        loader = cls(None, None, Trace(""))
        loader._result, loader._started = transcriber, True
        loader._done.set()
        return loader

    def start(self) -> ModelLoader:
        """Start loading (a second call does nothing)."""
        with self._lock:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="asr-load", daemon=True).start()
        return self

    def _progress(self, what: str, fraction: float | None = None) -> None:
        self.status = (what, fraction)

    def _run(self) -> None:
        t0 = time.perf_counter()
        switch_s = sys.getswitchinterval()
        sys.setswitchinterval(0.001)
        try:
            from trainer.speech.asr import load_transcriber

            self._result = load_transcriber(self.engine, self.model, progress=self._progress)
            self.trace("model_ready", seconds=round(time.perf_counter() - t0, 3))
        except BaseException as exc:  # handed to the main thread by get()
            self._error = exc
        finally:
            sys.setswitchinterval(switch_s)
            self._done.set()

    def wait(self, timeout_s: float, screen: Screen | None = None) -> bool:
        """Wait up to `timeout_s` for the load to finish (errors are left to get())."""
        deadline = time.monotonic() + timeout_s
        while not self._done.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                return False
            if screen is not None:
                screen.progress(*self.status)
        return True

    def get(self, screen: Screen | None = None):
        """The transcriber; waits (showing progress) if it is still loading."""
        self.start()
        while not self._done.wait(0.1):
            if screen is not None:
                what, frac = self.status
                screen.progress(what, frac)
        if self._error is not None:
            raise self._error
        return self._result


# --- replies: microphone, typed text or WAV files ---------------------------------------------


@dataclass
class InputPlan:
    kind: str  # mic | text | files
    files: tuple[Path, ...] = ()
    notice: str = ""  # e.g. "no microphone found: type your replies"


def plan_input(inputs: Sequence[str], device: str | None) -> InputPlan:
    """Decide where replies come from; errors name the problem before anything starts."""
    items = [i for i in inputs if i]
    if not items:
        try:
            from trainer.speech.devices import list_devices, resolve_device

            has_mic = any(d.is_default_input and d.max_input_channels > 0
                          for d in list_devices())
            if has_mic and device is not None:
                resolve_device(device, kind="input")
                return InputPlan("mic")
        except TrainerError as exc:  # PortAudio missing or broken: typed replies still work
            if device is not None:
                raise  # the user asked for a device: say what is wrong with it
            return InputPlan("text", notice=f"No microphone ({exc.message}): type your "
                             f"replies. To use one: {exc.hint or 'see `trainer devices`'}.")
        if has_mic:
            return InputPlan("mic")
        return InputPlan("text", notice="No microphone found: type your replies "
                         "(see `trainer devices`; --input mic once one is plugged in).")
    if items in (["mic"], ["text"]):
        return InputPlan(items[0])
    if "mic" in items or "text" in items:
        raise UsageError("--input takes mic, text, or audio files, not a mix",
                         hint="e.g. --input mic, or --input a.wav --input b.wav")
    files = tuple(Path(i) for i in items)
    for f in files:
        if not f.is_file():
            raise UsageError(f"no such audio file: {f}",
                             hint="--input takes mic, text, or WAV/FLAC files (one per reply)")
    # Read each file once now, so a broken one stops the round before it starts, not midway.
    from trainer.speech.audio_io import read_audio

    for f in files:
        read_audio(f)
    return InputPlan("files", files=files)


# --- the speaker and the voice -----------------------------------------------------------------


@dataclass
class Speaker:
    """The round's player and voice; `ready` resolves when the player can take audio."""

    player: Any  # speech.playback.Player, or SilentPlayer when nothing is played
    voice_on: bool
    ready: Future

    def wait_ready(self) -> None:
        """Block until the speaker is open; raises its DeviceError if it could not open."""
        self.ready.result()


def open_speaker(voice: bool, device: str | None, clock, screen: Screen) -> Speaker:
    """The speaker for the round, opening in the background.

    Opening a PulseAudio output stalls ~1-2 s before audio flows (see Player.open), so it
    overlaps the rest of the set-up instead of delaying the opener. No speaker (and none asked
    for): the persona's lines are printed only, as with --no-voice.
    """
    from trainer.speech.playback import Player, SilentPlayer

    ready: Future = Future()
    if voice and device is None:
        from trainer.speech.devices import default_output_available

        if not default_output_available():
            screen.notice("No speaker found: the persona's lines are printed only "
                          "(--no-voice).")
            voice = False
    if not voice:
        ready.set_result(None)
        return Speaker(SilentPlayer(clock), False, ready)
    player = Player(device, clock=clock)

    def run() -> None:
        try:
            player.open()
            ready.set_result(None)
        except BaseException as exc:  # re-raised in the main thread by wait_ready()
            ready.set_exception(exc)

    threading.Thread(target=run, name="speaker-open", daemon=True).start()
    return Speaker(player, True, ready)


VOICE_ENGINES = ("persona", "espeak")  # --voice: the persona file's choice, or espeak-ng


def make_voice(spec, voice_on: bool, engine: str | None = None, screen: Screen | None = None,
               trace: Trace | None = None):
    """The persona's voice, or its silent twin that only times lines (--no-voice).

    `spec` is the persona's `voice:` (personas.Voice). `engine`: None or "persona" follows the
    file, "espeak" forces espeak-ng. A neural voice loads in the background (VoiceLoader);
    one that is not installed is a notice on `screen` and espeak-ng speaks instead.
    """
    from trainer.speech.tts import SilentVoice, Voice

    if not voice_on:
        return SilentVoice(spec.id, spec.rate_wpm)
    if engine not in (None, "persona", "espeak"):
        raise UsageError(f"unknown voice engine {engine!r}",
                         hint=f"--voice takes {' or '.join(VOICE_ENGINES)}")
    if spec.engine == "piper" and engine != "espeak":
        from trainer.speech.tts import PIPER_INSTALL, piper_unavailable

        why = piper_unavailable(spec.piper_voice)
        if why is None:
            return VoiceLoader(spec, screen, trace or Trace("")).start()
        if screen is not None:
            screen.notice(f"Speaking with espeak-ng: {why} ({PIPER_INSTALL}).")
    return Voice(spec.id, spec.rate_wpm)


class VoiceLoader:
    """A neural voice loading in a thread (like ModelLoader), usable as the voice at once.

    `stream`/`synth` wait for the load. If it fails (a corrupt model, an onnxruntime that
    will not start), the first line says so in one notice and espeak-ng speaks instead: the
    round goes on. The persona's opener waits for the load (0.3-0.5 s, overlapping the
    speaker's 1-2 s start), so the first line is already in the neural voice.
    """

    def __init__(self, spec, screen: Screen | None, trace: Trace):
        self.spec, self.screen, self.trace = spec, screen, trace
        self.rate_wpm = spec.rate_wpm
        self.engine = "piper"
        self.voice_id = spec.piper_voice
        self._voice = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._fallback_lock = threading.Lock()
        self._to_prepare: list[str] = []  # lines to prepare once loaded (NeuralVoice.prepare)

    def start(self) -> VoiceLoader:
        from trainer.speech.memory import tune_heap

        # the voice's pieces and Whisper's drafts in one process: see trainer/speech/memory.py
        self.trace("heap", tuned=tune_heap())
        threading.Thread(target=self._run, name="voice-load", daemon=True).start()
        return self

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            from trainer.speech.tts import NeuralVoice

            s = self.spec
            self._voice = NeuralVoice(s.piper_voice, s.rate_wpm, speaker=s.speaker)
            self.trace("voice_ready", engine="piper", voice=s.piper_voice,
                       seconds=round(time.perf_counter() - t0, 3))
            if self._to_prepare:  # (emptied by stop_preparing when the round ended first)
                self._voice.prepare(self._to_prepare)
        except BaseException as exc:  # the fallback is decided in get(), in the round's thread
            self._error = exc
        finally:
            self._done.set()

    def get(self):
        """The loaded voice (waits for it), or espeak-ng if it could not load."""
        self._done.wait()
        if self._voice is None:
            with self._fallback_lock:
                if self._voice is None:
                    from trainer.speech.tts import Voice

                    exc = self._error
                    msg = getattr(exc, "message", None) or str(exc)
                    if self.screen is not None:
                        self.screen.notice(f"The neural voice failed to load ({msg}): "
                                           "using espeak-ng.")
                    self._voice = Voice(self.spec.id, self.spec.rate_wpm)
                    self.engine, self.voice_id = "espeak", self._voice.voice_id
        return self._voice

    def stream(self, text: str):
        return self.get().stream(text)

    def stop_preparing(self, timeout_s: float = 30.0) -> None:
        """Before the process exits: the voice has finished loading, nothing more is prepared,
        and the preparing thread has ended (a running onnxruntime session aborts the exit)."""
        self._to_prepare = []
        self._done.wait(timeout_s)
        voice = self._voice
        if hasattr(voice, "stop_preparing"):
            voice.stop_preparing(timeout_s)

    def prepare(self, texts) -> None:
        """NeuralVoice.prepare, now or as soon as the voice has loaded (nothing with espeak)."""
        self._to_prepare = list(texts)
        voice = self._voice
        if self._done.is_set() and hasattr(voice, "prepare"):
            voice.prepare(self._to_prepare)

    def synth(self, text: str):
        return self.get().synth(text)

    def estimate_s(self, text: str) -> float:
        from trainer.speech.tts import estimate_speech_s

        return estimate_speech_s(text, self.rate_wpm)


def make_source(plan: InputPlan, device: str | None, clock, endpoint=None):
    """The reply source for the plan; a microphone is opened now, so a missing or busy one
    fails before the persona speaks. `endpoint`: speech.endpoint.EndpointOptions (None: the
    defaults)."""
    from trainer.speech.sources import MicSource, TextSource, WavFileSource

    if plan.kind == "mic":
        src = MicSource(device, options=endpoint, clock=clock)
        src.open()
        return src
    if plan.kind == "files":
        return WavFileSource(plan.files, options=endpoint, clock=clock)
    return TextSource(prompt=typed_prompt, clock=clock)


def typed_prompt() -> str | None:
    """One typed reply from stdin (None at end of input); prompts only at a terminal."""
    if sys.stdin.isatty():
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401 - line editing and history for typed replies
    try:
        return input("you> " if sys.stdin.isatty() else "")
    except EOFError:
        return None


# --- process plumbing --------------------------------------------------------------------------

def _sigterm_as_interrupt(signum, frame):  # a polite kill stops the round like Ctrl-C
    raise KeyboardInterrupt


def install_signal_handlers() -> Callable[[], None]:
    """SIGTERM behaves like Ctrl-C (the session is closed as interrupted); returns undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    old = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    return lambda: signal.signal(signal.SIGTERM, old)
