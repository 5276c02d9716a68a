"""Voice activity detection: Silero VAD v6, one 32 ms frame at a time.

faster-whisper ships the Silero VAD v6 ONNX model (`faster_whisper/assets/silero_vad_v6.onnx`)
and onnxruntime comes with it, so a neural VAD costs no new dependency. Silero is far more
robust in noise than webrtcvad: white noise at -20 dBFS scores below 0.15 here, speech 0.9+.

The model takes 512 new samples at 16 kHz plus the last 64 samples of the previous frame as
context, and carries an LSTM state (h, c) from frame to frame. Fed frame by frame it gives
exactly the probabilities faster-whisper's batched call gives (measured: max difference 0.0),
at about 0.16 ms per frame on this machine.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from trainer.errors import DependencyError, ModelError

FRAME_SAMPLES = 512  # 32 ms at 16 kHz: the frame Silero v6 is trained on
CONTEXT_SAMPLES = 64
VAD_SAMPLE_RATE_HZ = 16_000

_session = None
_session_lock = threading.Lock()


def model_path() -> str:
    """Path of the Silero VAD v6 ONNX model bundled with faster-whisper."""
    try:
        from faster_whisper.utils import get_assets_path
    except ImportError as exc:
        raise DependencyError("faster-whisper is not installed (it ships the VAD model)",
                              hint="run scripts/setup") from exc
    return os.path.join(get_assets_path(), "silero_vad_v6.onnx")


def _get_session():
    """One ONNX session per process (it holds no per-stream state; callers keep h, c)."""
    global _session
    with _session_lock:
        if _session is None:
            try:
                import onnxruntime
            except ImportError as exc:
                raise DependencyError("onnxruntime is not installed (needed by the VAD)",
                                      hint="run scripts/setup") from exc
            path = model_path()
            if not os.path.exists(path):
                raise ModelError(f"VAD model not found at {path}",
                                 hint="reinstall faster-whisper: run scripts/setup")
            opts = onnxruntime.SessionOptions()
            # One thread: a frame is tiny and the machine's cores belong to Whisper.
            opts.inter_op_num_threads = 1
            opts.intra_op_num_threads = 1
            opts.log_severity_level = 4
            _session = onnxruntime.InferenceSession(
                path, providers=["CPUExecutionProvider"], sess_options=opts)
        return _session


class SileroVad:
    """Streaming Silero VAD: `prob(frame)` -> probability that the 32 ms frame is speech.

    One instance per audio stream (it keeps the LSTM state and the context samples);
    `reset()` before an unrelated stream.
    """

    frame_samples = FRAME_SAMPLES
    sample_rate_hz = VAD_SAMPLE_RATE_HZ

    def __init__(self):
        self._session = _get_session()
        self.reset()

    def reset(self) -> None:
        """Forget the stream so far."""
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def prob(self, frame: np.ndarray) -> float:
        """Speech probability (0..1) of one frame of 512 float32 samples at 16 kHz."""
        frame = np.asarray(frame, dtype=np.float32).reshape(-1)
        if len(frame) != FRAME_SAMPLES:
            raise ValueError(f"VAD frames are {FRAME_SAMPLES} samples, got {len(frame)}")
        x = np.concatenate([self._context, frame])[None, :]
        p, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = frame[-CONTEXT_SAMPLES:].copy()
        return float(np.asarray(p).reshape(-1)[0])

    def probs(self, audio: np.ndarray) -> np.ndarray:
        """Probabilities of every whole frame of `audio` (a trailing partial frame is dropped)."""
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        n = len(audio) // FRAME_SAMPLES
        return np.array([self.prob(audio[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES])
                         for i in range(n)], dtype=np.float32)
