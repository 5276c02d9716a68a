"""Audio files and arrays -> float32 mono at 16 kHz, the only format the ASR engines take.

Reads WAV/FLAC (anything libsndfile reads) at any sample rate, mixes channels down, and resamples
with soxr (a proper band-limited resampler, not sample dropping). Unreadable or empty input is an
AudioError naming the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainer.errors import AudioError
from trainer.types import SAMPLE_RATE_HZ


def to_mono_16k(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Mix (frames, channels) audio down to mono and resample it to 16 kHz float32.

    Integer PCM arrays are scaled to [-1, 1].
    """
    audio = np.asarray(audio)
    if audio.dtype.kind in "iu":
        info = np.iinfo(audio.dtype)
        audio = (audio.astype(np.float32) - (info.max + info.min + 1) / 2) / (info.max + 1)
    audio = audio.astype(np.float32, copy=False)
    if audio.ndim == 2:
        audio = audio.mean(axis=1, dtype=np.float32)
    elif audio.ndim != 1:
        raise AudioError(f"audio must be 1-D or (frames, channels), got shape {audio.shape}")
    if sample_rate_hz <= 0:
        raise AudioError(f"invalid sample rate {sample_rate_hz} Hz")
    if sample_rate_hz != SAMPLE_RATE_HZ and len(audio):
        import soxr

        audio = soxr.resample(audio, sample_rate_hz, SAMPLE_RATE_HZ, quality="HQ")
    return np.ascontiguousarray(audio, dtype=np.float32)


def read_audio(path: str | Path) -> np.ndarray:
    """Read an audio file as float32 mono at 16 kHz.

    Raises:
        AudioError: the file is missing, not audio libsndfile can read, or holds no samples.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        audio, sample_rate_hz = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({exc})",
                         hint="use WAV or FLAC") from exc
    if audio.shape[0] == 0:
        raise AudioError(f"{path}: the file holds no audio (0 samples)")
    return to_mono_16k(audio, sample_rate_hz)
