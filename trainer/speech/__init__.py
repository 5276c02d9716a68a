"""The edge to devices and models: microphone, playback, TTS, ASR engines.

Heavy and system libraries are imported here, where they are used, and a failure to import
them becomes a one-line `DependencyError` that says how to fix it.
"""

from __future__ import annotations

from trainer.errors import DependencyError

PORTAUDIO_HINT = (
    "run scripts/setup, or `sudo apt-get install libportaudio2`; or practise with --input text"
)


def import_sounddevice():
    """Import sounddevice, turning a missing PortAudio library into a clear error."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises OSError('PortAudio library not found')
        raise DependencyError(f"PortAudio not found ({exc})", hint=PORTAUDIO_HINT) from exc
    except ImportError as exc:
        raise DependencyError(
            "the Python package sounddevice is not installed", hint="run scripts/setup"
        ) from exc
    return sounddevice
