"""pytest fixtures for the virtual speaker and microphone (a private PulseAudio daemon).

The daemon code lives in benchmarks/pulse.py, shared with the latency benchmark. Fixtures:

- `virtual_audio` (session): the daemon, started once.
- `mic`: the same daemon made active for one test (this process's PortAudio points at it;
  undone afterwards), cleared (no leftover clips, loopback off). Speak into the microphone
  with `mic.say(audio)`, record the speaker with `mic.speaker_audio(t0, t1)`.
- `private_audio`: a daemon of the test's own, for tests that kill it (a device unplugged).

Run a CLI subprocess against it with `cli(..., env=virtual_audio.env())`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.pulse import VirtualAudio  # noqa: E402


@pytest.fixture(scope="session")
def virtual_audio():
    """One private PulseAudio daemon for the session (about 0.5 s to start).

    It is not active by itself: use `mic`, which points this process's PortAudio at it for
    one test only, so other tests (and the CLI subprocesses they start) see the machine as it
    is.
    """
    va = VirtualAudio()
    va.start()
    try:
        yield va
    finally:
        va.stop()


@pytest.fixture
def mic(virtual_audio):
    """The session's virtual audio, active and reset for this test."""
    virtual_audio.clear()
    virtual_audio.set_loopback(False)
    virtual_audio.activate()
    try:
        yield virtual_audio
    finally:
        virtual_audio.deactivate()
        virtual_audio.clear()
        virtual_audio.set_loopback(False)


@pytest.fixture
def private_audio():
    """A daemon for this test alone, active in this process (the test may kill it)."""
    va = VirtualAudio()
    va.start()
    va.activate()
    try:
        yield va
    finally:
        va.stop()  # also deactivates
