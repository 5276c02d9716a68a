"""The real PortAudio path through a virtual microphone and speaker (a private PulseAudio).

A reply is spoken into the microphone (a FIFO PulseAudio reads) while the trainer listens
through sounddevice; the persona's line is recorded from the speaker's monitor. Truth times
come from the feeder: it knows when each sample was "spoken".
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from speech_helpers import SR, shared_transcriber, synth, white_noise, word_error_rate

from trainer.errors import DeviceError
from trainer.speech.devices import default_input_available, list_devices, resolve_device
from trainer.speech.endpoint import EndpointOptions
from trainer.speech.playback import Player, RoundClock
from trainer.speech.sources import MicSource
from trainer.speech.tts import Voice

pytestmark = pytest.mark.audio

PERSONA_LINE = "So, what brings you to the career fair today?"
REPLY = "I am looking for my first job in software, and I would love to hear about your team."
TOLERANCE_S = 0.2  # detected turn times vs the truth (issue 6)


def speech_span(audio: np.ndarray, floor_db: float = -40.0) -> tuple[float, float] | None:
    """First and last 10 ms window above `floor_db` dBFS, in seconds from the clip start."""
    fr = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    db = 20 * np.log10(np.sqrt((fr**2).mean(axis=1)) + 1e-9)
    idx = np.where(db > floor_db)[0]
    if not len(idx):
        return None
    return idx[0] / 100, (idx[-1] + 1) / 100


@pytest.fixture(scope="module")
def transcriber():
    return shared_transcriber("faster-whisper")


@pytest.fixture
def rig(mic):
    """A round's audio edge on the virtual devices: clock, player (open), microphone."""
    clock = RoundClock()
    player = Player(clock=clock)
    player.open()
    src = MicSource(clock=clock, options=EndpointOptions(no_reply_timeout_s=4.0))
    src.open()
    yield clock, player, src
    src.close()
    player.close()


def speaker_span(mic, clock, start_s, end_s):
    """Where sound was on the speaker between two round times: (first, last) round time."""
    audio, t0 = mic.speaker_audio(clock.to_mono(start_s), clock.to_mono(end_s))
    span = speech_span(audio, floor_db=-45.0)
    if span is None:
        return None, audio
    return (clock.from_mono(t0) + span[0], clock.from_mono(t0) + span[1]), audio


def test_reply_into_the_mic_is_timed_transcribed_and_the_persona_was_heard(rig, mic,
                                                                           transcriber):
    clock, player, src = rig
    line, sr = Voice("en-us", 170).synth(PERSONA_LINE)
    reply = synth(REPLY)
    on, off = speech_span(reply)
    playback = player.start(line, sr)
    spoken = mic.say(reply, at_mono=time.monotonic() + len(line) / sr + 0.8)
    levels: list[float] = []
    utt = src.listen(after=playback, on_level=levels.append)
    persona = playback.result()

    # the turn's times, within 0.2 s of when the words were spoken
    true_start = clock.from_mono(spoken.start_mono) + on
    true_end = clock.from_mono(spoken.start_mono) + off
    assert abs(utt.start_s - true_start) < TOLERANCE_S, (utt, true_start, src.overflows)
    assert abs(utt.end_s - true_end) < TOLERANCE_S, (utt, true_end, src.overflows)
    assert abs(utt.pause_before_s - (true_start - persona.end_s)) < TOLERANCE_S
    assert not (utt.interrupted or utt.capped or utt.timed_out)

    # what was said: as well transcribed as the clip itself (the capture loses nothing)
    text = transcriber.transcribe(utt.audio, sample_rate_hz=SR).text
    clean = transcriber.transcribe(reply, sample_rate_hz=SR).text
    wer = word_error_rate([REPLY], [text])
    # 18 words: one misheard word through the 16-bit capture costs ~0.11 ("job in" ->
    # "Jambian" was seen), so allow that much beyond the clean clip, and no more than two
    if wer >= 0.25 or wer > word_error_rate([REPLY], [clean]) + 0.15:
        np.save(Path(tempfile.gettempdir()) / "trainer-mic-reply.npy", utt.audio)
    assert wer < 0.25 and wer <= word_error_rate([REPLY], [clean]) + 0.15, (text, clean)

    # the level meter saw silence and then speech
    assert min(levels) < -60 and max(levels) > -30

    # the persona's line reached the speaker, when and as long as the Player said
    assert persona.duration_s == pytest.approx(len(line) / sr, abs=0.01)
    assert not persona.stopped_early
    span, heard = speaker_span(mic, clock, persona.start_s - 0.5, persona.end_s + 0.5)
    assert span is not None
    assert abs(span[0] - persona.start_s) < 0.1
    assert persona.start_s < span[1] <= persona.end_s + 0.1
    said = transcriber.transcribe(heard, sample_rate_hz=SR).text
    assert word_error_rate([PERSONA_LINE], [said]) < 0.25, said


