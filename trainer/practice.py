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

Start-up (trainer/round_setup.py): the Whisper model loads in a thread and the speaker opens in
another while the store and the persona are read, so the persona talks about two seconds after
the command (benchmarks/startup.py). `TRAINER_TRACE=PATH` appends JSON-lines events (wall-clock
`t`) such as `first_audio`: when the persona's first sample reached the speaker.

Which persona (by history) and the round's goal: trainer/choose.py. The screen: trainer/live.py.
"""

from __future__ import annotations

import contextlib
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from trainer.choose import (
    choose_persona,
    next_level,
    past_rounds,
    round_goal,
    round_score,
    well_scored,
)
from trainer.conversation import Conversation
from trainer.errors import DeviceError, StoreError, TrainerError
from trainer.live import Briefing, Screen
from trainer.personas import Persona, list_personas, load_persona
from trainer.round_setup import (
    InputPlan,
    ModelLoader,
    RouterLoader,
    Trace,
    install_signal_handlers,
    make_source,
    make_voice,
    open_speaker,
    plan_input,
)
from trainer.scoring import RecallItem, Scorecard, grade_recall, score_round
from trainer.speech.devices import portaudio_noise_filtered
from trainer.types import Line, RecallQuestion, Turn, Utterance

OPENER_WAITS_FOR_MODEL_S = 2.0  # longest wait for the speech model before the first line

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
        voice_engine: "espeak" speaks with espeak-ng whatever the persona file says
            (--voice espeak); None or "persona": the file's engine (a neural voice when set
            and installed, else espeak-ng).
        max_turns: stop after this many user turns.
        seed: seed of the persona's line choices.
        device: audio device for both microphone and speaker (index or name).
        recall_answers: answers for the recall check without asking: plain answers in order,
            or HOOK=ANSWER for a given hook.
        load_model_first: load the speech model before the persona speaks (the sequential way;
            the start-up benchmark's baseline).
        interactive: the user is at a terminal (typed recall answers can be asked for);
            None: decided from stdin.
        barge_in: the user may talk over the persona, which stops it. False (--no-barge-in)
            for speakers without headphones: the microphone hears the persona, and that echo
            would count as an interruption. The microphone then listens once the line ended.
    """

    persona: str | None = None
    inputs: tuple[str, ...] = ()
    engine: str | None = None
    model: str | None = None
    voice: bool = True
    voice_engine: str | None = None
    max_turns: int | None = None
    seed: int | None = None
    device: str | None = None
    recall_answers: tuple[str, ...] = ()
    load_model_first: bool = False
    interactive: bool | None = None
    barge_in: bool = True
    nudge: NudgeOptions = field(default_factory=NudgeOptions)


@dataclass
class RoundResult:
    """How a round went, for the CLI and the tests."""

    session_id: str
    status: str  # completed | interrupted | empty (nothing said: not saved)
    end_reason: str  # persona_closed | goodbye | max_turns | out_of_input | interrupted
    turns: list[Turn]
    scorecard: Scorecard | None = None
    recall: list[RecallItem] = field(default_factory=list)
    nudges: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        # an empty round ran but found nothing to keep: exit 1 (the CLI contract's "problem")
        return {"interrupted": 130, "empty": 1}.get(self.status, 0)


# --- the round --------------------------------------------------------------------------------

LINE_GAP_S = 0.3  # silence between two lines of one persona reply
SPEAKING_DBFS = -45.0  # the meter shows "hearing you" above this input level (display only)


# Which of a persona's lines start its replies most often: prepared first (see _spoken_lines).
_OPENS_REPLIES = ("reactions.", "deflections", "topics[", "hooks[", "phases[", "closings.")


def _spoken_lines(persona: Persona) -> list[str]:
    """The persona's lines a reply may start with, most frequent kinds first, for a neural
    voice to synthesise their first pieces ahead of time (tts.NeuralVoice.prepare). Lines
    with a {slot} are filled in at run time, and the opener is said already."""
    from trainer.personas import iter_lines

    def rank(path: str) -> int:
        return next((i for i, p in enumerate(_OPENS_REPLIES) if path.startswith(p)),
                    len(_OPENS_REPLIES))

    lines = [(rank(path), text) for path, text in iter_lines(persona)
             if rank(path) < len(_OPENS_REPLIES) and "{" not in text]
    return [text for _, text in sorted(lines, key=lambda x: x[0])]


