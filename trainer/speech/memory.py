"""How a round's process uses the C heap: three models and their working memory in one process.

A round holds Whisper (CTranslate2), the sentence-embedding model and, for some personas, the
neural voice (onnxruntime) in one process, and each works in large short-lived buffers: a
synthesised piece needs ~35 MB per second of speech (+30 MB for 5 words, +48 MB for 7, +57 MB
for 9, measured in one process), a transcription +20-40 MB. With glibc's defaults those
buffers come from per-thread heaps (up to 8 per core) whose large-block threshold grows after
each large free, so freed blocks stay with the process and the next piece, in another thread,
asks for new ones: the round's peak is the sum of several pieces' working memory, not the
largest one. `release_freed_memory()` hands what the heaps keep back to the system
(malloc_trim) after a reply.

A round with the neural voice also calls `tune_heap()` as the voice starts loading: at most
two heaps (M_ARENA_MAX) and a fixed 32 MiB large-block threshold, lowered to 4 MiB while the
voice synthesises (`synthesising()`), so a piece's working memory goes back to the system the
moment it is freed. Measured on a Marcus round with the neural voice (8 replies, 2 cores,
sampled peak RSS, issue 15 notes): 620-706 MB with glibc's defaults in six runs; one arena
alone 599 MB, two 636 MB; the tuned heap 556-590 MB, 557-570 MB with the preparing thread
waiting for Whisper (tts.NeuralVoice.prepare); the full bench 562 MB.
Not for the whole round and not for espeak-ng rounds (their peak is ~530 MB untuned): with a
4 MiB threshold throughout, Whisper (its 4-16 MB buffers re-mapped each window) decoded a 3.8 s
draft in 150-200 ms instead of 110-140 ms, and the turn latency waits for the draft.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest: models and Whisper's buffers in the heap
SYNTH_THRESHOLD_BYTES = 4 << 20  # while the neural voice synthesises (see above)

_state = {"tuned": False, "synthesising": 0, "transcribing": 0}
_state_lock = threading.Lock()


@cache
def _libc_function(name: str):
    """glibc's `name` (malloc_trim, mallopt), or None off glibc: nothing to do then."""
    import ctypes

    # By soname, not ctypes.util.find_library: that forks `ldconfig -p`, and a fork of a
    # 500 MB process briefly doubles what a process-tree memory sample sees.
    try:
        return getattr(ctypes.CDLL("libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def tune_heap() -> bool:
    """Set the heap options above for the rest of the process (True if they were set).

    An option the user set in the environment (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_) wins.
    """
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    ok = True
    if "MALLOC_ARENA_MAX" not in os.environ:
        ok = bool(mallopt(M_ARENA_MAX, ARENAS)) and ok
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        with _state_lock:
            ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and ok
            _state["tuned"] = True
    return ok


@contextmanager
def synthesising() -> Iterator[None]:
    """While a voice synthesises (any thread): large blocks mapped on their own once
    `tune_heap` ran; back to its threshold when no synthesis runs."""
    mallopt = _libc_function("mallopt")
    with _state_lock:
        _state["synthesising"] += 1
        if _state["synthesising"] == 1 and _state["tuned"] and mallopt is not None:
            mallopt(M_MMAP_THRESHOLD, SYNTH_THRESHOLD_BYTES)
    try:
        yield
    finally:
        with _state_lock:
            _state["synthesising"] -= 1
            if _state["synthesising"] == 0 and _state["tuned"] and mallopt is not None:
                mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


@contextmanager
def transcribing() -> Iterator[None]:
    """Marks a transcription in progress (any thread), for work that can wait (`transcribing_now`)."""
    with _state_lock:
        _state["transcribing"] += 1
    try:
        yield
    finally:
        with _state_lock:
            _state["transcribing"] -= 1


def transcribing_now() -> bool:
    """True while Whisper decodes: the neural voice's preparing thread waits then, so a
    draft neither shares the CPU with it nor adds its working memory to the draft's."""
    return _state["transcribing"] > 0


def release_freed_memory() -> None:
    """Give the heaps' freed memory back to the system (glibc malloc_trim; a few ms).

    Without it a round's memory only grows: each reply is synthesised in a thread of its own
    and the heaps keep what it frees (measured: a 12-reply round with the neural voice peaked
    at 943 MB, 357 MB with espeak-ng).
    """
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)
