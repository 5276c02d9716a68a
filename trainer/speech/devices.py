"""Audio devices as PortAudio sees them."""

from __future__ import annotations

from dataclasses import dataclass

from trainer.errors import DeviceError
from trainer.speech import import_sounddevice


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate_hz: float
    is_default_input: bool = False
    is_default_output: bool = False


def list_devices() -> list[Device]:
    """All devices PortAudio knows, with which ones are the defaults."""
    sd = import_sounddevice()
    try:
        raw = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise DeviceError(f"PortAudio could not list devices ({exc})",
                          hint="check the sound system, or practise with --input text") from exc
    out = []
    for d in raw:
        out.append(Device(
            index=d["index"],
            name=d["name"],
            hostapi=hostapis[d["hostapi"]]["name"],
            max_input_channels=d["max_input_channels"],
            max_output_channels=d["max_output_channels"],
            default_samplerate_hz=d["default_samplerate"],
            is_default_input=d["index"] == default_in,
            is_default_output=d["index"] == default_out,
        ))
    return out
