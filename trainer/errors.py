"""Errors the library raises; only the CLI turns them into one-line messages and exit codes."""

from __future__ import annotations


class TrainerError(Exception):
    """Base class. `exit_code` follows the CLI contract: 1 found a problem, 2 usage/dependency."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(TrainerError):
    """The command was called in a way that cannot work."""

    exit_code = 2


class DependencyError(TrainerError):
    """A system library or Python package is missing; the hint says how to install it."""

    exit_code = 2


class DeviceError(TrainerError):
    """No audio device, or a device failed (unplugged mid-round)."""

    exit_code = 2


class ModelError(TrainerError):
    """A speech model could not be found, downloaded or loaded."""

    exit_code = 2


class PersonaError(TrainerError):
    """A persona file is invalid. `problems` holds one line per problem (file, field, expected)."""

    def __init__(self, message: str, problems: list[str] | None = None, hint: str | None = None):
        super().__init__(message, hint)
        self.problems = problems or [message]


class AudioError(TrainerError):
    """An audio file is unreadable or empty."""


class TranscriptError(TrainerError):
    """A transcript file could not be parsed."""


class StoreError(TrainerError):
    """A session could not be read or written."""
