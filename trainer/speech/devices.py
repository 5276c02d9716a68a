"""Audio devices as PortAudio sees them, and quieting what PortAudio and ALSA print."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from dataclasses import dataclass

from trainer.errors import DeviceError, TrainerError
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


DEVICE_HINT = "see `trainer devices` for the names and numbers, or practise with --input text"


def resolve_device(spec: int | str | None, kind: str = "input") -> int | None:
    """The PortAudio index of a device given by number or (part of its) name.

    Args:
        spec: an index (int or digits), a name or a case-insensitive part of one, or None for
            the default device.
        kind: "input" or "output": the device must have channels of that kind.

    Returns None for the default device (after checking one exists). Raises DeviceError naming
    the candidates when the spec matches none or several.
    """
    if kind not in ("input", "output"):
        raise ValueError(f"kind must be input or output, not {kind!r}")
    devs = list_devices()
    has = (lambda d: d.max_input_channels > 0) if kind == "input" else \
        (lambda d: d.max_output_channels > 0)
    usable = [d for d in devs if has(d)]
    if spec is None or (isinstance(spec, str) and spec.strip() in ("", "default")):
        if not usable:
            raise DeviceError(f"no audio {kind} device found",
                              hint="plug one in, or practise with --input text"
                              if kind == "input" else "plug one in, or use --no-voice")
        return None
    if isinstance(spec, int) or spec.strip().isdigit():
        index = int(spec)
        match = [d for d in devs if d.index == index]
        if not match:
            raise DeviceError(f"no audio device number {index}", hint=DEVICE_HINT)
        if not has(match[0]):
            raise DeviceError(f"device {index} ({match[0].name}) has no {kind} channels",
                              hint=DEVICE_HINT)
        return index
    want = spec.strip().lower()
    exact = [d for d in usable if d.name.lower() == want]
    if exact:
        return exact[0].index
    partial = [d for d in usable if want in d.name.lower()]
    if len(partial) == 1:
        return partial[0].index
    if not partial:
        names = ", ".join(f"{d.index} {d.name}" for d in usable) or "none"
        raise DeviceError(f"no {kind} device matches {spec!r} (have: {names})", hint=DEVICE_HINT)
    names = ", ".join(f"{d.index} {d.name}" for d in partial)
    raise DeviceError(f"{spec!r} matches several {kind} devices: {names}",
                      hint="give the number instead (see `trainer devices`)")


def default_input_available() -> bool:
    """True if PortAudio has a default input device (so `--input mic` can work)."""
    try:
        return any(d.is_default_input and d.max_input_channels > 0 for d in list_devices())
    except TrainerError:
        return False


def default_output_available() -> bool:
    """True if PortAudio has a default output device (so the persona can speak)."""
    try:
        return any(d.is_default_output and d.max_output_channels > 0 for d in list_devices())
    except TrainerError:
        return False


_alsa_handler = None  # keeps the ctypes callback alive


def quiet_alsa_errors() -> None:
    """Stop alsa-lib printing its own messages ("underrun occurred") on our stderr.

    PortAudio reports real failures through its API; alsa-lib's chatter would only mess up
    the terminal. Harmless where ALSA is absent.
    """
    global _alsa_handler
    if _alsa_handler is not None:
        return
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("asound")
    if not name:
        return
    try:
        lib = ctypes.CDLL(name)
        handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                        ctypes.c_int, ctypes.c_char_p)
        _alsa_handler = handler_type(lambda *args: None)
        lib.snd_lib_error_set_handler(_alsa_handler)
    except (OSError, AttributeError):
        _alsa_handler = None


# PortAudio's ALSA host API prints its internal checks straight to stderr (fprintf) when a
# device goes away, e.g. "Expression 'PaAlsaStream_WaitForFrames(...)' failed in
# 'src/hostapi/alsa/pa_linux_alsa.c', line: 4285". Debian's build does not export
# PaUtil_SetDebugPrintFunction, so those lines are filtered out of our stderr instead; the
# failure itself reaches us through the API and is reported as one DeviceError line.
_PORTAUDIO_NOISE = re.compile(rb"^Expression '.*' failed in 'src/.*', line: \d+\s*$")
_NOISE_START = b"Expression '"


@contextlib.contextmanager
def portaudio_noise_filtered():
    """Route fd 2 through a filter that drops PortAudio's internal messages for the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (e.g. embedded): nothing to filter
        yield
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)

    def pump() -> None:
        # Chunks, not lines: a prompt without a newline (input() writes it to stderr) must
        # show at once. Only text that may still become a PortAudio line is held back.
        pending = b""
        while chunk := os.read(read_fd, 4096):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            out = b"".join(ln + b"\n" for ln in lines if not _PORTAUDIO_NOISE.match(ln + b"\n"))
            maybe_noise = pending[:len(_NOISE_START)] == _NOISE_START[:len(pending)]
            if pending and not maybe_noise:
                out, pending = out + pending, b""
            if out:
                os.write(saved, out)
        if pending:
            os.write(saved, pending)
        os.close(read_fd)

    thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the pipe's last write end: the pump sees EOF
        thread.join(1.0)
        os.close(saved)
