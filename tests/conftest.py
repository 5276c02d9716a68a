"""Shared fixtures: every test gets its own TRAINER_HOME; helpers to run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["virtual_audio"]  # the virtual speaker/microphone fixtures (issue 6)

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def meaning_cache(tmp_path_factory) -> Path:
    """One cache of persona example vectors for the whole run (derived data, by file hash)."""
    return tmp_path_factory.mktemp("trainer_cache")


@pytest.fixture(autouse=True)
def trainer_cache(meaning_cache, monkeypatch) -> Path:
    monkeypatch.setenv("TRAINER_CACHE", str(meaning_cache))
    return meaning_cache


@pytest.fixture(autouse=True)
def trainer_home(tmp_path_factory, monkeypatch) -> Path:
    """Point TRAINER_HOME at a fresh temp dir so no test touches the user's data."""
    home = tmp_path_factory.mktemp("trainer_home")
    monkeypatch.setenv("TRAINER_HOME", str(home))
    return home


def run_cli(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 300):
    """Run `python -m trainer ARGS` in a subprocess, as a user would; returns CompletedProcess."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.fixture
def no_portaudio_env(tmp_path) -> dict:
    """Env for a subprocess on which PortAudio looks missing, as without libportaudio2.

    A sitecustomize makes ctypes unable to find the library, so sounddevice's import raises
    OSError exactly as it does on such a machine.
    """
    site = tmp_path / "no_portaudio"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import ctypes.util\n"
        "_find = ctypes.util.find_library\n"
        "ctypes.util.find_library = lambda n: None if 'portaudio' in n else _find(n)\n")
    return {"PYTHONPATH": str(site)}


@pytest.fixture
def cli():
    """The run_cli helper as a fixture."""
    return run_cli


@pytest.fixture(scope="session")
def meaning():
    """The real sentence embedder, loaded once for the run (a test module may have its own)."""
    from trainer.meaning import shared

    return shared()
