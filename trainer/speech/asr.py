"""Speech -> text on this machine: openai-whisper and faster-whisper behind one interface.

    tr = load_transcriber()                 # default engine, bundled tiny.en; loads + warms up once
    t = tr.transcribe(audio, sample_rate_hz=16000)   # -> trainer.types.Transcript

Both engines decode the same way: English only, greedy, no previous-text conditioning, word
timestamps. Two additions around the libraries:

- Short replies run on a short encoder window. Whisper pads every window to 30 s, and the
  encoder's cost is mostly that padding for a 5 s reply. We cut the padded window to
  max(speech + `tail_s`, `min_window_s`). Cutting to the speech alone makes tiny.en loop and
  repeat itself (measured: WER 6.6% -> 122% on 36 espeak-ng clips); keeping >= 10 s with >= 3 s
  of padding after the speech kept the WER (9.2% -> 9.7% on 72 clips of 1-6 s, 24 phrases x 3
  voices; 6.1% -> 5.8% on 12 clips of 7-16 s) and cut faster-whisper's median per clip from
  0.83 s to 0.23 s. Full 30 s windows (long audio) are untouched.
- Hallucination guard: audio without speech (silence, noise) is answered with an empty
  transcript before Whisper sees it (Silero VAD, shipped with faster-whisper, used for both
  engines); Whisper's stock phrases ("Thank you.", "you") are dropped when the VAD heard
  too little voice for them. That rests on the VAD's evidence, not on Whisper's own
  `no_speech_prob`: a real "Thank you." gave no_speech 0.18-0.42 (espeak-ng, 5 voices,
  120-230 wpm), so the old "drop above 0.3" guard dropped it on an Intel AVX-512 machine and
  kept it on AMD (issue 14). The VAD measured 0.32-0.70 s of voiced frames in those same
  clips, and 0.10-0.13 s in a 0.1 s speech fragment Whisper heard as "Bye.".
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from trainer.errors import DependencyError, ModelError, UsageError
from trainer.speech.audio_io import to_mono_16k
from trainer.speech.memory import transcribing
from trainer.speech.models import ModelRef, resolve_model
from trainer.types import SAMPLE_RATE_HZ, Transcript, Word

ENGINES = ("faster-whisper", "whisper")
# The faster engine on benchmarks/transcription.py on this 2-core machine (see README).
DEFAULT_ENGINE = "faster-whisper"

Progress = Callable[[str], None] | None

# Whisper's stock phrases on silence and noise (its training data's subtitle credits).
KNOWN_HALLUCINATIONS = frozenset({
    "you", "thank you", "thank you very much", "thanks", "thanks for watching",
    "thank you for watching", "thank you so much for watching", "please subscribe", "bye",
})

_MEL_FRAMES_PER_S = 100  # Whisper's mel hop is 10 ms


@dataclass(frozen=True)
class AsrOptions:
    """How both engines decode. Defaults are what the tests and benchmark measured."""

    beam_size: int = 1  # 1 = greedy
    min_window_s: float = 10.0  # shortest encoder window for a short reply (see module doc)
    truncation_gap_s: float = 1.0  # words ending this long before the audio: redo, full window
    tail_s: float = 3.0  # padding kept after the speech inside a shortened window
    cpu_threads: int = 0  # faster-whisper threads; 0 = min(4, cores)
    # openai-whisper's encoder threads; 0 = 2 when a second core is idle, else 1. Its decoder
    # always runs on one: one-token steps gain nothing from threads, and on a busy 2-core
    # machine torch's thread hand-offs made 2 threads 1.9x (encoder) to 3.7x (decoding)
    # slower than 1 (measured with other jobs running; faster-whisper barely cared).
    torch_threads: int = 0
    compute_type: str = "int8"  # faster-whisper weights: int8 measured 1.2-2x faster than float32
    vad_threshold: float = 0.5  # Silero speech probability that counts as speech
    vad_pad_s: float = 0.4  # audio kept around the speech VAD found
    min_speech_s: float = 0.15  # less speech than this (a click) counts as none
    silence_peak: float = 1e-3  # peak amplitude below this is silence without asking VAD
    no_speech_threshold: float = 0.6  # Whisper's own per-window "no speech" filter
    logprob_threshold: float = -1.0  # ...unless the text is this likely (library defaults)
    # A stock phrase (KNOWN_HALLUCINATIONS) is kept only with at least this much voice: VAD
    # frames >= vad_threshold, in seconds. Measured (module doc): real ones 0.32 s and up
    # ("Bye." at 230 wpm: 0.16 s), a fragment's hallucination 0.10-0.13 s.
    hallucination_min_voiced_s: float = 0.2


@dataclass
class _Segment:
    text: str
    words: list[Word] = field(default_factory=list)
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0


# Set per thread while a reply is decoded again with Whisper's full 30 s window (see
# Transcriber._decode_checked): drafts and final transcriptions may run in two threads at once.
_full_window = threading.local()
# A beam width asked for by one transcribe() call (see Transcriber.transcribe), per thread.
_beam = threading.local()


def _beam_size(options: AsrOptions) -> int:
    return getattr(_beam, "size", None) or options.beam_size


def voiced_s(audio: np.ndarray, options: AsrOptions) -> float:
    """Seconds of `audio` (16 kHz) whose Silero VAD frames score >= options.vad_threshold.

    The same model and batched call faster-whisper's own VAD filter uses (512-sample frames).
    """
    from faster_whisper.vad import get_vad_model

    frame = 512
    if len(audio) == 0:
        return 0.0
    padded = np.pad(audio, (0, (-len(audio)) % frame))
    probs = np.asarray(get_vad_model()(padded)).reshape(-1)
    return float(np.count_nonzero(probs >= options.vad_threshold)) * frame / SAMPLE_RATE_HZ


def window_frames(content_frames: int, total_frames: int, options: AsrOptions) -> int:
    """Encoder frames to keep for a window whose first `content_frames` are audio."""
    if getattr(_full_window, "on", False):
        return total_frames
    keep = max(content_frames + round(options.tail_s * _MEL_FRAMES_PER_S),
               round(options.min_window_s * _MEL_FRAMES_PER_S))
    keep = min(total_frames, keep)
    return keep + keep % 2  # the encoder's stride-2 conv halves it


def normalized(text: str) -> str:
    """Lowercase words without punctuation, for comparing phrases."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


