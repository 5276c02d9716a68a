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

import json
import os
import random
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
    monologue_s: float = 45.0  # a reply at least this long (seconds of speech) ...
    monologue_words: int = 110  # ... or this many words is a monologue worth a tip
    quiet_turns: int = 4  # this many replies in a row without a question also earns it


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


def next_level(level: str) -> str | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def current_level(history: Sequence[PastRound]) -> tuple[str, PastRound | None]:
    """The difficulty to practise at: easy first; one level up after a round that scored well
    at the current level. Returns (level, the round that earned the move up or None)."""
    level, earned = LEVELS[0], None
    for r in history:  # oldest first
        if (r.completed and r.difficulty == level and r.score is not None
                and r.score >= GOOD_ROUND_SHARE and next_level(level)):
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


def past_rounds(store) -> list[PastRound]:
    """The user's rounds, oldest first, from the store."""
    rows = store.list_sessions(with_scorecards=True)
    rows = sorted(rows, key=lambda s: s.started_at)
    return [PastRound(persona_id=s.persona_id, difficulty=s.difficulty,
                      completed=s.state == "completed", score=round_score(s.scorecard))
            for s in rows]


def round_goal(persona: Persona, history_cards: Sequence[dict[str, Any]]) -> str:
    """One goal for this round: what the last round said to start doing, else the persona's."""
    for card in reversed(history_cards):
        start = card.get("start") or []
        if start:
            return str(start[0])
    return persona.briefing.goal


# --- the speech model, loaded in the background -----------------------------------------------


class ModelLoader:
    """Loads the transcriber in a thread so the persona can speak meanwhile."""

    def __init__(self, engine: str | None, model: str | None, trace: Trace):
        self.engine, self.model = engine, model
        self.trace = trace
        self.status: tuple[str, float | None] = ("loading the speech model", None)
        self._result = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="asr-load", daemon=True)

    def start(self) -> ModelLoader:
        self._thread.start()
        return self

    def _progress(self, what: str, fraction: float | None = None) -> None:
        self.status = (what, fraction)

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            from trainer.speech.asr import load_transcriber

            self._result = load_transcriber(self.engine, self.model, progress=self._progress)
            self.trace("model_ready", seconds=round(time.perf_counter() - t0, 3))
        except BaseException as exc:  # handed to the main thread by get()
            self._error = exc
        finally:
            self._done.set()

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def get(self, screen: Screen | None = None):
        """The transcriber; waits (showing progress) if it is still loading."""
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
            from trainer.speech.devices import default_input_available, resolve_device

            has_mic = default_input_available()
            if has_mic and device is not None:
                resolve_device(device, kind="input")
        except TrainerError as exc:  # PortAudio missing or broken: typed replies still work
            return InputPlan("text", notice=f"No microphone ({exc.message}): type your replies.")
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
    return InputPlan("files", files=files)


# --- the round --------------------------------------------------------------------------------