def test_silence_only_times_out_after_the_persona_line(rig):
    clock, player, src = rig
    src.options = EndpointOptions(no_reply_timeout_s=1.5)
    line, sr = Voice("en-us", 170).synth("Nice to meet you.")
    playback = player.start(line, sr)
    utt = src.listen(after=playback)
    persona = playback.result()
    assert utt.timed_out and utt.audio is None
    assert utt.start_s == pytest.approx(persona.end_s + 1.5, abs=0.15)


def test_white_noise_only_is_no_turn(rig, mic):
    clock, player, src = rig
    src.options = EndpointOptions(no_reply_timeout_s=3.0)
    mic.say(white_noise(5.0, level=0.1))
    levels: list[float] = []
    utt = src.listen(after=None, on_level=levels.append)
    assert utt.timed_out
    assert np.median(levels) > -30  # the noise did arrive: the VAD judged it not speech


def test_a_reply_during_the_persona_line_interrupts_and_stops_it(rig, mic, transcriber):
    clock, player, src = rig
    line, sr = Voice("en-us", 170).synth(
        "Well, it is a long story. I started in accounting, moved to data, and then spent "
        "five years building pipelines for a logistics company before I came here.")
    reply_text = "Sorry, can I ask what the team is working on right now?"
    reply = synth(reply_text)
    on, _ = speech_span(reply)
    playback = player.start(line, sr)
    spoken = mic.say(reply, at_mono=time.monotonic() + 2.0)
    utt = src.listen(after=playback)
    persona = playback.result()

    true_start = clock.from_mono(spoken.start_mono) + on
    assert abs(utt.start_s - true_start) < TOLERANCE_S
    assert utt.interrupted and utt.pause_before_s < 0
    assert persona.stopped_early
    assert persona.duration_s < len(line) / sr - 3
    # the persona yielded within half a second of the user starting
    assert 0 < persona.end_s - utt.start_s < 0.5
    span, _ = speaker_span(mic, clock, persona.start_s - 0.3, utt.start_s + 2.5)
    assert span is not None and span[1] < utt.start_s + 0.5  # nothing played after the stop
    text = transcriber.transcribe(utt.audio, sample_rate_hz=SR).text
    clean = transcriber.transcribe(reply, sample_rate_hz=SR).text
    wer = word_error_rate([reply_text], [text])
    assert wer < 0.35 and wer <= word_error_rate([reply_text], [clean]) + 0.1, (text, clean)


def test_a_sixty_second_reply_comes_in_two_parts_with_nothing_lost(rig, mic):
    """Live, with the default options: the cap (45 s) cuts a 60 s reply at a pause and the
    next listen() goes on from that very sample (issue 14, probe 8: the rest used to be
    dropped). A whole 2-minute capture: tests/test_endpoint.py."""
    clock, player, src = rig
    src.options = EndpointOptions()
    words = ("We built the first version in a garage, then moved into a small office, and "
             "every week we shipped something new for the farmers we worked with. ")
    speech = np.concatenate([synth(words)] * 7)[: 60 * SR]
    spoken = mic.say(speech, at_mono=time.monotonic() + 0.5)
    first = src.listen()
    assert first.capped and not first.timed_out
    time.sleep(1.0)  # the round transcribes the first part meanwhile; the mic keeps it all
    rest = src.listen()
    assert rest.continued and not rest.capped
    on, off = speech_span(speech)
    t0 = clock.from_mono(spoken.start_mono)
    assert abs(first.start_s - (t0 + on)) < TOLERANCE_S
    assert 45.0 <= first.duration_s <= 45.0 + src.options.cap_grace_s
    assert rest.start_s == pytest.approx(first.end_s, abs=1e-6)
    assert abs(rest.end_s - (t0 + off)) < TOLERANCE_S
    # back to back: the two parts' audio is as long as the whole capture
    total = (len(first.audio) + len(rest.audio)) / SR
    assert total == pytest.approx(rest.end_s + src.options.tail_s - first.audio_start_s,
                                  abs=0.01)