class Transcriber:
    """A loaded, warmed-up Whisper engine. Use load_transcriber() to make one."""

    engine: str = ""

    def __init__(self, ref: ModelRef, options: AsrOptions, progress: Progress = None):
        self.model_name = ref.name
        self.options = options
        self.load_seconds = 0.0

    def transcribe(self, audio: np.ndarray, sample_rate_hz: int = SAMPLE_RATE_HZ,
                   beam_size: int | None = None) -> Transcript:
        """Transcribe one utterance (any length; mono or (frames, channels); any rate).

        Returns a Transcript with empty text when the audio holds no speech. `beam_size`
        overrides options.beam_size for this call only (the end of turn's second opinion,
        trainer.speech.sources.AdaptiveEndOfTurn).
        """
        _beam.size = beam_size
        try:
            with transcribing():  # see trainer/speech/memory.py
                return self._transcribe_marked(audio, sample_rate_hz)
        finally:
            _beam.size = None

    def _transcribe_marked(self, audio: np.ndarray, sample_rate_hz: int) -> Transcript:
        started = time.perf_counter()
        audio = to_mono_16k(audio, sample_rate_hz)
        duration_s = len(audio) / SAMPLE_RATE_HZ
        segments: list[_Segment] = []
        span = self._speech_span(audio)
        if span is not None:
            start, end = span
            segments = self._decode_checked(audio[start:end])
            offset_s = start / SAMPLE_RATE_HZ
            for seg in segments:
                seg.words = [Word(w.text, round(w.start_s + offset_s, 3),
                                  round(w.end_s + offset_s, 3)) for w in seg.words]
            segments = self._drop_hallucination(segments, audio[start:end])
        text = " ".join(s.text.strip() for s in segments if s.text.strip())
        return Transcript(
            text=text,
            words=[w for s in segments for w in s.words],
            duration_s=round(duration_s, 3),
            engine=self.engine,
            model=self.model_name,
            seconds_taken=round(time.perf_counter() - started, 4),
        )

    def _decode_checked(self, audio: np.ndarray) -> list[_Segment]:
        """Decode in the short window; if that stopped well before the speech did, redo it.

        Rarely the shortened window makes tiny.en end the transcript early: a 5 s reply
        captured through the virtual microphone with a 0.1 s dropout came out as "I am
        looking for my first J" in the short window and whole in the full 30 s one (both
        engines). The full window costs ~2x, so it is only paid when the words stop more than
        `truncation_gap_s` before the end of the audio (which is padded by vad_pad_s).
        """
        segments = self._decode(audio)
        audio_s = len(audio) / SAMPLE_RATE_HZ
        words = [w for seg in segments for w in seg.words]
        last_end = words[-1].end_s if words else 0.0
        if audio_s - self.options.vad_pad_s - last_end <= self.options.truncation_gap_s:
            return segments
        _full_window.on = True
        try:
            again = self._decode(audio)
        finally:
            _full_window.on = False
        again_words = sum(len(seg.words) for seg in again)
        return again if again_words > len(words) else segments

    # --- guard -----------------------------------------------------------------------------
    def _speech_span(self, audio: np.ndarray) -> tuple[int, int] | None:
        """Sample range from the first to the last speech (padded), or None without speech."""
        o = self.options
        if len(audio) == 0 or float(np.max(np.abs(audio))) < o.silence_peak:
            return None
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        chunks = get_speech_timestamps(audio, VadOptions(
            threshold=o.vad_threshold, min_speech_duration_ms=int(o.min_speech_s * 1000),
            speech_pad_ms=int(o.vad_pad_s * 1000)))
        if not chunks:
            return None
        return max(0, chunks[0]["start"]), min(len(audio), chunks[-1]["end"])

    def _drop_hallucination(self, segments: list[_Segment], audio: np.ndarray) -> list[_Segment]:
        """Drop a transcript that is only a stock phrase when the VAD heard too little voice
        in `audio` for it (see module doc). Other transcripts pass untouched."""
        text = normalized(" ".join(s.text for s in segments))
        if text not in KNOWN_HALLUCINATIONS:
            return segments
        return segments if voiced_s(audio, self.options) >= \
            self.options.hallucination_min_voiced_s else []

    # --- engine ----------------------------------------------------------------------------
    def _decode(self, audio: np.ndarray) -> list[_Segment]:
        raise NotImplementedError

    def _warm_up(self) -> None:
        """Run every stage once so the first real reply is not slow (lazy inits, allocations)."""
        from faster_whisper.vad import get_vad_model

        get_vad_model()
        rng = np.random.default_rng(0)
        t = np.arange(SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
        tone = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(len(t))
        self._decode(tone.astype(np.float32))


class FasterWhisperTranscriber(Transcriber):
    """faster-whisper (CTranslate2, int8 on the CPU)."""

    engine = "faster-whisper"

    def __init__(self, ref: ModelRef, options: AsrOptions, progress: Progress = None):
        super().__init__(ref, options, progress)
        from trainer.speech.models import faster_whisper_model_dir

        path = faster_whisper_model_dir(ref, progress)
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise DependencyError("the Python package faster-whisper is not installed",
                                  hint="run scripts/setup") from exc
        threads = options.cpu_threads or min(4, os.cpu_count() or 1)
        try:
            self._model = WhisperModel(path, device="cpu", compute_type=options.compute_type,
                                       cpu_threads=threads)
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"faster-whisper cannot load {ref.name}: {exc}",
                             hint="pass a CTranslate2 Whisper model folder") from exc
        # faster-whisper pads each window's features with zeros to 30 s and calls
        # self.encode(window); shorten the window there (see module doc).
        plain_encode = self._model.encode

        def encode(features: np.ndarray):
            content = _content_frames(features)
            keep = window_frames(content, features.shape[-1], self.options)
            return plain_encode(np.ascontiguousarray(features[..., :keep]))

        self._model.encode = encode

    def _decode(self, audio: np.ndarray) -> list[_Segment]:
        o = self.options
        segments, _info = self._model.transcribe(
            audio, language="en", task="transcribe", beam_size=_beam_size(o), best_of=1,
            temperature=0.0, condition_on_previous_text=False, word_timestamps=True,
            vad_filter=False, no_speech_threshold=o.no_speech_threshold,
            log_prob_threshold=o.logprob_threshold)
        return [
            _Segment(
                text=s.text,
                words=[Word(w.word.strip(), float(w.start), float(w.end)) for w in s.words or []
                       if w.word.strip()],
                no_speech_prob=float(s.no_speech_prob),
                avg_logprob=float(s.avg_logprob),
            )
            for s in segments
        ]


