"""How a round's process gives back the C heap's memory: three models and their working memory.

A round holds Whisper (CTranslate2), the sentence-embedding model and, for some personas, the
neural voice (onnxruntime) in one process, and each works in large short-lived buffers: a
synthesised piece needs ~35 MB per second of speech, a transcription tens of MB. glibc keeps
what a thread frees in that thread's heap, so `release_freed_memory()` hands it back to the
system (malloc_trim) after each reply.

Tried and measured, not kept (issue 15 note, 2026-12-02): glibc options set at the start of a
round. At most two heaps (M_ARENA_MAX=2) with blocks of 4 MiB or more mapped on their own
(M_MMAP_THRESHOLD) cut a Marcus round's sampled peak from 604-695 MB to 552-576 MB, but
Whisper then decoded a 3.8 s draft in 150-200 ms instead of 110-140 ms (fresh mappings are
paid in page faults), and the full benchmark's turn latency p50 rose from ~0.53-0.57 s to
0.60 s. A 32 MiB threshold kept the speed of decoding within ~10% but not the memory
(606-614 MB); lowering it only while the voice synthesises measured 555-573 MB, yet the
latency benchmark read p50 0.685 s on that build. Until that is understood, the heap keeps
glibc's defaults.
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    import ctypes

    # By soname, not ctypes.util.find_library: that forks `ldconfig -p`, and a fork of a
    # 500 MB process briefly doubles what a process-tree memory sample sees.
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


def release_freed_memory() -> None:
    """Give the heaps' freed memory back to the system (glibc malloc_trim; a few ms).

    Without it a round's memory only grows: each reply is synthesised in a thread of its own
    and the heaps keep what it frees (measured: a 12-reply round with the neural voice peaked
    at 943 MB, 357 MB with espeak-ng).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
