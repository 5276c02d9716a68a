"""pytest fixtures for the virtual speaker and microphone (a private PulseAudio daemon).

The daemon code lives in benchmarks/pulse.py, shared with the latency benchmark. Fixtures:

- `virtual_audio` (session): the daemon, started once, with this process's PortAudio pointed
  at it; each test using `mic` gets it cleared (no leftover clips, loopback off).
- `mic`: the same object, for tests that speak into the microphone (`mic.say(audio)`) and
  record the speaker (`mic.speaker_audio(t0, t1)`).
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
    """One private PulseAudio daemon for the session (about 0.5 s to start)."""
    va = VirtualAudio()
    va.start()
    va.activate()
    try:
        yield va
    finally:
        va.stop()


@pytest.fixture
def mic(virtual_audio):
    """The session's virtual audio, reset for this test."""
    virtual_audio.clear()
    virtual_audio.set_loopback(False)
    virtual_audio.activate()  # another fixture may have re-initialised PortAudio
    yield virtual_audio
    virtual_audio.clear()
    virtual_audio.set_loopback(False)


@pytest.fixture
def private_audio(virtual_audio):
    """A daemon for this test alone (it may kill it); the session's comes back afterwards."""
    va = VirtualAudio()
    va.start()
    va.activate()
    try:
        yield va
    finally:
        va.stop()
        virtual_audio.activate()