def test_a_pause_after_and_does_not_end_the_turn_and_a_question_is_answered_fast(
        rig, mic, transcriber):
    """Adaptive end of turn (issue 15) on the live path: a 0.9 s pause after "and," (longer
    than the fixed 0.7 s rule waits) keeps the reply whole; after a finished question the turn
    ends as soon as the draft transcript is in, well before the fixed wait."""
    from trainer.speech.sources import AdaptiveEndOfTurn, SpeculativeTranscriber
    from trainer.turn_end import draft_judge

    clock, player, src = rig
    o = src.options
    done_at: list[float] = []

    def transcribe(audio):
        tr = transcriber.transcribe(audio, sample_rate_hz=SR)
        done_at.append(time.monotonic())
        return tr

    def trimmed(text):
        audio = synth(text)
        a, b = speech_span(audio)
        return audio[int(a * SR):int(b * SR)]

    # a pause after "and," ...
    # (tiny.en sometimes drops or mishears a trailing "and," - "It has been busy today." was
    # heard through this path for "It has been a busy day, and I" - so the pause comes after
    # "and um", which it keeps: 6 of 6 jittered offline takes end in "and"; the bench counts
    # the other cases)
    first, second = (trimmed("So I work in logistics, and um"),
                     trimmed("I love the planning side of it."))
    spec = SpeculativeTranscriber(transcribe)
    policy = AdaptiveEndOfTurn(spec, draft_judge("How is the fair going for you?"))
    spoken = mic.say(np.concatenate([first, np.zeros(int(0.9 * SR), np.float32), second]),
                     at_mono=time.monotonic() + 0.5)
    utt = src.listen(end_of_turn=policy)
    text = spec.transcribe(utt.audio).text
    spec.close()
    assert "planning" in text.lower(), (text, policy.verdicts)  # one turn, both halves
    assert policy.verdicts[0][1] > 0.9 + 0.2, policy.verdicts  # the pause was judged open
    assert abs(utt.end_s - (clock.from_mono(spoken.start_mono) + spoken.duration_s)) \
        < TOLERANCE_S

    # ... and a finished question
    question = trimmed("How did you get into recruiting?")
    spec = SpeculativeTranscriber(transcribe)
    policy = AdaptiveEndOfTurn(spec, draft_judge("I work for Northwind."))
    done_at.clear()
    spoken = mic.say(question, at_mono=time.monotonic() + 0.5)
    src.listen(end_of_turn=policy)
    confirmed = time.monotonic()
    spec.close()
    assert policy.verdicts[-1][1] <= 0.35, policy.verdicts  # judged a question
    speech_end = spoken.end_mono
    # the turn ended within two frames of the draft being ready (or of the short wait) -- not
    # after the fixed 0.7 s; the draft's own time depends on the machine's load
    draft_ready = done_at[0]
    assert confirmed - max(draft_ready, speech_end + 0.35) < 0.1, \
        (confirmed - speech_end, draft_ready - speech_end)
    assert confirmed - speech_end < max(o.silence_s, draft_ready - speech_end + 0.1)


def test_player_plays_exact_durations_and_stops_on_request(rig, mic):
    clock, player, _ = rig
    tone = (0.3 * np.sin(np.arange(2 * SR) * 2 * np.pi * 440 / SR)).astype(np.float32)
    full = player.play(tone, SR)
    assert full.duration_s == pytest.approx(2.0, abs=0.005) and not full.stopped_early
    span, _ = speaker_span(mic, clock, full.start_s - 0.5, full.end_s + 0.5)
    assert span is not None
    # when the Player says the line was heard (a busy machine may add an underrun's delay)
    assert abs(span[0] - full.start_s) < 0.1, (span, full)
    assert abs(span[1] - full.end_s) < 0.1, (span, full)

    stop = threading.Event()
    threading.Timer(0.6, stop.set).start()
    cut = player.play(tone, SR, stop_event=stop)
    assert cut.stopped_early and 0.3 < cut.duration_s < 1.2, cut
    span, _ = speaker_span(mic, clock, cut.start_s - 0.3, cut.start_s + 2.3)
    assert span is not None and abs(span[1] - cut.end_s) < 0.15, (span, cut)


