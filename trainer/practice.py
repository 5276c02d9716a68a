"""One practice round, end to end: source -> ASR -> analysis -> conversation -> voice -> store.

    briefing -> persona's opener -> [listen -> transcribe -> respond -> speak]* -> recall check
             -> scorecard -> "review it: trainer review ID"

The round ends when the persona closes, the user says goodbye, `max_turns` is reached, the
replies run out (WAV files, end of typed input) or on Ctrl-C. Nothing is lost on the way: the
session is opened before the persona speaks and every turn is stored the moment it ends, so
Ctrl-C leaves an `interrupted` session and even a SIGKILLed process leaves every finished turn
(the store shows such a session as interrupted once its writer is gone). A turn whose
transcription fails is stored with its audio and `error`, the persona asks to hear it again
and the round goes on.

Start-up: the Whisper model loads in a background thread while the briefing is read and the
opener is spoken, so the persona talks within a second or two of the command (see
benchmarks/startup.py). `TRAINER_TRACE=PATH` appends JSON-lines events (wall-clock `t`) such as
`first_audio`, the moment the first sample of the persona's voice is handed to the device.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from trainer.conversation import Conversation
from trainer.errors import DeviceError, TrainerError, UsageError
from trainer.live import Briefing, Screen
from trainer.personas import Persona, list_personas, load_persona
from trainer.scoring import RecallItem, Scorecard, grade_recall, score_round
from trainer.types import Line, RecallQuestion, Turn, Utterance

LEVELS = ("easy", "medium", "hard")
GOOD_ROUND_SHARE = 0.7  # a round "scores well" when this share of its measured metrics passed
OPENER_WAITS_FOR_MODEL_S = 2.0  # longest wait for the speech model before the first line
MIN_REPLIES_TO_LEVEL_UP = 4  # ... and it was a real conversation, not two lines and goodbye

# The persona file has no lines for "say that again"; these are the practice layer's own, said
# when a reply could not be transcribed (the conversation machine is not told about the turn).
REPEAT_LINES = (
    "Sorry, I didn't catch that. Could you say it again?",
    "Sorry, it's a bit loud in here. What was that?",
    "I missed that, sorry. Say that again?",
)
UNHEARD_LINES = (
    "Sorry, I didn't quite hear you. Could you say that again?",
    "Hm, you went quiet there. What were you saying?",
)


@dataclass
class NudgeOptions:
    """The one optional live nudge of a round (dense live feedback hurts; one sparse tip)."""

    enabled: bool = True
    monologue_s: float = 45.0  # one reply at least this long (seconds of speech) ...
    monologue_words: int = 110  # ... or this many words earns the tip at once
    long_turn_s: float = 25.0  # replies this long (Gong: monologues past ~25 s lose people) ...
    long_turn_words: int = 65  # ... or this many words ...
    long_turns_in_row: int = 2  # ... this many times in a row earn it too
    quiet_turns: int = 4  # so do this many replies in a row without a question


@dataclass
class PracticeOptions:
    """What `trainer practice` was asked to do (see the CLI for the user-facing words).

    Attributes:
        persona: persona id or file path; None picks one by the user's history.
        inputs: ("mic",), ("text",), WAV/FLAC paths (one file per user turn), or () for the
            microphone when one exists, else typed replies.
        engine, model: speech recognition engine and model (None: the defaults).
        voice: speak the persona's lines (False: print only, --no-voice).
        max_turns: stop after this many user turns.
        seed: seed of the persona's line choices.
        device: audio device for both microphone and speaker (index or name).
        recall_answers: answers for the recall check without asking: plain answers in order,
            or HOOK=ANSWER for a given hook.
        load_model_first: load the speech model before the persona speaks (the sequential way;
            the start-up benchmark's baseline).
        interactive: the user is at a terminal (typed recall answers can be asked for);
            None: decided from stdin.
    """

    persona: str | None = None
    inputs: tuple[str, ...] = ()
    engine: str | None = None
    model: str | None = None
    voice: bool = True
    max_turns: int | None = None
    seed: int | None = None
    device: str | None = None
    recall_answers: tuple[str, ...] = ()
    load_model_first: bool = False
    interactive: bool | None = None
    nudge: NudgeOptions = field(default_factory=NudgeOptions)


@dataclass
class RoundResult:
    """How a round went, for the CLI and the tests."""

    session_id: str
    status: str  # completed | interrupted
    end_reason: str  # persona_closed | goodbye | max_turns | out_of_input | interrupted
    turns: list[Turn]
    scorecard: Scorecard | None = None
    recall: list[RecallItem] = field(default_factory=list)
    nudges: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 130 if self.status == "interrupted" else 0


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
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")


# --- choosing a persona by history ------------------------------------------------------------


@dataclass(frozen=True)
class PastRound:
    """What persona choice needs to know about one earlier round."""

    persona_id: str
    difficulty: str
    completed: bool
    score: float | None  # share of measured metrics passed (0..1), None without a scorecard
    user_turns: int = MIN_REPLIES_TO_LEVEL_UP


@dataclass(frozen=True)
class Choice:
    """The persona for this round and why (shown in the briefing)."""

    persona: Persona
    why: str
    level: str


def round_score(scorecard: dict[str, Any] | Scorecard | None) -> float | None:
    """Share of a scorecard's measured metrics that passed (0..1), or None."""
    if scorecard is None:
        return None
    card = scorecard if isinstance(scorecard, Scorecard) else Scorecard.from_dict(scorecard)
    if not card.measured_count:
        return None
    return card.passed_count / card.measured_count


def well_scored(score: float | None, user_turns: int) -> bool:
    return (score is not None and score >= GOOD_ROUND_SHARE
            and user_turns >= MIN_REPLIES_TO_LEVEL_UP)


def next_level(level: str) -> str | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def current_level(history: Sequence[PastRound]) -> tuple[str, PastRound | None]:
    """The difficulty to practise at: easy first; one level up after a round that scored well
    at the current level. Returns (level, the round that earned the move up or None)."""
    level, earned = LEVELS[0], None
    for r in history:  # oldest first
        if (r.completed and r.difficulty == level and well_scored(r.score, r.user_turns)
                and next_level(level)):
            level, earned = next_level(level), r
    return level, earned


def choose_persona(personas: Sequence[Persona], history: Sequence[PastRound]) -> Choice:
    """Pick the round by history: the level from `current_level`, then the persona of that
    level met least often (ties: longest ago, then id), so rounds rotate."""
    if not personas:
        raise UsageError("no personas found", hint="persona files live in personas/*.yaml")
    level, earned = current_level(history)
    pool = [p for p in personas if p.difficulty == level]
    if not pool:  # no persona at this level: the nearest easier one, else anything
        for lv in reversed(LEVELS[: LEVELS.index(level)]):
            pool = [p for p in personas if p.difficulty == lv]
            if pool:
                break
        pool = pool or list(personas)
    count = {p.id: 0 for p in pool}
    last_seen = {p.id: -1 for p in pool}
    for i, r in enumerate(history):
        if r.persona_id in count:
            count[r.persona_id] += 1
            last_seen[r.persona_id] = i
    persona = min(pool, key=lambda p: (count[p.id], last_seen[p.id], p.id))
    if not history:
        why = f"Your first round: an {persona.difficulty} one to start."
    elif earned is not None:
        pct = round((earned.score or 0) * 100)
        why = (f"Level {level}: your {earned.difficulty} round passed {pct}% of its targets. "
               f"For an easier round: trainer practice --persona ID (see trainer personas).")
    else:
        why = (f"Level {level}: a round passing {round(GOOD_ROUND_SHARE * 100)}% of its "
               f"targets moves you up." if next_level(level) else f"Level {level}.")
    return Choice(persona=persona, why=why, level=level)


def past_rounds(sessions) -> list[PastRound]:
    """The user's rounds, oldest first, from the store's session summaries."""
    rows = sorted(sessions, key=lambda s: s.started_at)
    return [PastRound(persona_id=s.persona_id, difficulty=s.difficulty,
                      completed=s.state == "completed", score=round_score(s.scorecard),
                      user_turns=s.user_turns)
            for s in rows]


def round_goal(persona: Persona, cards: Sequence[dict[str, Any]]) -> str:
    """One goal for this round: the first "start doing" item of the user's last scored round
    (skipping ones about that persona's personal details), else the persona's own goal."""
    for card in reversed(cards):
        labels = [h.get("label") or h.get("id") or "" for h in card.get("hooks") or []]
        for item in card.get("start") or []:
            if not any(label and label in item for label in labels):
                return f"{item} (from your last round)"
        break  # only the last round counts
    return persona.briefing.goal


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
        self._thread = threading.Thread(target=self._run, name="asr-load", daemon=True)

    def start(self) -> ModelLoader:
        """Start loading (again: no-op)."""
        if not self._thread.is_alive() and not self._done.is_set():
            self._thread.start()
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

    @property
    def ready(self) -> bool:
        return self._done.is_set()

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



# --- the round --------------------------------------------------------------------------------

LINE_GAP_S = 0.3  # silence between two lines of one persona reply


@dataclass
class _Spoken:
    """A persona reply being played: its lines, one Playback, and where each line starts."""

    lines: list[Line]
    playback: Any  # trainer.speech.playback.Playback
    offsets_s: list[tuple[float, float]]  # (start, end) of each line within the audio
    stored: bool = False


class Round:
    """One round with a persona; `run()` drives it and returns a RoundResult.

    The parts are handed in (built by `run_practice`): `source` (speech.sources), `voice` and
    `player` (speech.tts / speech.playback, or their silent twins for --no-voice), `store`,
    and `asr` (a ModelLoader; None for typed replies).
    """

    def __init__(self, *, persona: Persona, source, asr: ModelLoader | None, voice, player,
                 store, screen: Screen, options: PracticeOptions, trace: Trace | None = None,
                 briefing: Briefing | None = None,
                 read_answer: Callable[[str], str | None] | None = None,
                 spoken_recall: bool = False):
        self.persona = persona
        self.source = source
        self.asr = asr
        self.voice = voice
        self.player = player
        self.store = store
        self.screen = screen
        self.options = options
        self.trace = trace or Trace()
        self.briefing = briefing
        self.read_answer = read_answer  # typed recall answers (None: not asked by typing)
        self.spoken_recall = spoken_recall  # recall answers said into the microphone
        self.conversation = Conversation(persona, seed=options.seed)
        self.rng = random.Random(options.seed)
        self.session_id = ""
        self.turns: list[Turn] = []
        self.nudges: list[str] = []
        self._quiet_turns = 0  # replies in a row without a question (for the nudge)
        self._long_turns = 0  # long replies in a row (for the nudge)
        self._first_audio_traced = False
        self._speaking: _Spoken | None = None
        self._speculative = None

    # --- the round ------------------------------------------------------------------------
    def run(self) -> RoundResult:
        p = self.persona
        self.session_id = self.store.start_session(
            p.id, p.name, p.setting, p.difficulty, hooks=list(p.hook_cues()),
            meta={"seed": self.options.seed, "input": getattr(self.source, "kind", ""),
                  "engine": self.options.engine, "model": self.options.model,
                  "voice": self.options.voice, "max_turns": self.options.max_turns,
                  "persona_file": str(p.path) if p.path else None})
        self.trace("session", id=self.session_id)
        try:
            if self.briefing is not None:
                self.screen.briefing(self.briefing)
            if self.asr is not None:
                self.asr.start()  # (run_practice starts it earlier; a no-op then)
                if self.options.voice:
                    # Let a short load finish first: loading while a line plays causes drop-outs
                    # (see ModelLoader); a long one (a big model) must not hold the persona up.
                    self.asr.wait(OPENER_WAITS_FOR_MODEL_S, self.screen)
            self._speak(self.conversation.start())
            reason = self._loop()
            self._finish_speaking()
            self.screen.round_over(self._reason_text(reason))
        except KeyboardInterrupt:
            return self._interrupted()
        except TrainerError:
            # e.g. the microphone was unplugged: keep what we have, then let the CLI say why
            self._close_interrupted()
            self.screen.info(f"The turns so far are kept: trainer review {self.session_id}")
            raise
        try:
            recall = self._recall_check()
            card = self._score(recall)
            self.store.finish_session(self.session_id, "completed", scorecard=card.to_dict(),
                                      recall=[_recall_dict(r) for r in recall] or None)
        except KeyboardInterrupt:  # Ctrl-C in the recall check: the conversation itself is kept
            return self._interrupted(reason)
        self._show_scorecard(card)
        self.trace("end", status="completed", reason=reason)
        return RoundResult(self.session_id, "completed", reason, self.turns, card, recall,
                           self.nudges)

    def _loop(self) -> str:
        c = self.conversation
        max_turns = self.options.max_turns
        while True:
            if c.finished:
                return "goodbye" if c.user_said_goodbye else "persona_closed"
            if max_turns is not None and c.turns >= max_turns:
                return "max_turns"
            utt = self._listen()
            if utt is None:
                return "out_of_input"
            self._speak(self._handle(utt))
            if not c.finished and c.user_said_goodbye:
                return "goodbye"

    # --- the persona's voice --------------------------------------------------------------
    def _speak(self, lines: Sequence[Line]) -> None:
        """Show the lines and start saying them (one Playback for the whole reply); the
        listening that follows may overlap it, so the user can interrupt."""
        self._finish_speaking()
        if not lines:
            return
        chunks, offsets, t, rate = [], [], 0.0, None
        for i, line in enumerate(lines):
            self.screen.persona_line(self.persona.first_name, line.text, line.phase)
            audio, sr = self.voice.synth(line.text)
            rate = rate or sr
            if sr != rate:  # one voice gives one rate; guard anyway
                import numpy as np
                import soxr

                audio = soxr.resample(audio, sr, rate).astype(np.float32)
            if i:
                chunks.append(_zeros(LINE_GAP_S, rate))
                t += LINE_GAP_S
            offsets.append((t, t + len(audio) / rate))
            t += len(audio) / rate
            chunks.append(audio)
        import numpy as np

        pb = self.player.start(np.concatenate(chunks).astype(np.float32), rate)
        self._speaking = _Spoken(list(lines), pb, offsets)
        if not self.turns:
            self.trace("first_audio_queued", voice=self.options.voice)

    def _finish_speaking(self, wait: bool = True) -> None:
        """Store the reply being spoken once it has been heard (or cut off)."""
        sp = self._speaking
        if sp is None or sp.stored:
            return
        if not wait and not sp.playback.done:
            return
        res = sp.playback.wait()
        sp.stored = True
        self._speaking = None
        if not self._first_audio_traced and sp.playback.first_mono is not None \
                and not res.silent:
            self._first_audio_traced = True
            # wall-clock time of the first sample at the speaker (PortAudio's DAC time)
            heard = time.time() - (time.monotonic() - sp.playback.first_mono)
            self.trace("first_audio", t_heard=heard)
        self.trace("persona_done", end_s=round(res.end_s, 3), cut=res.stopped_early)
        for line, (a, b) in zip(sp.lines, sp.offsets_s, strict=True):
            start, end = res.start_s + a, res.start_s + b
            meta: dict[str, Any] = {"voice_estimated": True} if res.silent else {}
            if end > res.end_s + 0.001:  # the user talked over it: the line was cut here
                meta["cut_off"] = True
                start, end = min(start, res.end_s), res.end_s
            self._store_turn(Turn(
                index=len(self.turns), speaker="persona", text=line.text,
                start_s=round(start, 3), end_s=round(end, 3), phase=line.phase,
                hooks=tuple(line.hooks), topic=line.topic, kind=line.kind, meta=meta))

    # --- the user's turn ------------------------------------------------------------------
    def _listen(self) -> Utterance | None:
        """The next reply; None when the replies ran out."""
        sp = self._speaking
        kind = getattr(self.source, "kind", "")
        if kind != "mic" and sp is not None:
            self._finish_speaking()  # files and typed replies start after the line
            after = None if not self.turns else _last_persona_end(self.turns)
        else:
            after = sp.playback if sp is not None else None
        self.trace("listening", reply=self.conversation.turns + 1)
        if kind in ("mic", "wav"):
            self.screen.listening("speak, then pause" if kind == "mic" else "")
            self._speculative = self._speculative or self._make_speculative()
            # Drafts at each pause pay off live (transcription overlaps the end-of-turn wait);
            # a file is read faster than real time, where drafts would only cost CPU.
            utt = self.source.listen(after=after, on_level=self._on_level,
                                     on_pause=self._speculative.on_pause if kind == "mic"
                                     else None)
        else:
            utt = self.source.listen(after=after)
        self._finish_speaking()
        return utt

    def _on_level(self, dbfs: float) -> None:
        self.screen.level(dbfs, speaking=dbfs > -45.0)
        self._finish_speaking(wait=False)  # store the persona's line as soon as it is heard

    def _make_speculative(self):
        from trainer.speech.sources import SpeculativeTranscriber

        asr = self.asr

        def transcribe(audio):
            return asr.get().transcribe(audio, sample_rate_hz=16_000)

        return SpeculativeTranscriber(transcribe)

    def _handle(self, utt: Utterance) -> list[Line]:
        """Transcribe, store and answer one reply; returns the persona's lines."""
        c = self.conversation
        idx = len(self.turns)
        audio = utt.audio
        has_audio = audio is not None and len(audio) > 0
        if utt.timed_out and not has_audio:
            # no reply at all: the persona prompts (the machine's silence reaction)
            self.screen.user_line("", "no reply")
            phase = c.phase
            reply = c.respond("", silence=True)
            self._store_turn(Turn(index=idx, speaker="user", text="", start_s=utt.start_s,
                                  end_s=utt.start_s, phase=phase, kind="silence",
                                  meta={"timed_out": True}))
            return reply.lines
        typed = utt.text is not None
        text, words, error, meta = (utt.text or "").strip(), [], None, {}
        if typed:
            meta["typed"] = True
        else:
            # Still loading: wait, showing its progress. A model that cannot load at all is
            # not one bad turn: its ModelError ends the round (turns so far are kept).
            self.asr.get(self.screen)
            self.screen.transcribing()
            try:
                tr = self._speculative.transcribe(audio)
                text, words = tr.text.strip(), list(tr.words)
                meta = {"engine": tr.engine, "model": tr.model,
                        "asr_s": round(tr.seconds_taken, 3),
                        "audio_start_s": round(getattr(utt, "audio_start_s", utt.start_s), 3)}
            except (KeyboardInterrupt, DeviceError):
                raise
            except Exception as exc:  # one bad turn must not end the round; its audio is kept
                error = f"transcription failed: {getattr(exc, 'message', None) or exc}"
                self.trace("asr_error", error=error)
        if utt.capped:
            meta["capped"] = True
        phase = c.phase
        # Typed replies have no real timing: start == end, so scoring estimates talk time
        # honestly instead of measuring a made-up duration (and pace is "not measured").
        turn = Turn(index=idx, speaker="user", text=text, start_s=round(utt.start_s, 3)
                    if not typed else round(utt.end_s, 3), end_s=round(utt.end_s, 3),
                    phase=phase, words=words,
                    pause_before_s=None if typed or utt.pause_before_s is None
                    else round(utt.pause_before_s, 3),
                    interrupted=utt.interrupted, error=error, meta=meta)
        if error or not text:
            self.screen.user_line("", error or "nothing recognised")
            turn.kind = "unheard"
            self._store_turn(turn, audio=audio if has_audio else None)
            pool = REPEAT_LINES if error else UNHEARD_LINES
            return [Line(text=self.rng.choice(pool), kind="repeat", phase=phase)]
        if not (typed and self.screen.interactive):  # typed at a terminal: already on screen
            self.screen.user_line(text)
        reply = c.respond(text, words=words or None,
                          duration_s=None if typed else utt.duration_s,
                          pause_s=utt.pause_before_s, capped=utt.capped,
                          interrupted=utt.interrupted)
        if reply.features is not None:
            turn.meta["features"] = _features_dict(reply.features)
        self._store_turn(turn, audio=audio if has_audio else None)
        self._maybe_nudge(turn, reply.features, typed)
        return reply.lines

    def _store_turn(self, turn: Turn, audio=None) -> Turn:
        stored = self.store.add_turn(self.session_id, turn, audio=audio, sample_rate_hz=16_000)
        self.turns.append(stored)
        self.trace("turn_stored", index=turn.index, speaker=turn.speaker)
        return stored

    def _maybe_nudge(self, turn: Turn, feats, typed: bool) -> None:
        """At most one live tip per round: after a monologue, or after several replies in a row
        without a question."""
        o = self.options.nudge
        if feats is None:
            return
        spoken_s = 0.0 if typed else turn.end_s - turn.start_s
        self._quiet_turns = 0 if feats.is_question else self._quiet_turns + 1
        long_turn = feats.word_count >= o.long_turn_words or spoken_s >= o.long_turn_s
        self._long_turns = self._long_turns + 1 if long_turn else 0
        if not o.enabled or self.nudges:
            return
        tip = None
        if (feats.word_count >= o.monologue_words or spoken_s >= o.monologue_s
                or self._long_turns >= o.long_turns_in_row):
            length = f" ({spoken_s:.0f} s)" if spoken_s >= 1 else ""
            tip = (f"That was a long turn{length}. Two or three sentences, then hand it back "
                   "with a question.")
        elif self._quiet_turns >= o.quiet_turns:
            tip = f"Try asking {self.persona.first_name} about something they just said."
        if tip:
            self.nudges.append(tip)
            self.screen.nudge(tip)
            self.trace("nudge", text=tip)

    # --- after the round ------------------------------------------------------------------
    def _recall_check(self) -> list[RecallItem]:
        if not any(t.speaker == "user" and t.text for t in self.turns):
            return []
        questions = self.conversation.recall_questions(2)
        if not questions:
            return []
        answers = _scripted_answers(questions, self.options.recall_answers)
        if answers is None and self.read_answer is None and not self.spoken_recall:
            self.screen.info("Recall check skipped: nobody to ask (give answers with "
                             "--recall-answer when replying from files).")
            return []
        self.screen.heading("Recall check: what did you catch?")
        items = []
        for i, q in enumerate(questions):
            if answers is not None:
                given = answers[i]
            elif self.spoken_recall:
                given = self._spoken_answer(q.question)
            else:
                given = self.read_answer(q.question)
            if given is None:  # input ended
                self.screen.info("Recall check stopped: no more answers." if items else
                                 "Recall check skipped: no answers given.")
                break
            item = grade_recall(q, given)
            items.append(item)
            self.screen.recall_result(q.question, given, item.correct, q.answers[0])
        return items

    def _spoken_answer(self, question: str) -> str:
        """Ask a recall question out loud (on screen) and transcribe the spoken answer."""
        self.screen.info(f"{question} (say your answer)")
        self.trace("recall_listening")
        self.screen.listening("say your answer")
        utt = self.source.listen(after=None, on_level=self._on_level)
        if utt is None or utt.audio is None or not len(utt.audio):
            return ""
        self.screen.transcribing()
        return self.asr.get(self.screen).transcribe(utt.audio, sample_rate_hz=16_000).text

    def _score(self, recall: list[RecallItem]) -> Scorecard:
        return score_round(self.turns, self.persona.hook_cues(), self.persona.name,
                           recall if recall else None)

    def _show_scorecard(self, card: Scorecard) -> None:
        from trainer.report.scorecard import print_scorecard

        self.screen.close()
        self.screen.console.print()
        print_scorecard(card, self.screen.console, title=f"Your round with {self.persona.name}")
        score = round_score(card)
        up = next_level(self.persona.difficulty)
        replies = sum(1 for t in self.turns if t.speaker == "user")
        if well_scored(score, replies) and up:
            self.screen.notice(f"Well done: {round(score * 100)}% of the targets met. Next time "
                               f"`trainer practice` picks a {up} round.")
        self.screen.saved(self.session_id)

    def _close_interrupted(self) -> None:
        card = None
        try:
            if any(t.speaker == "user" and t.text for t in self.turns):
                card = self._score([]).to_dict()
        except Exception:  # a partial round may not score; the turns are what matter
            card = None
        self.store.finish_session(self.session_id, "interrupted", scorecard=card)
        self.trace("end", status="interrupted")

    def _interrupted(self, reason: str = "interrupted") -> RoundResult:
        self.screen.close()
        try:
            sp, self._speaking = self._speaking, None
            if sp is not None:
                sp.playback.stop()
            self.player.close()
        except Exception:  # the device may be the reason; the store matters more now
            pass
        self._close_interrupted()
        n = sum(1 for t in self.turns if t.speaker == "user")
        self.screen.round_over(f"interrupted after {n} repl{'y' if n == 1 else 'ies'}")
        self.screen.saved(self.session_id, status="interrupted")
        return RoundResult(self.session_id, "interrupted", reason, self.turns,
                           nudges=self.nudges)

    def _reason_text(self, reason: str) -> str:
        name = self.persona.first_name
        return {
            "persona_closed": f"{name} ended the conversation",
            "goodbye": "you said goodbye",
            "max_turns": f"stopped after {self.options.max_turns} replies (--max-turns)",
            "out_of_input": "no more replies",
        }.get(reason, reason)


def _zeros(seconds: float, rate: int):
    import numpy as np

    return np.zeros(int(seconds * rate), np.float32)


def _last_persona_end(turns: Sequence[Turn]):
    """The end of the persona's last line as a PlayResult-like value for `listen(after=)`."""
    from trainer.speech.playback import PlayResult

    last = next((t for t in reversed(turns) if t.speaker == "persona"), None)
    if last is None:
        return None
    return PlayResult(start_s=last.start_s, end_s=last.end_s, duration_s=last.duration_s)


def _features_dict(feats) -> dict[str, Any]:
    d = asdict(feats)
    d.pop("text", None)
    return d


def _recall_dict(item: RecallItem) -> dict[str, Any]:
    return {"question": item.question, "answers": list(item.expected), "given": item.given,
            "correct": item.correct}


def _scripted_answers(questions: Sequence[RecallQuestion],
                      given: Sequence[str]) -> list[str] | None:
    """Answers from --recall-answer: HOOK=ANSWER for a named hook, else in order."""
    if not given:
        return None
    by_hook: dict[str, str] = {}
    plain: list[str] = []
    for g in given:
        key, sep, rest = g.partition("=")
        if sep and key.strip() and " " not in key.strip():
            by_hook[key.strip()] = rest.strip()
        else:
            plain.append(g)
    return [by_hook[q.hook_id] if q.hook_id in by_hook else (plain.pop(0) if plain else "")
            for q in questions]


# --- entry point ------------------------------------------------------------------------------


def run_practice(options: PracticeOptions, screen: Screen | None = None) -> RoundResult:
    """Run one round as `trainer practice` does; raises TrainerError for the CLI to print."""
    with portaudio_noise_filtered():
        return _run(options, screen)


def _run(options: PracticeOptions, screen: Screen | None) -> RoundResult:
    trace = Trace()
    trace("start")
    screen = screen or Screen()
    undo_signals = install_signal_handlers()
    source = player = asr = None
    try:
        plan = plan_input(options.inputs, options.device)
        if plan.notice:
            screen.notice(plan.notice)
        if plan.kind != "text":
            if options.model is None or "/" in options.model or Path(options.model).exists():
                from trainer.speech.models import resolve_model

                resolve_model(options.model)  # a wrong path fails now, not after the opener
            asr = ModelLoader(options.engine, options.model, trace).start()
            if options.load_model_first:  # the sequential way (benchmark baseline)
                asr.get(screen)

        from trainer.speech.playback import RoundClock
        from trainer.store import Store

        clock = RoundClock()
        player, player_ready = _open_player(options, clock, screen)
        store = Store()
        sessions = sorted(store.list_sessions(with_scorecards=True), key=lambda s: s.started_at)
        if options.persona:
            persona = load_persona(options.persona)
            why = ""
        else:
            choice = choose_persona(list_personas(), past_rounds(sessions))
            persona, why = choice.persona, choice.why
        cards = [s.scorecard for s in sessions if s.scorecard and s.state == "completed"]

        voice = _voice(persona, options)
        source = _make_source(plan, options, clock)
        player_ready.result()  # a speaker that cannot open fails here, before the round
        interactive = options.interactive
        if interactive is None:
            interactive = sys.stdin.isatty()
        briefing = Briefing(
            partner=f"{persona.name}, {persona.role}",
            setting=persona.setting, difficulty=persona.difficulty,
            goal=round_goal(persona, cards), opener_tip=persona.briefing.opener_tip,
            why=why, how=_how(plan, options))
        rnd = Round(persona=persona, source=source, asr=asr, voice=voice, player=player,
                    store=store, screen=screen, options=options, trace=trace,
                    briefing=briefing, read_answer=_answer_reader(plan, interactive),
                    spoken_recall=plan.kind == "mic")
        return rnd.run()
    finally:
        screen.close()
        for part in (source, player):
            if part is not None:
                with contextlib.suppress(Exception):  # a failed device must not hide the error
                    part.close()
        undo_signals()


def _open_player(options: PracticeOptions, clock, screen: Screen):
    """The speaker for the round, opening in the background: (player, future of its open()).

    Opening a PulseAudio output stalls ~1-2 s before audio flows (see Player.open), so it
    overlaps the rest of the set-up instead of delaying the opener. No speaker (and none asked
    for): the persona's lines are printed only, as with --no-voice.
    """
    from concurrent.futures import Future

    from trainer.speech.playback import Player, SilentPlayer

    done: Future = Future()
    if options.voice and options.device is None:
        from trainer.speech.devices import default_output_available

        if not default_output_available():
            screen.notice("No speaker found: the persona's lines are printed only "
                          "(--no-voice).")
            options.voice = False
    if not options.voice:
        done.set_result(None)
        return SilentPlayer(clock), done
    player = Player(options.device, clock=clock)

    def run() -> None:
        try:
            player.open()
            done.set_result(None)
        except BaseException as exc:  # re-raised in the main thread by done.result()
            done.set_exception(exc)

    threading.Thread(target=run, name="speaker-open", daemon=True).start()
    return player, done


def _voice(persona: Persona, options: PracticeOptions):
    from trainer.speech.tts import SilentVoice, Voice

    kind = Voice if options.voice else SilentVoice
    return kind(persona.voice.id, persona.voice.rate_wpm)


def _make_source(plan: InputPlan, options: PracticeOptions, clock):
    from trainer.speech.sources import MicSource, TextSource, WavFileSource

    if plan.kind == "mic":
        src = MicSource(options.device, clock=clock)
        src.open()  # a missing or busy microphone fails before the persona speaks
        return src
    if plan.kind == "files":
        return WavFileSource(plan.files, clock=clock)
    return TextSource(prompt=_typed_prompt, clock=clock)


def _typed_prompt() -> str | None:
    try:
        return input("you> " if sys.stdin.isatty() else "")
    except EOFError:
        return None


def _answer_reader(plan: InputPlan, interactive: bool):
    """Typed recall answers: at the terminal or from the typed-reply stream; None when
    nobody can type them (files from a script; microphone rounds answer out loud)."""
    if plan.kind == "text" or (interactive and plan.kind != "mic"):
        def read(question: str) -> str | None:
            try:
                return input(f"{question} > " if sys.stdin.isatty() else "")
            except EOFError:
                return None
        return read
    return None


def _how(plan: InputPlan, options: PracticeOptions) -> str:
    ends = "Say goodbye (or press Ctrl-C) to end."
    if plan.kind == "mic":
        return f"Speak when you see 'listening'; a short pause ends your turn. {ends}"
    if plan.kind == "text":
        return "Type your replies and press Enter. Type goodbye (or press Ctrl-D) to end."
    return f"Replies come from {len(plan.files)} audio file(s), one per turn."


# PortAudio's ALSA host API prints its internal checks straight to stderr (fprintf) when a
# device goes away, e.g. "Expression 'PaAlsaStream_WaitForFrames(...)' failed in
# 'src/hostapi/alsa/pa_linux_alsa.c', line: 4285". Debian's build does not export
# PaUtil_SetDebugPrintFunction, so those lines are filtered out of our stderr instead; the
# failure itself reaches us through the API and is reported as one DeviceError line.
_PORTAUDIO_NOISE = re.compile(rb"^Expression '.*' failed in 'src/.*', line: \d+\s*$")


@contextlib.contextmanager
def portaudio_noise_filtered():
    """Route fd 2 through a filter that drops PortAudio's internal messages for the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (e.g. embedded): nothing to filter
        yield
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)

    def pump() -> None:
        with os.fdopen(read_fd, "rb") as pipe:
            for line in pipe:
                if not _PORTAUDIO_NOISE.match(line):
                    os.write(saved, line)

    thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump sees EOF
        thread.join(1.0)
        os.close(saved)


def _sigterm_as_interrupt(signum, frame):  # a polite kill stops the round like Ctrl-C
    raise KeyboardInterrupt


def install_signal_handlers() -> Callable[[], None]:
    """SIGTERM behaves like Ctrl-C (the session is closed as interrupted); returns undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    old = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    return lambda: signal.signal(signal.SIGTERM, old)
