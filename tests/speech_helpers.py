"""Real synthesised speech for tests: espeak-ng speaks a phrase to a WAV, read back at 16 kHz."""

from __future__ import annotations

import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SR = 16_000


@lru_cache(maxsize=256)
def _synth_cached(text: str, voice: str, rate_wpm: int) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", str(wav), text],
                       check=True, capture_output=True)
        audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if sr != SR:
        audio = soxr.resample(audio, sr, SR)
    return audio.astype(np.float32).tobytes()


def synth(text: str, voice: str = "en-us", rate_wpm: int = 160) -> np.ndarray:
    """Speech for `text` as float32 mono at 16 kHz (espeak-ng; cached per process)."""
    return np.frombuffer(_synth_cached(text, voice, rate_wpm), dtype=np.float32).copy()


def write_wav(path: Path, audio: np.ndarray, sr: int = SR) -> Path:
    """Write float32 audio as a 16-bit WAV."""
    sf.write(str(path), audio, sr, subtype="PCM_16")
    return path


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SR), dtype=np.float32)


def white_noise(seconds: float, level: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * SR)) * level).astype(np.float32)


# --- shared ASR models for tests (added for issue 5) -------------------------------------------
_MODEL_HOME: list[Path] = []
_TRANSCRIBERS: dict[str, object] = {}


def shared_model_home() -> Path:
    """A TRAINER_HOME for this test process that holds the converted openai-whisper model.

    Pass it as TRAINER_HOME to CLI subprocesses so they reuse the conversion (about 3 s).
    Never the user's data dir; removed when the process exits.
    """
    if not _MODEL_HOME:
        import atexit
        import shutil

        home = Path(tempfile.mkdtemp(prefix="trainer-models-"))
        atexit.register(shutil.rmtree, home, ignore_errors=True)
        _MODEL_HOME.append(home)
    return _MODEL_HOME[0]


def shared_transcriber(engine: str):
    """One loaded, warmed-up transcriber (bundled tiny.en) per engine per test process."""
    if engine not in _TRANSCRIBERS:
        import os

        from trainer.speech.asr import load_transcriber

        old = os.environ.get("TRAINER_HOME")
        os.environ["TRAINER_HOME"] = str(shared_model_home())
        try:
            _TRANSCRIBERS[engine] = load_transcriber(engine)
        finally:
            if old is None:
                os.environ.pop("TRAINER_HOME", None)
            else:
                os.environ["TRAINER_HOME"] = old
    return _TRANSCRIBERS[engine]


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """WER over all pairs after Whisper's English normalisation (numbers, contractions)."""
    import jiwer
    from whisper.normalizers import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    refs = [norm(r) for r in references]
    hyps = [norm(h) for h in hypotheses]
    # jiwer refuses empty references; an empty hypothesis is fine (all deletions)
    return jiwer.wer(refs, [h if h else "<empty>" for h in hyps])