def _content_frames(features: np.ndarray) -> int:
    """Frames before the zero padding both libraries append to a window's log-mel features.

    A real frame is never all zeros: log-mel values are clamped to (max - 8) and shifted, so
    exact 0.0 in every mel bin only comes from the padding.
    """
    nonzero = np.flatnonzero(np.any(features != 0, axis=tuple(range(features.ndim - 1))))
    return int(nonzero[-1]) + 1 if len(nonzero) else features.shape[-1]


class WhisperTranscriber(Transcriber):
    """openai-whisper (PyTorch, float32 on the CPU)."""

    engine = "whisper"

    def __init__(self, ref: ModelRef, options: AsrOptions, progress: Progress = None):
        super().__init__(ref, options, progress)
        try:
            import torch  # noqa: F401
            import whisper  # noqa: F401
        except ImportError as exc:
            raise DependencyError("the Python package openai-whisper is not installed",
                                  hint="run scripts/setup") from exc
        from trainer.speech.convert import load_whisper_checkpoint
        from trainer.speech.models import whisper_checkpoint_path

        self._model = load_whisper_checkpoint(whisper_checkpoint_path(ref, progress))
        self._encoder_memo = _shorten_whisper_encoder(self._model.encoder, options)
        # Every decoding step multiplies by the transposed token embedding (51864 x 384 for the
        # vocabulary logits). Store the weight column-major so that transpose is contiguous:
        # measured 6.5 ms -> 3.2 ms per step on one thread, same numbers, same memory.
        emb = self._model.decoder.token_embedding
        emb.weight.data = emb.weight.data.t().contiguous().t()

    def _warm_up(self) -> None:
        super()._warm_up()
        import torch
        import whisper.timing as timing

        # Word timestamps use a numba-compiled DTW. Compiling it took 2.0 s in every process
        # (the first reply, before this warm-up); whisper does not let numba cache it, so we
        # re-jit the same Python functions with cache=True: 0.3 s from the second process on.
        try:
            import numba

            if not getattr(timing.dtw_cpu, "_trainer_cached", False):
                timing.backtrace = numba.jit(nopython=True, cache=True)(timing.backtrace.py_func)
                timing.dtw_cpu = numba.jit(nopython=True, parallel=True, cache=True)(
                    timing.dtw_cpu.py_func)
                timing.dtw_cpu._trainer_cached = True
        except (ImportError, AttributeError):  # another whisper version: compile uncached
            pass
        timing.dtw(torch.rand(8, 16))

    def _decode(self, audio: np.ndarray) -> list[_Segment]:
        import torch

        previous_threads = torch.get_num_threads()
        torch.set_num_threads(1)  # the decoder's threads; the encoder sets its own
        try:
            result = self._transcribe(audio)
        finally:
            torch.set_num_threads(previous_threads)
            self._encoder_memo.clear()  # reuse is only for the alignment within one call
        return [
            _Segment(
                text=s["text"],
                words=[Word(w["word"].strip(), float(w["start"]), float(w["end"]))
                       for w in s.get("words", []) if w["word"].strip()],
                no_speech_prob=float(s["no_speech_prob"]),
                avg_logprob=float(s["avg_logprob"]),
            )
            for s in result["segments"]
        ]

    def _transcribe(self, audio: np.ndarray) -> dict:
        import torch

        o = self.options
        with torch.inference_mode():  # measured ~5% faster than whisper's own no_grad
            return self._model.transcribe(
                audio, language="en", task="transcribe", temperature=0.0,
                beam_size=_beam_size(o) if _beam_size(o) > 1 else None, best_of=None,
                condition_on_previous_text=False, word_timestamps=True, fp16=False,
                verbose=None, no_speech_threshold=o.no_speech_threshold,
                logprob_threshold=o.logprob_threshold)