def test_devices_resolve_by_name_number_and_fail_clearly(mic):
    names = [d.name for d in list_devices()]
    assert "pulse" in names
    assert default_input_available()
    pulse = resolve_device("pulse", "input")
    assert isinstance(pulse, int) and resolve_device(str(pulse), "output") == pulse
    assert resolve_device("PULS", "output") == pulse  # a case-insensitive part of the name
    assert resolve_device(None, "input") is None
    with pytest.raises(DeviceError, match="no input device matches 'headset'") as err:
        resolve_device("headset", "input")
    assert "pulse" in err.value.message and "trainer devices" in err.value.hint
    with pytest.raises(DeviceError, match="no audio device number 99"):
        resolve_device(99, "input")


def test_microphone_unplugged_mid_reply_is_one_device_error(private_audio):
    src = MicSource(options=EndpointOptions(no_reply_timeout_s=None), stall_s=1.0)
    src.open()
    private_audio.say(synth("I was just about to say something when"))
    threading.Timer(0.8, private_audio.kill_daemon).start()
    t = time.monotonic()
    with pytest.raises(DeviceError) as err:
        src.listen()
    assert time.monotonic() - t < 4.0
    assert "microphone stopped" in err.value.message and "\n" not in err.value.message
    assert "--input text" in err.value.hint


def test_no_device_at_all_is_one_device_error(mic, monkeypatch):
    import sounddevice as sd

    monkeypatch.setenv("PULSE_SERVER", "unix:/nonexistent/pulse/native")
    sd._terminate()
    sd._initialize()
    try:
        with pytest.raises(DeviceError, match="no audio input device found") as err:
            MicSource().listen()
        assert "--input text" in err.value.hint
        assert not default_input_available()
    finally:
        monkeypatch.undo()
        sd._terminate()
        sd._initialize()


def test_cli_check_reports_each_step(mic, cli):
    mic.set_loopback(True)  # the microphone hears the speaker, like a laptop's
    res = cli("check", env=mic.env(), timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert any(ln.startswith("speaker: ok - played") for ln in lines)
    assert any(ln.startswith("microphone: ok - heard") for ln in lines)
    transcript = [ln for ln in lines if ln.startswith("transcript: ok")]
    assert transcript and "microphone" in transcript[0].lower()

    mic.set_loopback(False)  # headphones: the microphone hears nothing
    res = cli("check", env=mic.env(), timeout=180)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert any(ln.startswith("speaker: ok") for ln in res.stdout.splitlines())
    assert "microphone: FAILED - no speech heard" in res.stdout
    assert "  fix: " in res.stdout


def test_cli_devices_lists_the_virtual_devices(mic, cli):
    res = cli("devices", env=mic.env())
    assert res.returncode == 0
    assert "pulse (ALSA; in:" in res.stdout and "<in out>" in res.stdout


def test_speaker_unplugged_mid_line_is_one_device_error(private_audio):
    player = Player()
    player.open()
    tone = (0.3 * np.sin(np.arange(6 * SR) * 2 * np.pi * 440 / SR)).astype(np.float32)
    playback = player.start(tone, SR)
    threading.Timer(0.5, private_audio.kill_daemon).start()
    with pytest.raises(DeviceError) as err:
        playback.wait()
    assert "speaker" in err.value.message and "--no-voice" in err.value.hint
    player.close()


def test_microphone_can_be_closed_and_opened_again(rig, mic):
    clock, _, src = rig
    for text in ("First answer.", "Second answer, after reopening."):
        # One more reopening if the shared virtual microphone stalled under a long suite's
        # load (a CI run: 0.27 s late, no overflow): every reply must still be heard, and the
        # second measurement must be on time.
        for attempt in (1, 2):
            src.close()
            reply = synth(text)
            on, _ = speech_span(reply)
            spoken = mic.say(reply, at_mono=time.monotonic() + 0.5)
            utt = src.listen()
            assert not utt.timed_out
            err = utt.start_s - (clock.from_mono(spoken.start_mono) + on)
            if abs(err) < TOLERANCE_S:
                break
            print(f"attempt {attempt}: {text!r} heard {err:+.3f} s off "
                  f"(input overflows: {src.overflows})")
        assert abs(err) < TOLERANCE_S, (err, f"input overflows: {src.overflows}")


def test_check_without_portaudio_is_one_line_with_fix(cli, no_portaudio_env):
    res = cli("check", env=no_portaudio_env)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines[0].startswith("error: PortAudio not found") and "libportaudio2" in lines[1]
