"""The pitch at the end of a spoken turn: a rise makes a statement with a cue a question.

Real parts: espeak-ng says the sentence, sox bends the pitch of its last 0.4 s up or down (the
same words with a rising or a falling end), Praat's tracker (praat-parselmouth) measures it.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from trainer.analysis import RISE_ST, analyze_utterance
from trainer.speech.pitch import final_rise_st

pytestmark = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                reason="needs espeak-ng and sox")


def _clip(tmp_path, text: str, bend_cents: int) -> np.ndarray:
    raw, trim, out = tmp_path / "raw.wav", tmp_path / "trim.wav", tmp_path / f"{bend_cents}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), text + "."], check=True)
    subprocess.run(["sox", "-V1", str(raw), "-r", "16000", str(trim), "reverse", "silence",
                    "1", "0.02", "0.5%", "reverse"], check=True)
    dur = sf.info(str(trim)).duration
    subprocess.run(["sox", "-V1", str(trim), str(out), "gain", "-3", "bend",
                    f"{dur - 0.45:.3f},{bend_cents},0.4"], check=True)
    x, sr = sf.read(str(out), dtype="float32")
    assert sr == 16_000
    return x


def test_a_rising_end_makes_the_statement_a_question_and_a_falling_one_does_not(tmp_path):
    text = "you moved here from brazil"
    rise = final_rise_st(_clip(tmp_path, text, 900), 16_000)
    fall = final_rise_st(_clip(tmp_path, text, -300), 16_000)
    # Wide margins either side of the decision threshold (any CPU, any espeak-ng build).
    assert rise is not None and rise >= RISE_ST + 1.5
    assert fall is not None and fall <= RISE_ST - 3.0
    assert not analyze_utterance(text).is_question  # the words alone: a statement
    asked = analyze_utterance(text, final_rise_st=rise)
    assert asked.is_question and asked.question_form == "declarative"
    assert not analyze_utterance(text, final_rise_st=fall).is_question


def test_a_rise_does_not_turn_a_long_telling_or_a_backchannel_into_a_question():
    telling = ("i moved here from brazil about ten years ago for a job in logistics and "
               "stayed because i loved the city")
    assert not analyze_utterance(telling, final_rise_st=8.0).is_question  # uptalk
    assert not analyze_utterance("oh really", final_rise_st=8.0).is_question
    # a statement without a cue needs a clear rise, not a slight one
    assert not analyze_utterance("the talk was recorded last week", final_rise_st=3.5).is_question
    assert analyze_utterance("the talk was recorded last week", final_rise_st=7.0).is_question


def test_too_little_voiced_speech_gives_no_figure():
    assert final_rise_st(np.zeros(16_000, dtype=np.float32), 16_000) is None
    assert final_rise_st(None) is None


def test_the_persona_hears_the_rise_a_spoken_turn_carries():
    from trainer.conversation import Conversation
    from trainer.personas import load_persona

    def reply_to(rise):
        conv = Conversation(load_persona("dana"), seed=0)
        conv.start()
        return conv.respond("you moved here from brazil", duration_s=1.5,
                            final_rise_st=rise).features

    assert reply_to(7.0).is_question  # said with a rise: a question the persona answers
    assert not reply_to(-4.0).is_question  # said as a statement
    assert not reply_to(None).is_question  # typed, no pitch
