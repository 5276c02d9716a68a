"""Local transcription with the real bundled tiny.en, both engines, on real synthesised speech."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import soundfile as sf
import soxr
from speech_helpers import (
    SR,
    shared_model_home,
    shared_transcriber,
    silence,
    synth,
    white_noise,
    word_error_rate,
    write_wav,
)

from trainer.errors import ModelError, UsageError
from trainer.speech.asr import DEFAULT_ENGINE, ENGINES, load_transcriber
from trainer.speech.models import resolve_model

pytestmark = pytest.mark.model

PHRASES = [
    "Hi, I'm Sam. I work on data pipelines at a logistics company.",
    "How did you get started in product design?",
    "That sounds like a hard problem. How did your team solve it?",
    "I'd love to hear more about the mentoring program you mentioned.",
    "Could we grab a coffee next week to continue this conversation?",
    "How long have you been volunteering at the food bank?",
    "I just finished my degree in mechanical engineering.",
    "I run a small bakery downtown and want to grow it.",
]
# (espeak-ng voice, words per minute): two accents, slow to brisk speech
VOICES = [("en-us", 140), ("en-gb-x-rp", 160), ("en-us", 185)]

MONOLOGUE = (
    "Thanks for asking about my work. I lead a small team that builds software for "
    "warehouses. Every morning we look at the orders from the night before and plan the "
    "routes for the trucks. Last year we moved everything to a new system, and it took "
    "much longer than we expected. The hardest part was not the code but the people. "
    "Drivers had used the old screens for ten years and they did not trust the new ones. "
    "So we spent two weeks riding along with them, listening to what annoyed them, and "
    "fixing small things every evening. After that the complaints dropped and the "
    "deliveries got faster. Now I am looking for my next challenge. I would like to work "
    "on tools for hospitals, because my sister is a nurse and she tells me how much time "
    "they lose on paperwork. If you know anyone in that field, I would be glad to talk "
    "to them. And I am curious about your own path. How did you end up running the "
    "volunteer program here, and what keeps you coming back every week? Before I moved "
    "here I spent three years teaching maths at a secondary school, which taught me how "
    "to explain hard ideas simply. I still miss it sometimes. The last thing "
    "I want to say is that the purple elephant concert starts at nine."
)


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


def test_phrases_at_several_rates_and_voices_have_low_word_error_rate(engine):
    tr = shared_transcriber(engine)
    refs, hyps = [], []
    for voice, rate in VOICES:
        for phrase in PHRASES:
            t = tr.transcribe(synth(phrase, voice, rate))
            refs.append(phrase)
            hyps.append(t.text)
            assert t.engine == engine and t.model == "tiny.en"
    wer = word_error_rate(refs, hyps)
    misses = [(r, h) for r, h in zip(refs, hyps, strict=True) if word_error_rate([r], [h]) > 0]
    assert wer <= 0.10, f"WER {wer:.1%}; misses: {misses}"


@pytest.mark.parametrize("kind", ["silence", "quiet noise", "loud noise", "hum"])
def test_audio_without_speech_gives_empty_text(engine, kind):
    audio = {
        "silence": silence(4.0),
        "quiet noise": white_noise(4.0, level=0.02, seed=1),
        "loud noise": white_noise(4.0, level=0.3, seed=2),
        "hum": (0.1 * np.sin(2 * np.pi * 50 * np.arange(4 * SR) / SR)).astype(np.float32),
    }[kind]
    t = shared_transcriber(engine).transcribe(audio)
    assert t.text == "" and t.words == []
    assert t.duration_s == pytest.approx(4.0)


# Stock phrases said for real, by several voices, slow to fast (issue 14: on an Intel AVX-512
# machine the old guard, a no_speech_prob threshold, dropped a real "Thank you.").
STOCK_SAID = [("Thank you.", "en-us", 130), ("Thank you.", "en-gb-x-rp", 160),
              ("Thank you.", "en-us+f3", 190), ("Thank you.", "en-us+m3", 220),
              ("Thanks.", "en-gb", 150), ("Thanks.", "en-us", 200),
              ("Thank you very much.", "en-us+m3", 170), ("Thank you very much.", "en-gb", 210)]


def test_real_thank_yous_are_not_taken_for_hallucinations(engine):
    from trainer.speech.asr import voiced_s

    tr = shared_transcriber(engine)
    for phrase, voice, rate in STOCK_SAID:
        audio = synth(phrase, voice, rate)
        # the guard's evidence sits well clear of its threshold (measured 0.32 s and up)
        assert voiced_s(audio, tr.options) >= 1.5 * tr.options.hallucination_min_voiced_s, \
            (phrase, voice, rate)
        t = tr.transcribe(audio)
        assert word_error_rate([phrase], [t.text]) == 0, (phrase, voice, rate, t.text)


def test_a_stock_phrase_on_a_fragment_of_voice_is_dropped(engine):
    """A 0.1 s snippet of a word (a click of speech, not a reply): Whisper heard "Bye." in it
    on this machine; whatever it hears on another CPU, a stock phrase is not kept."""
    from trainer.speech.asr import KNOWN_HALLUCINATIONS, _Segment, normalized, voiced_s

    tr = shared_transcriber(engine)
    word = synth("Hello there, how are you doing today?", "en-us", 160)
    frag = word[SR:int(1.1 * SR)] * np.hanning(int(0.1 * SR)).astype(np.float32)
    audio = np.concatenate([silence(1.5), frag, silence(1.5)])
    assert voiced_s(audio, tr.options) <= 0.7 * tr.options.hallucination_min_voiced_s
    assert normalized(tr.transcribe(audio).text) not in KNOWN_HALLUCINATIONS
    # the decision itself, on the real VAD evidence of each clip
    said = synth("Thank you.", "en-us", 150)
    assert tr._drop_hallucination([_Segment("Bye.")], audio) == []
    assert tr._drop_hallucination([_Segment(" Thank you.")], said) != []
    assert tr._drop_hallucination([_Segment("Bye now, see you.")], audio) != []  # not stock


def test_word_times_follow_the_audio_including_leading_silence(engine):
    speech = synth("Could we grab a coffee next week?", "en-us", 160)
    audio = np.concatenate([silence(2.5), speech, silence(1.0)])
    t = shared_transcriber(engine).transcribe(audio)
    assert word_error_rate(["could we grab a coffee next week"], [t.text]) <= 0.15
    starts = [w.start_s for w in t.words]
    assert starts == sorted(starts)
    # the speech starts at 2.5 s: cropping the silence must not shift the word times
    assert 1.9 <= t.words[0].start_s <= 3.0  # (without the offset it would be ~0.1)
    assert t.words[-1].end_s <= 2.5 + len(speech) / SR + 0.5
    assert all(w.end_s >= w.start_s for w in t.words)


def test_ninety_second_monologue_is_transcribed_whole(engine):
    audio = synth(MONOLOGUE, "en-us", 130)
    assert len(audio) / SR > 88  # three full Whisper windows and a part
    t = shared_transcriber(engine).transcribe(audio)
    assert t.duration_s == pytest.approx(len(audio) / SR, abs=0.01)
    assert word_error_rate([MONOLOGUE], [t.text]) <= 0.15, t.text
    assert "elephant" in t.text.lower()  # the last sentence, in the last window
    assert t.words[-1].end_s > 80


def test_a_reply_the_short_window_cuts_off_is_transcribed_whole(engine):
    # Captured through the virtual microphone with a 0.1 s dropout: in the shortened encoder
    # window tiny.en stopped at "I am looking for my first J" (both engines); the transcriber
    # notices the words ended long before the speech and decodes again in the full window.
    from pathlib import Path

    from trainer.speech.audio_io import read_audio

    audio = read_audio(Path(__file__).parent / "data" / "dropout_reply.wav")
    audio = audio[0] if isinstance(audio, tuple) else audio
    t = shared_transcriber(engine).transcribe(audio)
    assert t.text.lower().rstrip(".").endswith("hear about your team"), t.text
    assert t.words[-1].end_s > 4.5


def test_any_sample_rate_and_stereo_give_the_same_text(engine):
    tr = shared_transcriber(engine)
    mono = synth("What does a typical day look like for you?", "en-us", 150)
    at_44k = soxr.resample(mono, SR, 44100)
    stereo = np.stack([at_44k, at_44k * 0.8], axis=1)
    a = tr.transcribe(mono)
    b = tr.transcribe(stereo, sample_rate_hz=44100)
    assert word_error_rate([a.text], [b.text]) <= 0.1
    assert b.duration_s == pytest.approx(a.duration_s, abs=0.01)


def test_default_engine_and_speed_of_a_short_reply():
    tr = shared_transcriber(DEFAULT_ENGINE)
    assert tr.engine == DEFAULT_ENGINE and tr.model_name == "tiny.en"
    audio = synth("I'd love to hear more about the mentoring program you mentioned.", "en-us", 150)
    times = [tr.transcribe(audio).seconds_taken for _ in range(3)]
    # The goal is 0.35 s on an idle 2-core machine (benchmarks/transcription.py measures it);
    # this bound only catches a lost speed-up (full 30 s windows took ~0.6-0.8 s).
    assert min(times) < 1.5, times


def test_unknown_engine_and_model_are_clear_errors():
    with pytest.raises(UsageError, match="unknown engine"):
        load_transcriber("vosk")
    with pytest.raises(ModelError, match="unknown model 'tiny.xx'"):
        resolve_model("tiny.xx")
    with pytest.raises(ModelError, match="does not exist"):
        resolve_model("/no/such/model.pt")


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_model_that_is_not_downloaded_fails_fast_offline(engine_name, monkeypatch, tmp_path):
    # Real library download paths with empty caches; the offline switches make it fast and
    # keep a machine with internet from downloading 140 MB.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRAINER_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    started = time.perf_counter()
    with pytest.raises(ModelError, match="base.en is not downloaded") as info:
        load_transcriber(engine_name, "base.en")
    assert time.perf_counter() - started < 15
    assert "bundled tiny.en" in info.value.hint


def test_model_paths_ct2_folder_and_checkpoint(tmp_path):
    from trainer.speech.convert import converted_checkpoint
    from trainer.speech.models import bundled_model_dir

    folder = bundled_model_dir()
    phrase = "How did you get started in product design?"
    audio = synth(phrase, "en-us", 150)
    fw = load_transcriber("faster-whisper", str(folder))
    assert fw.model_name == str(folder)
    assert word_error_rate([phrase], [fw.transcribe(audio).text]) <= 0.1
    checkpoint = converted_checkpoint(folder, "tiny.en")
    ow = load_transcriber("whisper", str(checkpoint))
    assert word_error_rate([phrase], [ow.transcribe(audio).text]) <= 0.1
    with pytest.raises(ModelError, match="faster-whisper cannot load the openai-whisper"):
        load_transcriber("faster-whisper", str(checkpoint))
    (tmp_path / "notamodel").mkdir()
    with pytest.raises(ModelError, match="without model.bin"):
        load_transcriber("whisper", str(tmp_path / "notamodel"))


# --- the CLI ---------------------------------------------------------------------------------
def test_cli_transcribes_good_files_and_reports_bad_ones(cli, tmp_path):
    good = write_wav(tmp_path / "good.wav", synth("Is your team hiring right now?", "en-us", 150))
    stereo = tmp_path / "stereo44k.flac"
    mono = synth("Sure, here is my card.", "en-us", 150)
    at_44k = soxr.resample(mono, SR, 44100)
    sf.write(stereo, np.stack([at_44k, at_44k], axis=1), 44100)
    bad = tmp_path / "bad.wav"
    bad.write_text("this is not audio")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 16000)
    r = cli("transcribe", str(good), str(bad), str(stereo), str(empty),
            env={"TRAINER_HOME": str(shared_model_home())})
    assert r.returncode == 1, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{good}: ") and "hiring" in lines[0].lower()
    assert lines[1].startswith(f"{stereo}: ") and "card" in lines[1].lower()
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert str(bad) in errors[0] and str(empty) in errors[1] and "no audio" in errors[1]
    assert "loading faster-whisper model tiny.en" in r.stderr  # progress goes to stderr
    assert "Traceback" not in r.stderr


def test_cli_transcribe_json_with_openai_whisper(cli, tmp_path):
    phrase = "Before I forget, what is the best way to reach you?"
    wav = write_wav(tmp_path / "reply.wav", synth(phrase, "en-us", 150), sr=SR)
    r = cli("transcribe", "--engine", "whisper", "--json", str(wav),
            env={"TRAINER_HOME": str(shared_model_home())})
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert isinstance(doc, list) and len(doc) == 1
    entry = doc[0]
    assert {"file", "text", "words", "duration_s", "seconds_taken", "engine", "model",
            "error"} <= set(entry)
    assert entry["engine"] == "whisper" and entry["model"] == "tiny.en"
    assert entry["error"] is None
    assert word_error_rate([phrase], [entry["text"]]) <= 0.15
    assert entry["duration_s"] == pytest.approx(len(synth(phrase, "en-us", 150)) / SR, abs=0.01)
    assert 0 < entry["seconds_taken"] < 30


def test_cli_offline_model_error_is_one_line(cli, tmp_path):
    wav = write_wav(tmp_path / "reply.wav", synth("Hello there.", "en-us", 150))
    r = cli("transcribe", "--model", "small.en", str(wav),
            env={"TRAINER_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
                 "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert r.returncode == 2
    assert "error: model small.en is not downloaded" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
