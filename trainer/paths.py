"""Where data lives: $TRAINER_HOME if set, else the platform's user data dir."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Return (and create) the folder that holds sessions, audio and converted models."""
    home = os.environ.get("TRAINER_HOME")
    if home:
        path = Path(home).expanduser()
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("networking-trainer", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def personas_dir() -> Path:
    """The folder of shipped persona files (personas/ at the project root)."""
    return Path(__file__).resolve().parent.parent / "personas"