def _encoder_threads(options: AsrOptions) -> int:
    if options.torch_threads:
        return options.torch_threads
    cores = os.cpu_count() or 1
    try:
        # the 1-minute load average counts runnable jobs, including ours (about 1)
        idle_cores = cores - os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows)
        idle_cores = cores - 1
    return 2 if cores >= 2 and idle_cores >= 1.5 else 1


def _shorten_whisper_encoder(encoder, options: AsrOptions) -> list:
    """Make openai-whisper's AudioEncoder run on a shortened window (see module doc).

    Its forward asserts a 1500-frame input; ours slices the positional embedding instead.
    The last output is reused when the same window comes again: whisper's word alignment
    runs the encoder a second time on the window it has just decoded. Returns that memo
    (a list) so the caller can clear it after each transcription.
    """
    import torch
    import torch.nn.functional as F

    last: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(mel: torch.Tensor) -> torch.Tensor:
        if last and last[0][0].shape == mel.shape and torch.equal(last[0][0], mel):
            return last[0][1]
        keep = window_frames(_content_frames(mel.detach().numpy()), mel.shape[-1], options)
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(_encoder_threads(options))
        try:
            x = F.gelu(encoder.conv1(mel[..., :keep]))
            x = F.gelu(encoder.conv2(x)).permute(0, 2, 1)
            x = (x + encoder.positional_embedding[: x.shape[1]]).to(x.dtype)
            for block in encoder.blocks:
                x = block(x)
            out = encoder.ln_post(x)
        finally:
            torch.set_num_threads(previous_threads)
        last[:] = [(mel.clone(), out)]
        return out

    encoder.forward = forward  # nn.Module.__call__ looks forward up on the instance first
    return last


