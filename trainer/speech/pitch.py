"""The pitch at the end of an utterance: does the voice rise, as in a question said as a statement?

"You really think so" is a question only by its tune: the voice rises over the last few hundred
milliseconds. This module turns captured audio into one number for the pure analysis,
`final_rise_st`: how many semitones the pitch at the very end of the voiced speech lies above the
pitch at the start of the final stretch (positive: a rise; negative: a fall; None: too little
voiced speech to tell).

The pitch tracker is Praat's (through `praat-parselmouth`, a well-kept binding with wheels on
PyPI): autocorrelation with Praat's path finder, which avoids most octave jumps. Medians over
short stretches, not single frames, make the figure robust to a stray frame.
"""

from __future__ import annotations

import numpy as np

from trainer.errors import DependencyError

# The final stretch: the classic cue lies in the last few hundred ms of voiced speech.
FINAL_S = 0.45
# The pitch "now" and "before" are medians over this long at the end and start of the stretch.
EDGE_S = 0.12
MIN_VOICED_FRAMES = 8
# The audio tracked: the end of the turn, with trailing silence the endpointer left.
TAIL_S = 3.0
TIME_STEP_S = 0.01
# Adult speech (men from ~75 Hz, women and children up to ~500 Hz).
PITCH_FLOOR_HZ = 75.0
PITCH_CEILING_HZ = 500.0


def pitch_track(audio: np.ndarray, sample_rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """(times in s, F0 in Hz with 0 for unvoiced frames) of a mono float waveform."""
    try:
        import parselmouth
    except ImportError as exc:  # pragma: no cover - installed by scripts/setup
        raise DependencyError("praat-parselmouth is not installed (the pitch tracker)",
                              hint="run scripts/setup") from exc
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if x.size < int(0.1 * sample_rate_hz):
        return np.zeros(0), np.zeros(0)
    snd = parselmouth.Sound(x, sampling_frequency=float(sample_rate_hz))
    pitch = snd.to_pitch_ac(time_step=TIME_STEP_S, pitch_floor=PITCH_FLOOR_HZ,
                            pitch_ceiling=PITCH_CEILING_HZ)
    f0 = pitch.selected_array["frequency"]
    voiced = f0[f0 > 0]
    if voiced.size >= MIN_VOICED_FRAMES:
        # Second pass in this speaker's range (Hirst's two-pass method): a wide range lets the
        # tracker jump an octave on a creaky or breathy ending, which reads as a huge rise or
        # fall. The ceiling leaves room for a question's rise above the usual range.
        q25, q75 = np.percentile(voiced, [25, 75])
        floor = max(50.0, 0.75 * q25)
        ceiling = min(800.0, max(2.0 * q75, floor * 2.5))
        pitch = snd.to_pitch_ac(time_step=TIME_STEP_S, pitch_floor=floor,
                                pitch_ceiling=ceiling)
        f0 = pitch.selected_array["frequency"]
    return np.asarray(pitch.xs()), np.asarray(f0)


def final_rise_st(audio: np.ndarray | None, sample_rate_hz: int = 16_000) -> float | None:
    """Semitones from the start to the end of the last FINAL_S s of voiced speech (None: not
    enough voiced speech, or no audio)."""
    if audio is None:
        return None
    # Only the end matters (and the speaker's range around it): tracking the last TAIL_S s
    # keeps the cost per turn small whatever the turn's length.
    audio = np.asarray(audio).reshape(-1)[-int(TAIL_S * sample_rate_hz):]
    times, f0 = pitch_track(audio, sample_rate_hz)
    voiced = f0 > 0
    if voiced.sum() < MIN_VOICED_FRAMES:
        return None
    t, hz = times[voiced], f0[voiced]
    end = t[-1]
    keep = t >= end - FINAL_S
    t, st = t[keep], 12.0 * np.log2(hz[keep])
    if len(st) < MIN_VOICED_FRAMES:
        return None
    last = st[t >= t[-1] - EDGE_S]
    first = st[t <= t[0] + EDGE_S]
    return round(float(np.median(last) - np.median(first)), 2)
