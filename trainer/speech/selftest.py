"""`trainer check`: speaker -> microphone -> transcription, one verdict per step.

The speaker plays a phrase while the microphone listens. A laptop's microphone hears its own
speaker, so that one phrase tests the whole chain; with headphones the microphone hears
nothing, and (when someone is at the keyboard) the user is asked to say a phrase instead.
Each step reports what worked, or one line on what failed and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trainer.errors import DependencyError, TrainerError
from trainer.speech import import_sounddevice
from trainer.speech.endpoint import EndpointOptions
from trainer.types import SAMPLE_RATE_HZ

SPEAKER_PHRASE = "Hello. This is the trainer, checking your speaker and microphone."
USER_PHRASE = "I am ready to practise networking."
QUIET_DBFS = -60.0  # a peak input level below this is a muted or dead microphone


@dataclass
class CheckStep:
    """One step's verdict: `name` (speaker, microphone, transcript), `ok`, what was seen,
    and for a failure the fix."""

    name: str
    ok: bool
    detail: str
    hint: str | None = None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def word_overlap(expected: str, heard: str) -> float:
    """Share of the expected words that were heard (0..1)."""
    want, got = _words(expected), set(_words(heard))
    return sum(w in got for w in want) / len(want) if want else 0.0


def _device_for(spec, kind: str):
    """The device `spec` if it has `kind` channels, else the default (None)."""
    from trainer.speech.devices import resolve_device

    if spec is None:
        resolve_device(None, kind)
        return None
    try:
        return resolve_device(spec, kind)
    except TrainerError:
        resolve_device(None, kind)  # still fails clearly if there is no such device at all
        return None


def run_check(device: int | str | None = None, *,
              report: Callable[[CheckStep], None] | None = None,
              say: Callable[[str], None] | None = None,
              ask_user: bool = False,
              progress: Callable[[str], None] | None = None,
              engine: str | None = None, model: str | None = None) -> list[CheckStep]:
    """Run the self-test; returns the steps (also passed to `report` as they finish).

    Args:
        device: `--device` (name or index); used for input and output where it has them.
        say: shows an instruction to the user (e.g. "Now say: ...").
        ask_user: if the microphone did not hear the speaker, ask the user to speak.
        progress: model-loading messages.
        engine, model: the ASR engine and model, as for `trainer practice`.

    Raises DependencyError when PortAudio itself is missing (nothing can be checked).
    """
    from trainer.speech.devices import portaudio_noise_filtered

    # A device that fails mid-check makes PortAudio print its internal checks on stderr; the
    # failure itself is reported as the step's one line.
    with portaudio_noise_filtered():
        return _run_check(device, report=report, say=say, ask_user=ask_user,
                          progress=progress, engine=engine, model=model)


def _run_check(device, *, report, say, ask_user, progress, engine, model) -> list[CheckStep]:
    import_sounddevice()  # PortAudio missing: one error for the whole check
    from trainer.speech.playback import Player, RoundClock
    from trainer.speech.sources import MicSource
    from trainer.speech.tts import Voice

    steps: list[CheckStep] = []

    def done(step: CheckStep) -> CheckStep:
        steps.append(step)
        if report is not None:
            report(step)
        return step

    clock = RoundClock()
    levels: list[float] = []
    heard = None
    expected = SPEAKER_PHRASE
    player = mic = playback = None
    try:
        # --- open both ends first, so the microphone hears the whole phrase ---------------
        speaker_error = mic_error = None
        try:
            voice = Voice("en-us", 165)
            audio, sr = voice.synth(SPEAKER_PHRASE)
            player = Player(_device_for(device, "output"), clock=clock)
            player.open()
        except TrainerError as exc:
            speaker_error, player = exc, None
        try:
            mic = MicSource(_device_for(device, "input"), clock=clock, options=EndpointOptions(
                allow_interrupt=False,  # it will hear the phrase itself: that is the point
                no_reply_timeout_s=2.0, max_reply_s=20.0))
            mic.open()
        except TrainerError as exc:
            mic_error, mic = exc, None
        # --- speaker: play the phrase while the microphone listens -------------------------
        utt = None
        if player is not None:
            playback = player.start(audio, sr)
        if mic is not None:
            try:
                utt = mic.listen(after=playback, on_level=levels.append)
            except TrainerError as exc:
                mic_error = exc
        if playback is not None:
            try:
                result = playback.wait()
                done(CheckStep("speaker", True, f"played {result.duration_s:.1f} s on "
                                                f"{player.device_name!r}"))
            except TrainerError as exc:
                speaker_error = exc
        if speaker_error is not None:
            done(CheckStep("speaker", False, speaker_error.message, speaker_error.hint))
        # --- microphone ----------------------------------------------------------------
        if mic is not None and mic_error is None and utt is not None:
            try:
                if utt.timed_out and ask_user:
                    if say is not None:
                        say(f'The microphone did not hear the speaker. Now say: "{USER_PHRASE}"')
                    mic.options = EndpointOptions(no_reply_timeout_s=8.0, max_reply_s=20.0)
                    utt = mic.listen(on_level=levels.append)
                    expected = USER_PHRASE
            except TrainerError as exc:
                mic_error = exc
        if mic_error is not None:
            done(CheckStep("microphone", False, mic_error.message, mic_error.hint))
        elif utt is not None:
            peak = max(levels) if levels else -100.0
            if utt.timed_out:
                done(CheckStep(
                    "microphone", False,
                    f"no speech heard on {mic.device_name!r} (peak level {peak:.0f} dBFS)",
                    "unmute the microphone or pick another with --device (see `trainer "
                    "devices`); with headphones, run `trainer check` in a terminal and speak "
                    "when asked" if peak < QUIET_DBFS else
                    "sound arrived but no speech: move closer or raise the input volume"))
            else:
                heard = utt
                done(CheckStep("microphone", True,
                               f"heard {utt.duration_s:.1f} s of speech on {mic.device_name!r} "
                               f"(peak level {peak:.0f} dBFS)"))
        # --- transcript ------------------------------------------------------------------
        if heard is None:
            done(CheckStep("transcript", False, "skipped: nothing was recorded",
                           "fix the microphone first"))
        else:
            try:
                from trainer.speech.asr import load_transcriber

                transcriber = load_transcriber(engine=engine, model=model, progress=progress)
                audio16 = np.asarray(heard.audio, dtype=np.float32)
                text = transcriber.transcribe(audio16, sample_rate_hz=SAMPLE_RATE_HZ).text
                share = word_overlap(expected, text)
                if share >= 0.5:
                    done(CheckStep("transcript", True, f'"{text.strip()}"'))
                else:
                    done(CheckStep("transcript", False,
                                   f'heard "{text.strip()}" ({share:.0%} of the phrase)',
                                   "speak clearly and close to the microphone; a noisy room "
                                   "or a low input level makes transcripts wrong"))
            except DependencyError:
                raise
            except TrainerError as exc:
                done(CheckStep("transcript", False, exc.message, exc.hint))
    finally:
        if mic is not None:
            mic.close()
        if player is not None:
            player.close()
    return steps
