"""How a round's process uses the C heap: three models and their working memory in one process.

A round holds Whisper (CTranslate2), the sentence-embedding model and, for some personas, the
neural voice (onnxruntime) in one process, and each works in large short-lived buffers: a
synthesised piece needs ~35 MB per second of speech, a transcription tens of MB. With glibc's
defaults those buffers come from per-thread heaps (up to 8 per core) and from a heap whose
large-block threshold grows after each large free, so freed blocks stay with the process and
the next piece, in another thread, asks for new ones: the round's peak is the sum of several
pieces' working memory, not the largest one.

`tune_heap()` sets two glibc options at the start of a round (`synthesising()` lowers the
second to 4 MiB while the neural voice synthesises): at most two heaps
(M_ARENA_MAX), and blocks of 4 MiB or more always mapped on their own (a fixed M_MMAP_THRESHOLD)
so they go back to the system the moment they are freed. Measured on a Marcus round with the
neural voice (8 replies, 2 cores, peak of the sampled RSS): 633-695 MB with the defaults,
556-558 MB with both options (environment variables, same values); a 2 s piper piece's
working memory +82 -> +64 MB (+39 MB at a 128 KiB threshold, which cost speed: every buffer
then is a fresh mapping). Speed of transcription and synthesis unchanged within the noise of
a busy machine; the turn latency is measured in `scripts/bench`.

`release_freed_memory()` hands what the heaps still keep back to the system (malloc_trim)
after a reply. Neither does anything off glibc.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest: models and Whisper's buffers in the heap
# While the neural voice synthesises, blocks of 4 MiB or more are mapped on their own, so a
# piece's working memory goes back to the system the moment it is freed. Not for the whole
# round: Whisper (its weights loaded into small mappings, its 4-16 MB buffers re-mapped each
# window) then decodes ~40% slower (a 3.8 s draft 110 -> 150-200 ms), and the turn latency
# waits for the draft.
SYNTH_THRESHOLD_BYTES = 4 << 20

_state = {"tuned": False, "decoding": 0}
_state_lock = threading.Lock()


@lru_cache(maxsize=1)
def _libc():
    import ctypes

    # By soname, not ctypes.util.find_library: that forks `ldconfig -p`, and a fork of a
    # 500 MB process briefly doubles what a process-tree memory sample sees.
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:  # not glibc: nothing to do
        return None


def tune_heap() -> bool:
    """Set the heap options above for the rest of the process (True if they were set).

    An option the user set in the environment (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_) wins.
    """
    libc = _libc()
    if libc is None:
        return False
    ok = True
    if "MALLOC_ARENA_MAX" not in os.environ:
        ok = bool(libc.mallopt(M_ARENA_MAX, ARENAS)) and ok
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        with _state_lock:
            ok = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and ok
            _state["tuned"] = True
    return ok


@contextmanager
def synthesising() -> Iterator[None]:
    """While a voice synthesises (any thread): large blocks mapped on their own (see above);
    back to `tune_heap`'s threshold when no synthesis runs."""
    libc = _libc()
    with _state_lock:
        _state["decoding"] += 1
        if _state["decoding"] == 1 and _state["tuned"] and libc is not None:
            libc.mallopt(M_MMAP_THRESHOLD, SYNTH_THRESHOLD_BYTES)
    try:
        yield
    finally:
        with _state_lock:
            _state["decoding"] -= 1
            if _state["decoding"] == 0 and _state["tuned"] and libc is not None:
                libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)


def release_freed_memory() -> None:
    """Give the heaps' freed memory back to the system (glibc malloc_trim; a few ms).

    Without it a round's memory only grows: each reply is synthesised in a thread of its own
    and the heaps keep what it frees (measured before `tune_heap`: a 12-reply round with the
    neural voice peaked at 943 MB, 357 MB with espeak-ng).
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