_ENGINE_CLASSES: dict[str, type[Transcriber]] = {
    "faster-whisper": FasterWhisperTranscriber,
    "whisper": WhisperTranscriber,
}


def load_transcriber(
    engine: str | None = None,
    model: str | None = None,
    progress: Progress = None,
    options: AsrOptions | None = None,
) -> Transcriber:
    """Load a Whisper engine once and warm it up.

    Args:
        engine: "faster-whisper" or "whisper"; None = DEFAULT_ENGINE.
        model: None/"tiny.en" (bundled), a model name, or a path (CT2 folder or .pt file).
        progress: called with one-line status messages while loading (e.g. to print on stderr).
        options: decoding options; None = AsrOptions().

    Raises:
        UsageError: unknown engine. ModelError: model missing, offline, or unreadable.
    """
    engine = engine or DEFAULT_ENGINE
    if engine not in _ENGINE_CLASSES:
        raise UsageError(f"unknown engine {engine!r}", hint=f"use one of: {', '.join(ENGINES)}")
    ref = resolve_model(model)
    started = time.perf_counter()
    if progress:
        where = " (bundled)" if ref.kind == "bundled" else ""
        progress(f"loading {engine} model {ref.name}{where}...")
    transcriber = _ENGINE_CLASSES[engine](ref, options or AsrOptions(), progress)
    transcriber._warm_up()
    transcriber.load_seconds = time.perf_counter() - started
    if progress:
        progress(f"{engine} {ref.name} ready in {transcriber.load_seconds:.1f} s")
    return transcriber