@dataclass
class _Spoken:
    """A persona reply being played: its lines, one Playback, and where each line starts."""

    lines: list[Line]
    playback: Any  # trainer.speech.playback.Playback
    offsets_s: list[tuple[float, float]]  # (start, end) of each line within the audio
    stored: bool = False
    error: BaseException | None = None  # synthesis failed while streaming (raised on finish)


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
                 spoken_recall: bool = False, router_loader=None):
        self.persona = persona
        self.router_loader = router_loader  # understanding by meaning (round_setup.RouterLoader)
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
        # A round without --seed still gets one, stored with the session, so it can be replayed.
        self.seed = options.seed if options.seed is not None else random.randrange(2**31)
        self.conversation = Conversation(persona, seed=self.seed)
        self.rng = random.Random(self.seed)
        self.session_id = ""
        self.turns: list[Turn] = []
        self.nudges: list[str] = []
        self._quiet_turns = 0  # replies in a row without a question (for the nudge)
        self._long_turns = 0  # long replies in a row (for the nudge)
        self._first_audio_traced = False
        self._speaking: _Spoken | None = None  # the persona reply being played
        self._last_heard = None  # PlayResult of the last reply heard to its end
        self._speculative = None
        self._partner_text = ""  # the persona's last reply: what the user is answering
        self._held: list[tuple[Turn, Utterance]] = []  # parts of a long reply so far (capped)
        self._recall_asked: list[RecallQuestion] = []

    # --- the round ------------------------------------------------------------------------
    def run(self) -> RoundResult:
        p = self.persona
        self.session_id = self.store.start_session(
            p.id, p.name, p.setting, p.difficulty, hooks=list(p.hook_cues()),
            meta={"seed": self.seed, "input": getattr(self.source, "kind", ""),
                  "engine": self.options.engine, "model": self.options.model,
                  "voice": self.options.voice, "max_turns": self.options.max_turns,
                  "voice_engine": getattr(self.voice, "engine", None),
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
            if self.options.voice and hasattr(self.voice, "prepare"):
                self.voice.prepare(_spoken_lines(self.persona))  # a neural voice's first pieces
            reason = self._loop()
            self._finish_speaking()
            self.screen.round_over(self._reason_text(reason))
        except KeyboardInterrupt:
            return self._interrupted()
        except TrainerError:
            # e.g. the microphone was unplugged: keep what we have, then let the CLI say why.
            # If the store itself failed (a full disk), closing fails the same way: the
            # store has spooled what it could, and the first error is the one to show.
            with contextlib.suppress(StoreError):
                self._close_interrupted()
            self.screen.info(f"The turns so far are kept: trainer review {self.session_id}")
            raise
        if not any(t.speaker == "user" and (t.text or t.audio_path) for t in self.turns):
            # Nothing was said or typed (input ended at once, only silences): not a round to
            # keep or to count in history (issue 14).
            self.store.delete_session(self.session_id)
            self.screen.info("Nothing was said, so this round was not saved.")
            self.trace("end", status="empty", reason=reason)
            return RoundResult(self.session_id, "empty", reason, self.turns)
        try:
            recall = self._recall_check()
            card = self._score(recall)
            self.store.finish_session(self.session_id, "completed", scorecard=card.to_dict(),
                                      recall=[_recall_dict(r, q.hook_id) for r, q
                                              in zip(recall, self._recall_asked, strict=False)]
                                      or None)
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
        if hasattr(self.player, "start_stream") and hasattr(self.voice, "stream"):
            # Streamed: the first sentence sounds as soon as it is synthesised, the rest is
            # made while it plays (a neural voice takes ~0.1 s per sentence, not ~10 ms).
            for line in lines:
                self.screen.persona_line(self.persona.first_name, line.text, line.phase)
            sp = _Spoken(list(lines), self.player.start_stream(), [])
            threading.Thread(target=self._feed, args=(sp,), name="voice-feed",
                             daemon=True).start()
            self._speaking = sp
            if not self.turns:
                self.trace("first_audio_queued", voice=self.options.voice)
            return
        chunks, offsets, t, rate = [], [], 0.0, None
        for i, line in enumerate(lines):
            self.screen.persona_line(self.persona.first_name, line.text, line.phase)
            audio, sr = self.voice.synth(line.text)
            rate = rate or sr
            if sr != rate:  # one voice speaks at one rate; never seen, but cheap to guard
                import soxr

                audio = soxr.resample(audio, sr, rate).astype(np.float32)
            if i:
                chunks.append(np.zeros(int(LINE_GAP_S * rate), np.float32))
                t += LINE_GAP_S
            offsets.append((t, t + len(audio) / rate))
            t += len(audio) / rate
            chunks.append(audio)
        pb = self.player.start(np.concatenate(chunks).astype(np.float32), rate)
        self._speaking = _Spoken(list(lines), pb, offsets)
        self._partner_text = " ".join(line.text for line in lines)
        if not self.turns:
            self.trace("first_audio_queued", voice=self.options.voice)

    def _feed(self, sp: _Spoken) -> None:
        """Synthesise a reply into its StreamingPlayback, line by line, sentence by sentence,
        noting where each line starts and ends (in a thread; errors go to sp.error)."""
        pb = sp.playback
        try:
            for i, line in enumerate(sp.lines):
                if pb.stopped:  # cut off: the lines not said yet keep their estimated length
                    t = pb.position_s()
                    sp.offsets_s.append((t, t + self.voice.estimate_s(line.text)))
                    continue
                if i:
                    pb.append(np.zeros(int(LINE_GAP_S * pb.sample_rate_hz), np.float32),
                              pb.sample_rate_hz)
                start = pb.position_s()
                for audio, sr in self.voice.stream(line.text):
                    pb.append(audio, sr)
                    if pb.stopped:
                        break
                end = pb.position_s()
                if pb.stopped and end - start < 0.01:
                    end = start + self.voice.estimate_s(line.text)
                sp.offsets_s.append((start, end))
        except BaseException as exc:  # handed to the round's thread by _finish_speaking
            sp.error = exc
            pb.stop()
            while len(sp.offsets_s) < len(sp.lines):
                t = pb.position_s()
                sp.offsets_s.append((t, t))
        finally:
            pb.end_input()

    def _finish_speaking(self, wait: bool = True) -> None:
        """Store the reply being spoken once it has been heard (or cut off)."""
        sp = self._speaking
        if sp is None or sp.stored:
            return
        if not wait and not sp.playback.done:
            return
        res = sp.playback.wait()
        sp.stored = True
        if sp.error is not None:
            self._speaking = None
            raise sp.error
        self._speaking = None
        self._last_heard = res
        self._trace_first_audio(sp)
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

    def _trace_first_audio(self, sp: _Spoken) -> None:
        """Log when the round's first sample reached the speaker (PortAudio's DAC time), as
        wall-clock time, for benchmarks/startup.py."""
        first = sp.playback.first_mono
        if self._first_audio_traced or first is None or not self.options.voice:
            return
        self._first_audio_traced = True
        self.trace("first_audio", t_heard=time.time() - (time.monotonic() - first))

    # --- the user's turn ------------------------------------------------------------------
    def _listen(self) -> Utterance | None:
        """The next reply (or the next part of a long one); None when the replies ran out."""
        sp = self._speaking
        kind = getattr(self.source, "kind", "")
        if kind == "mic" and sp is not None and self.options.barge_in:
            after = sp.playback  # listen while it plays: the user may talk over it
        else:
            # files, typed replies and --no-barge-in (the mic would hear the persona) start
            # after the line
            self._finish_speaking()
            after = self._last_heard
        self.trace("listening", reply=self.conversation.turns + 1,
                   continues=bool(self._held))
        if kind in ("mic", "wav"):
            self.screen.listening("go on" if self._held else
                                  "speak, then pause" if kind == "mic" else "")
            if self.router_loader is not None and self.router_loader.ready():
                self._attach_router()  # loaded: the drafts of this reply can be prepared
            self._speculative = self._speculative or self._make_speculative()
            # Drafts at each pause pay off live (transcription overlaps the end-of-turn wait,
            # and the draft tells how long that wait should be); a file is read faster than
            # real time, where drafts would only cost CPU, so files keep the fixed wait.
            live = kind == "mic"
            policy = self._end_of_turn() if live else None
            utt = self.source.listen(after=after, on_level=self._on_level, end_of_turn=policy)
            if policy is not None and policy.verdicts:
                self.trace("end_of_turn", waits=[round(w, 2) for _, w in policy.verdicts])
        else:
            utt = self.source.listen(after=after)
        self._finish_speaking()
        return utt

    def _end_of_turn(self):
        """The adaptive end of turn for this reply (issue 15): trainer.turn_end judges the
        draft of each pause, in the light of the persona line being answered."""
        from trainer.speech.sources import RECHECK_BEAM_SIZE, AdaptiveEndOfTurn
        from trainer.turn_end import draft_judge

        o = self.source.options
        asr = self.asr

        def recheck(audio):  # the second opinion on a draft whose voice ran on (sources)
            return asr.get().transcribe(audio, sample_rate_hz=16_000, beam_size=RECHECK_BEAM_SIZE)

        return AdaptiveEndOfTurn(self._speculative, draft_judge(self._partner_text),
                                 fallback_s=o.silence_s, recheck=recheck)

    def _on_level(self, dbfs: float) -> None:
        sp = self._speaking
        talking = sp is not None and not sp.playback.done
        self.screen.level(dbfs, speaking=dbfs > SPEAKING_DBFS,
                          partner_talking=self.persona.first_name if talking else "")
        if sp is not None:
            self._trace_first_audio(sp)
        self._finish_speaking(wait=False)  # store the persona's line as soon as it is heard

    def _attach_router(self) -> None:
        """Hand the conversation its meaning router once loaded (waits for it the first time;
        the model loads in the background from the start of the round)."""
        c = self.conversation
        if c.router is None and self.router_loader is not None:
            c.router = self.router_loader.get(self.screen)
            self.router_loader = None

    def _make_speculative(self):
        from trainer.speech.sources import SpeculativeTranscriber

        asr = self.asr

        def transcribe(audio):
            return asr.get().transcribe(audio, sample_rate_hz=16_000)

        conv = self.conversation

        def prepare(result):
            # Issue 12: the sentence vectors of the draft are computed while the end of the turn
            # is still being confirmed (the embedder caches by text), so routing by meaning
            # adds nothing to the turn latency when the final transcript equals the draft.
            if conv.router is not None:
                conv.prepare(getattr(result, "text", "") or "")

        return SpeculativeTranscriber(transcribe, analyse_fn=prepare)

    def _handle(self, utt: Utterance) -> list[Line]:
        """Transcribe, store and answer one reply; returns the persona's lines."""
        c = self.conversation
        idx = len(self.turns)
        audio = utt.audio
        has_audio = audio is not None and len(audio) > 0
        if utt.continued and not has_audio:
            return self._respond_to_held()  # the long reply had ended at its last cut
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
                        "audio_start_s": round(utt.start_s if utt.audio_start_s is None
                                               else utt.audio_start_s, 3)}
            except (KeyboardInterrupt, DeviceError):
                raise
            except Exception as exc:  # one bad turn must not end the round; its audio is kept
                error = f"transcription failed: {getattr(exc, 'message', None) or exc}"
                self.trace("asr_error", error=error)
        if utt.capped:
            meta["capped"] = True  # cut near max_reply_s: the next part goes on with it
        if utt.continued:
            meta["continued"] = True  # goes on with the part before it
        rise = self._final_rise(audio) if has_audio and not error else None
        if rise is not None:
            meta["final_rise_st"] = rise  # the scorecard reads the same cue
        phase = c.phase
        # Typed replies have no real timing: start == end, so scoring estimates talk time
        # honestly instead of measuring a made-up duration (and pace is "not measured").
        turn = Turn(index=idx, speaker="user", text=text, start_s=round(utt.start_s, 3)
                    if not typed else round(utt.end_s, 3), end_s=round(utt.end_s, 3),
                    phase=phase, words=words,
                    pause_before_s=None if typed or utt.pause_before_s is None
                    else round(utt.pause_before_s, 3),
                    interrupted=utt.interrupted, error=error, meta=meta)
        if utt.capped or self._held:
            # A part of a long reply: stored now (nothing is lost if the round stops here);
            # the persona answers the whole reply once the user stops.
            self.screen.user_line(text or "…", "still talking" if utt.capped else "")
            if error or not text:
                turn.kind = "unheard"
            if utt.capped:
                self._store_turn(turn, audio=audio if has_audio else None)
                self._held.append((self.turns[-1], utt))
                return []
            self._held.append((turn, utt))
            lines = self._respond_to_held()  # (the whole reply's features go on this part)
            self._store_turn(turn, audio=audio if has_audio else None)
            return lines
        if error or not text:
            self.screen.user_line("", error or "nothing recognised")
            turn.kind = "unheard"
            self._store_turn(turn, audio=audio if has_audio else None)
            pool = REPEAT_LINES if error else UNHEARD_LINES
            return [Line(text=self.rng.choice(pool), kind="repeat", phase=phase)]
        if not (typed and self.screen.interactive):  # typed at a terminal: already on screen
            self.screen.user_line(text)
        self._attach_router()
        reply = c.respond(text, words=words or None,
                          duration_s=None if typed else utt.duration_s,
                          pause_s=utt.pause_before_s, capped=utt.capped,
                          interrupted=utt.interrupted, final_rise_st=rise)
        if reply.features is not None:
            turn.meta["features"] = _features_dict(reply.features)
        self._store_turn(turn, audio=audio if has_audio else None)
        self._maybe_nudge(turn, reply.features, typed)
        return reply.lines

    def _final_rise(self, audio) -> float | None:
        """The pitch rise at the end of the turn (semitones), or None; never ends the round."""
        try:
            from trainer.speech.pitch import final_rise_st

            return final_rise_st(audio, 16_000)
        except Exception as exc:  # a cue, not a necessity: the turn goes on without it
            self.trace("pitch_error", error=str(exc))
            return None

    def _respond_to_held(self) -> list[Line]:
        """The persona's answer to a long reply stored in parts: the conversation hears it as
        one reply (all its words, its whole length, `capped`: a monologue), so it is scored
        and answered as what it was."""
        parts, self._held = self._held, []
        if not parts:
            return []
        first_turn, first = parts[0]
        last_turn, last = parts[-1]
        text = " ".join(t.text for t, _ in parts if t.text)
        words = []
        for t, u in parts:  # word times run from the first part's audio
            shift = ((u.audio_start_s if u.audio_start_s is not None else u.start_s)
                     - (first.audio_start_s if first.audio_start_s is not None
                        else first.start_s))
            words += [replace(w, start_s=round(w.start_s + shift, 3),
                              end_s=round(w.end_s + shift, 3)) for w in t.words]
        if not text:
            return [Line(text=self.rng.choice(UNHEARD_LINES), kind="repeat",
                         phase=self.conversation.phase)]
        self._attach_router()
        reply = self.conversation.respond(
            text, words=words or None, duration_s=max(0.0, last.end_s - first.start_s),
            pause_s=first.pause_before_s, capped=True, interrupted=first.interrupted)
        if reply.features is not None:
            last_turn.meta["features"] = _features_dict(reply.features)
            self._maybe_nudge(replace(last_turn, start_s=first_turn.start_s), reply.features,
                              typed=False)
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
        self._recall_asked = questions
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
        from trainer.meaning import optional_shared

        return score_round(self.turns, self.persona.hook_cues(), self.persona.name,
                           recall if recall else None, meaning=optional_shared())

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
            if self._speaking is not None:  # keep the line being said, cut where it stopped
                self._speaking.playback.stop()
                self._finish_speaking()
        except Exception:  # the device may be the reason; the store matters more now
            pass
        with contextlib.suppress(Exception):
            self.player.close()
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


def _features_dict(feats) -> dict[str, Any]:
    d = asdict(feats)
    d.pop("text", None)
    return d


def _recall_dict(item: RecallItem, hook_id: str) -> dict[str, Any]:
    return {"hook_id": hook_id, "question": item.question, "answers": list(item.expected),
            "given": item.given, "correct": item.correct}


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
    source = player = asr = router_loader = voice = None
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
        speaker = open_speaker(options.voice, options.device, clock, screen)
        player = speaker.player
        options = replace(options, voice=speaker.voice_on)  # no speaker: lines printed only
        store = Store()
        sessions = sorted(store.list_sessions(with_scorecards=True), key=lambda s: s.started_at)
        for note in store.recovered:  # turns a full disk made the last round spool
            screen.info(note)
        if options.persona:
            persona = load_persona(options.persona)
            why = ""
        else:
            choice = choose_persona(list_personas(), past_rounds(sessions))
            persona, why = choice.persona, choice.why
        cards = [s.scorecard for s in sessions if s.scorecard and s.state == "completed"]

        voice = make_voice(persona.voice, options.voice, options.voice_engine, screen, trace)
        from trainer.speech.endpoint import EndpointOptions

        source = make_source(plan, options.device, clock,
                             EndpointOptions(allow_interrupt=options.barge_in))
        speaker.wait_ready()  # a speaker that cannot open fails here, before the round
        interactive = options.interactive
        if interactive is None:
            interactive = sys.stdin.isatty()
        briefing = Briefing(
            partner=f"{persona.name}, {persona.role}",
            setting=persona.setting, difficulty=persona.difficulty,
            goal=round_goal(persona, cards), opener_tip=persona.briefing.opener_tip,
            why=why, how=_how(plan, options))
        router_loader = RouterLoader(persona, trace)
        rnd = Round(persona=persona, source=source, asr=asr, voice=voice, player=player,
                    store=store, screen=screen, options=options, trace=trace,
                    briefing=briefing, read_answer=_answer_reader(plan, interactive),
                    spoken_recall=plan.kind == "mic", router_loader=router_loader)
        return rnd.run()
    finally:
        if router_loader is not None:
            router_loader.join()
        if hasattr(voice, "stop_preparing"):
            # onnxruntime aborts the process ("terminate called without an active exception")
            # if it exits while a thread still runs a session: the voice's threads end first
            voice.stop_preparing()
        screen.close()
        for part in (source, player):
            if part is not None:
                with contextlib.suppress(Exception):  # a failed device must not hide the error
                    part.close()
        undo_signals()


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