class Round:
    """One round with a persona; `run()` drives it and returns a RoundResult.

    The parts are handed in (built by `run_practice`), so tests can give a typed source and a
    silent voice and still run the real conversation, analysis, scoring and store.
    """

    def __init__(self, *, persona: Persona, source, asr: ModelLoader | None, voice, player,
                 store, screen: Screen, options: PracticeOptions, plan: InputPlan,
                 trace: Trace | None = None, briefing: Briefing | None = None,
                 read_answer: Callable[[str], str | None] | None = None):
        self.persona = persona
        self.source = source
        self.asr = asr
        self.voice = voice
        self.player = player
        self.store = store
        self.screen = screen
        self.options = options
        self.plan = plan
        self.trace = trace or Trace()
        self.briefing = briefing
        self.read_answer = read_answer
        self.conversation = Conversation(persona, seed=options.seed)
        self.rng = random.Random(options.seed)
        self.session_id = ""
        self.turns: list[Turn] = []
        self.nudges: list[str] = []
        self._quiet_turns = 0
        self._first_audio_logged = False
        self._last_persona_end_s = 0.0

    # --- helpers --------------------------------------------------------------------------
    @property
    def clock(self):
        return self.player.clock

    def _store_turn(self, turn: Turn, audio=None, sample_rate_hz: int = 16_000) -> Turn:
        stored = self.store.add_turn(self.session_id, turn, audio=audio,
                                     sample_rate_hz=sample_rate_hz)
        self.turns.append(stored)
        self.trace("turn_stored", index=turn.index, speaker=turn.speaker)
        return stored

    def _say(self, lines: Sequence[Line]) -> None:
        """Speak (or print) the persona's lines; each is stored once it has been heard."""
        for line in lines:
            self.screen.persona_line(self.persona.first_name, line.text, line.phase)
            audio, sr = self.voice.synth(line.text)
            pb = self.player.start(audio, sr)
            if not self._first_audio_logged:
                self._first_audio_logged = True
                self.trace("first_audio", voice=self.options.voice)
            res = pb.wait()
            self._last_persona_end_s = res.end_s
            self._store_turn(Turn(
                index=len(self.turns), speaker="persona", text=line.text, start_s=res.start_s,
                end_s=res.end_s, phase=line.phase, hooks=tuple(line.hooks), topic=line.topic,
                kind=line.kind, meta={"voice_estimated": True} if res.silent else {}))

    # --- the round ------------------------------------------------------------------------
    def run(self) -> RoundResult:
        p = self.persona
        self.session_id = self.store.start_session(
            p.id, p.name, p.setting, p.difficulty, hooks=list(p.hook_cues()),
            meta={"seed": self.options.seed, "input": self.plan.kind,
                  "engine": self.options.engine, "model": self.options.model,
                  "voice": self.options.voice, "max_turns": self.options.max_turns,
                  "persona_file": str(p.path) if p.path else None})
        self.trace("session", id=self.session_id)
        reason = "interrupted"
        try:
            if self.briefing is not None:
                self.screen.briefing(self.briefing)
            self._say(self.conversation.start())
            reason = self._loop()
            self.screen.round_over(self._reason_text(reason))
        except KeyboardInterrupt:
            return self._interrupted()
        except TrainerError as exc:
            # e.g. the microphone was unplugged: keep what we have, then let the CLI say why
            self._close_interrupted()
            self.screen.info(f"The {self._n_user()} replies so far are kept: "
                             f"trainer review {self.session_id}")
            raise exc from None
        try:
            recall = self._recall_check()
            card = self._score(recall)
            self.store.finish_session(self.session_id, "completed", scorecard=card.to_dict(),
                                      recall=[_recall_dict(r) for r in recall] or None)
        except KeyboardInterrupt:  # Ctrl-C during the recall check: the round itself is done
            return self._interrupted(reason)
        self.screen.close()
        from trainer.report.scorecard import print_scorecard

        self.screen.console.print()
        print_scorecard(card, self.screen.console,
                        title=f"Your round with {self.persona.name}")
        self._level_hint(card)
        self.screen.saved(self.session_id)
        self.trace("end", status="completed", reason=reason)
        return RoundResult(self.session_id, "completed", reason, self.turns, card, recall,
                           self.nudges)

    def _loop(self) -> str:
        c = self.conversation
        max_turns = self.options.max_turns
        while True:
            if c.finished:
                return "goodbye" if c.closed_by == "user" and c.user_said_goodbye \
                    else "persona_closed"
            if max_turns is not None and c.turns >= max_turns:
                return "max_turns"
            utt = self._listen()
            if utt is None:
                return "out_of_input"
            lines = self._handle(utt)
            self._say(lines)
            if not c.finished and c.user_said_goodbye:
                return "goodbye"

    def _listen(self) -> Utterance | None:
        """The next reply from the source; None when the replies ran out."""
        return self.source.listen(self)

    def _handle(self, utt: Utterance) -> list[Line]:
        """Transcribe, store and answer one reply; returns the persona's lines."""
        c = self.conversation
        idx = len(self.turns)
        audio = utt.audio
        has_audio = audio is not None and len(audio) > 0
        if utt.timed_out and not has_audio:
            # no reply at all: the persona prompts (the machine's silence reaction)
            self.screen.user_line("", "no reply")
            reply = c.respond("", silence=True, pause_s=None)
            self._store_turn(Turn(index=idx, speaker="user", text="", start_s=utt.start_s,
                                  end_s=utt.start_s, phase=c.phase, kind="silence",
                                  meta={"timed_out": True}))
            return reply.lines
        text, words, error, meta = utt.text or "", [], None, {}
        if utt.text is None:  # spoken: transcribe
            self.screen.transcribing()
            try:
                transcriber = self.asr.get(self.screen)
                tr = transcriber.transcribe(audio, sample_rate_hz=utt.sample_rate_hz)
                text, words = tr.text.strip(), list(tr.words)
                meta = {"engine": tr.engine, "model": tr.model,
                        "asr_s": round(tr.seconds_taken, 3)}
            except KeyboardInterrupt:
                raise
            except DeviceError:
                raise
            except Exception as exc:  # one bad turn must not end the round; its audio is kept
                error = f"transcription failed: {getattr(exc, 'message', None) or exc}"
        turn = Turn(index=idx, speaker="user", text=text, start_s=utt.start_s,
                    end_s=utt.end_s if utt.text is None else utt.start_s, phase=c.phase,
                    words=words, pause_before_s=utt.pause_before_s, interrupted=utt.interrupted,
                    error=error, meta={**meta, **({"capped": True} if utt.capped else {})})
        if error or not text:
            self.screen.user_line("", error or "nothing recognised")
            if has_audio:
                self._store_turn(turn, audio=audio, sample_rate_hz=utt.sample_rate_hz)
            pool = REPEAT_LINES if error else UNHEARD_LINES
            return [Line(text=self.rng.choice(pool), kind="repeat", phase=c.phase)]
        self.screen.user_line(text)
        reply = c.respond(text, words=words or None,
                          duration_s=utt.duration_s if utt.text is None else None,
                          pause_s=utt.pause_before_s, capped=utt.capped,
                          interrupted=utt.interrupted)
        if reply.features is not None:
            turn.meta["features"] = _features_dict(reply.features)
        self._store_turn(turn, audio=audio if has_audio else None,
                         sample_rate_hz=utt.sample_rate_hz)
        self._maybe_nudge(turn, reply.features)
        return reply.lines

    def _maybe_nudge(self, turn: Turn, feats) -> None:
        """At most one live tip per round: after a monologue, or after many replies in a row
        without a question (and only while the persona has not said the same already)."""
        o = self.options.nudge
        if not o.enabled or self.nudges or feats is None:
            return
        self._quiet_turns = 0 if feats.is_question else self._quiet_turns + 1
        spoken_s = turn.end_s - turn.start_s
        tip = None
        if feats.word_count >= o.monologue_words or spoken_s >= o.monologue_s:
            tip = (f"That was a long turn ({spoken_s:.0f} s). Two or three sentences, "
                   f"then hand it back with a question."
                   if spoken_s >= 1 else "That was a long turn. Two or three sentences, "
                   "then hand it back with a question.")
        elif self._quiet_turns >= o.quiet_turns:
            tip = f"Try asking {self.persona.first_name} something about what they just said."
        if tip:
            self.nudges.append(tip)
            self.screen.nudge(tip)
            self.trace("nudge", text=tip)

    # --- after the round ------------------------------------------------------------------
    def _recall_check(self) -> list[RecallItem]:
        questions = self.conversation.recall_questions(2)
        if not questions or self._n_user() == 0:
            return []
        answers = _scripted_answers(questions, self.options.recall_answers)
        if answers is None and self.read_answer is None:
            self.screen.info("Recall check skipped (no one to ask: use --recall-answer to "
                             "give answers with file input).")
            return []
        self.screen.heading("Recall check: what did you catch?")
        items = []
        for i, q in enumerate(questions):
            given = answers[i] if answers is not None else self.read_answer(q.question)
            if given is None:  # input ended
                self.screen.info("Recall check stopped (no more answers).")
                break
            item = grade_recall(q, given)
            items.append(item)
            self.screen.recall_result(q.question, given, item.correct, q.answers[0])
        return items

    def _score(self, recall: list[RecallItem]) -> Scorecard:
        return score_round(self.turns, self.persona.hook_cues(), self.persona.name,
                           recall if recall else None)

    def _level_hint(self, card: Scorecard) -> None:
        score = round_score(card)
        up = next_level(self.persona.difficulty)
        if score is not None and score >= GOOD_ROUND_SHARE and up:
            self.screen.notice(f"Well done: {round(score * 100)}% of targets met. Next time "
                               f"`trainer practice` picks a {up} round.")

    def _n_user(self) -> int:
        return sum(1 for t in self.turns if t.speaker == "user")

    def _close_interrupted(self) -> None:
        card = None
        try:
            if self._n_user():
                card = self._score([]).to_dict()
        except Exception:  # a partial round may not score; the turns are what matter
            card = None
        self.store.finish_session(self.session_id, "interrupted", scorecard=card)
        self.trace("end", status="interrupted")

    def _interrupted(self, reason: str = "interrupted") -> RoundResult:
        self.screen.close()
        try:
            self.player.close()
        except Exception:
            pass
        self._close_interrupted()
        self.screen.round_over("interrupted")
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
    by_hook = {}
    plain = []
    for g in given:
        key, sep, rest = g.partition("=")
        if sep and key.strip() and " " not in key.strip():
            by_hook[key.strip()] = rest.strip()
        else:
            plain.append(g)
    out = []
    for q in questions:
        if q.hook_id in by_hook:
            out.append(by_hook[q.hook_id])
        else:
            out.append(plain.pop(0) if plain else "")
    return out


# --- entry point ------------------------------------------------------------------------------


def run_practice(options: PracticeOptions, screen: Screen | None = None) -> RoundResult:
    """Run one round as `trainer practice` does; raises TrainerError for the CLI to print."""
    raise NotImplementedError  # filled in once the sources land


def _sigterm_as_interrupt(signum, frame):  # a polite kill stops the round like Ctrl-C
    raise KeyboardInterrupt


def install_signal_handlers() -> Callable[[], None]:
    """SIGTERM behaves like Ctrl-C (the session is closed as interrupted); returns undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    old = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    return lambda: signal.signal(signal.SIGTERM, old)


__all__ = [
    "Choice", "InputPlan", "ModelLoader", "NudgeOptions", "PastRound", "PracticeOptions",
    "Round", "RoundResult", "Trace", "choose_persona", "current_level", "plan_input",
    "round_score", "run_practice",
]
_ = (sys, list_personas, load_persona)
