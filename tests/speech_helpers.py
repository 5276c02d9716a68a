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
