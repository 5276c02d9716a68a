"""CT2 model.bin -> openai-whisper checkpoint: same text as faster-whisper, int8 dequantized,
a corrupt cache rebuilt."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from speech_helpers import synth, word_error_rate

from trainer.errors import ModelError
from trainer.speech.asr import AsrOptions, load_transcriber
from trainer.speech.convert import (
    cache_paths,
    converted_checkpoint,
    ct2_to_whisper,
    load_whisper_checkpoint,
    read_ct2_variables,
)
from trainer.speech.models import bundled_model_dir

pytestmark = pytest.mark.model

PHRASES = [
    "Hi, I'm Sam. I work on data pipelines at a logistics company.",
    "How did you get started in product design?",
    "Could we grab a coffee next week to continue this conversation?",
    "I can introduce you to a friend who runs a hiring agency in Berlin.",
    "My background is in nursing, but I moved into software three years ago.",
]


def test_reads_the_bundled_model_with_tiny_en_dims():
    variables = read_ct2_variables(bundled_model_dir() / "model.bin")
    dims, state = ct2_to_whisper(variables)
    assert dims == {
        "n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 384, "n_audio_head": 6,
        "n_audio_layer": 4, "n_vocab": 51864, "n_text_ctx": 448, "n_text_state": 384,
        "n_text_head": 6, "n_text_layer": 4,
    }
    # the alias decoder/projection/weight -> decoder/embeddings/weight is resolved
    assert variables["decoder/projection/weight"] is variables["decoder/embeddings/weight"]
    assert state["encoder.blocks.0.attn.query.weight"].shape == (384, 384)
    assert "encoder.blocks.0.attn.key.bias" not in state  # whisper's key has no bias


def test_converted_model_gives_the_same_text_as_faster_whisper():
    # faster-whisper in float32 runs the very same weights: the texts must match exactly.
    fw = load_transcriber("faster-whisper", options=AsrOptions(compute_type="float32"))
    ow = load_transcriber("whisper")
    for voice, rate in [("en-us", 150), ("en-gb-x-rp", 170)]:
        for phrase in PHRASES:
            audio = synth(phrase, voice, rate)
            assert ow.transcribe(audio).text == fw.transcribe(audio).text


def _int8_copy(src: Path, out: Path) -> Path:
    """A real int8 CT2 model of the bundled tiny.en, made with CTranslate2's own spec writer."""
    from ctranslate2.specs.whisper_spec import WhisperSpec

    variables = read_ct2_variables(src / "model.bin")
    spec = WhisperSpec(4, 6, 4, 6)
    for name, value in variables.items():
        if value.ndim == 0:
            continue  # config scalars: the spec sets its own
        obj = spec
        *scopes, attr = name.split("/")
        for scope in scopes:
            base, _, index = scope.rpartition("_")
            listed = index.isdigit() and isinstance(getattr(obj, base, None), list)
            obj = getattr(obj, base)[int(index)] if listed else getattr(obj, scope)
        setattr(obj, attr, value.astype(np.float32))
    for key, value in json.loads((src / "config.json").read_text()).items():
        setattr(spec.config, key, value)
    spec.register_vocabulary((src / "vocabulary.txt").read_text(encoding="utf-8").splitlines())
    spec.validate()
    spec.optimize(quantization="int8")
    out.mkdir()
    spec.save(str(out))
    shutil.copy(src / "tokenizer.json", out)
    return out


def test_int8_ct2_weights_are_dequantized(tmp_path):
    src = bundled_model_dir()
    folder = _int8_copy(src, tmp_path / "tiny-int8")
    q = read_ct2_variables(folder / "model.bin")
    assert q["encoder/conv1/weight"].dtype == np.int8 and "encoder/conv1/weight_scale" in q
    _, deq = ct2_to_whisper(q)
    _, ref = ct2_to_whisper(read_ct2_variables(src / "model.bin"))
    for name in ("encoder.conv1.weight", "decoder.blocks.2.mlp.0.weight",
                 "decoder.token_embedding.weight"):
        step = np.abs(ref[name]).reshape(len(ref[name]), -1).max(axis=1) / 127
        err = np.abs(deq[name] - ref[name]).reshape(len(ref[name]), -1).max(axis=1)
        assert np.all(err <= step * 0.5 + 1e-6), name  # within half a quantization step
    ow = load_transcriber("whisper", str(folder))
    fw = load_transcriber("faster-whisper", str(folder), options=AsrOptions(compute_type="float32"))
    refs, ow_texts = [], []
    for phrase in PHRASES:
        audio = synth(phrase, "en-us", 150)
        refs.append(phrase)
        ow_texts.append(ow.transcribe(audio).text)
        assert ow_texts[-1] == fw.transcribe(audio).text
    assert word_error_rate(refs, ow_texts) <= 0.15


@pytest.mark.parametrize("damage", ["truncate", "flip a byte", "no sidecar", "garbage sidecar"])
def test_a_corrupt_cache_is_rebuilt(damage):
    src = bundled_model_dir()
    checkpoint = converted_checkpoint(src, "tiny.en")
    good_bytes = checkpoint.read_bytes()
    _, sidecar = cache_paths(src, "tiny.en")
    if damage == "truncate":
        checkpoint.write_bytes(good_bytes[: len(good_bytes) // 2])
    elif damage == "flip a byte":
        data = bytearray(good_bytes)
        data[len(data) // 2] ^= 0xFF
        checkpoint.write_bytes(bytes(data))
    elif damage == "no sidecar":
        sidecar.unlink()
    else:
        sidecar.write_text("{not json")
    messages = []
    again = converted_checkpoint(src, "tiny.en", progress=messages.append)
    assert again == checkpoint
    assert messages and "converting" in messages[0]  # it was rebuilt, not trusted
    assert checkpoint.read_bytes() == good_bytes
    assert load_whisper_checkpoint(checkpoint).dims.n_vocab == 51864
    # and a valid cache is used as is
    messages.clear()
    converted_checkpoint(src, "tiny.en", progress=messages.append)
    assert messages == []


def test_a_file_that_is_not_a_ct2_model_is_a_model_error(tmp_path):
    (tmp_path / "model.bin").write_bytes(b"\x06\x00\x00\x00garbage")
    with pytest.raises(ModelError, match="cannot read the CTranslate2 model"):
        read_ct2_variables(tmp_path / "model.bin")
    with pytest.raises(ModelError):
        converted_checkpoint(tmp_path, "broken")


def test_an_older_conversion_of_the_same_model_is_removed():
    src = bundled_model_dir()
    checkpoint, sidecar = cache_paths(src, "tiny.en")
    older = checkpoint.with_name("tiny.en-0123456789abcdef.pt")  # e.g. before an upgrade
    older.parent.mkdir(parents=True, exist_ok=True)
    older.write_bytes(b"old weights")
    older.with_name(older.name + ".json").write_text(json.dumps({"source": str(src.resolve())}))
    mine = checkpoint.with_name("my-model-0.pt")  # another model's conversion stays
    mine.write_bytes(b"other")
    mine.with_name(mine.name + ".json").write_text(json.dumps({"source": "/somewhere/else"}))
    converted_checkpoint(src, "tiny.en")
    names = {p.name for p in checkpoint.parent.iterdir()}
    assert names == {checkpoint.name, sidecar.name, mine.name, mine.name + ".json"}
