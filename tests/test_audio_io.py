"""Audio files at any rate and channel count -> float32 mono 16 kHz; clear errors otherwise."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from trainer.errors import AudioError
from trainer.speech.audio_io import read_audio, to_mono_16k


def tone(freq_hz: float, seconds: float, rate: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def level_at(audio: np.ndarray, freq_hz: float, rate: int = 16000) -> float:
    """Amplitude of the spectrum near freq_hz (a Hann-windowed FFT, normalised to a sine's amp)."""
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)))) / (len(audio) / 4)
    freqs = np.fft.rfftfreq(len(audio), 1 / rate)
    near = np.abs(freqs - freq_hz) < 30
    return float(spectrum[near].max())


def test_stereo_44k_wav_is_mixed_down_and_resampled(tmp_path):
    left, right = tone(440, 2.0, 44100), tone(440, 2.0, 44100, amp=0.3)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 44100, subtype="PCM_16")
    audio = read_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == pytest.approx(32000, abs=2)
    assert level_at(audio, 440) == pytest.approx(0.4, abs=0.02)  # mean of the channels


def test_resampling_is_band_limited_not_sample_dropping():
    # 7 kHz survives at 16 kHz; 11 kHz is above the new Nyquist (8 kHz) and must be filtered,
    # not folded down to 5 kHz as naive decimation would do.
    audio = to_mono_16k(tone(7000, 1.0, 48000) + tone(11000, 1.0, 48000), 48000)
    assert level_at(audio, 7000) == pytest.approx(0.5, abs=0.03)
    assert level_at(audio, 5000) < 0.005


def test_flac_at_8k_and_int16_arrays(tmp_path):
    path = tmp_path / "phone.flac"
    sf.write(path, tone(300, 1.5, 8000), 8000)
    audio = read_audio(path)
    assert len(audio) == pytest.approx(24000, abs=2)
    assert level_at(audio, 300) == pytest.approx(0.5, abs=0.03)
    pcm = (tone(1000, 0.5, 16000) * 32767).astype(np.int16)
    assert np.max(np.abs(to_mono_16k(pcm, 16000))) == pytest.approx(0.5, abs=0.01)


def test_unreadable_missing_and_empty_files_are_audio_errors(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    with pytest.raises(AudioError, match="notes.wav: not a readable audio file"):
        read_audio(text)
    with pytest.raises(AudioError, match="no such file"):
        read_audio(tmp_path / "missing.wav")
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="empty.wav: the file holds no audio"):
        read_audio(empty)
    truncated = tmp_path / "cut.wav"
    sf.write(truncated, tone(440, 1.0, 16000), 16000, subtype="PCM_16")
    truncated.write_bytes(truncated.read_bytes()[:30])  # a header cut short
    with pytest.raises(AudioError, match="cut.wav"):
        read_audio(truncated)
