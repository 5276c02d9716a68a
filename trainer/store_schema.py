"""The one schema for session data that comes in from outside or back from disk.

A session export (`trainer session import`) and every row the store reads back (rows written by
an older trainer, or edited by hand) go through these pydantic models: unknown keys are refused
(extra="forbid", like the persona files), types are strict (a metric value "lots" or a `text`
of null is refused, not coerced), sizes are bounded (text lengths, turn and word counts, the
free-form `meta` dicts), times are finite and within a day, and ids and turn indexes are plain
tokens, so nothing read here can name a path outside the data folder.

`read_export_bytes` bounds the read before parsing: a file larger than `MAX_EXPORT_BYTES` or
with more than `MAX_JSON_VALUES` values is refused before `json.loads` builds it (a 200 MB
export once took 1.5-4.9 GB), `/dev/zero` is refused after `MAX_EXPORT_BYTES`, and JSON nested
deeper than Python can parse is one line, not a RecursionError.

A refusal is one `StoreError` line naming the field, e.g.
`session export round.json: turns[3].end_s: expected a number <= 86400, got 1e+300`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, BinaryIO, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
)

from trainer.errors import StoreError

EXPORT_FORMAT = "networking-trainer-session"
EXPORT_VERSION = 1

# A 30-minute round with every user reply embedded as base64 WAV is ~40 MB; room for twice that.
MAX_EXPORT_BYTES = 96 * 1024 * 1024
# Values ("," "[" "{" bytes) counted before parsing: a real 30-minute export has ~50k; one
# million small values parse in ~0.5 s and ~200 MB, well below what a hostile file could cost.
MAX_JSON_VALUES = 1_000_000
MAX_TURNS = 10_000
MAX_WORDS = 20_000  # per turn
MAX_TEXT = 50_000  # characters in one turn's text (a 10-minute monologue is ~9,000)
MAX_SHORT = 200  # names, labels, phases, kinds
MAX_LONG = 4_000  # suggestions, anchors, error messages
MAX_TIME_S = 86_400.0  # one day on the round's clock
MAX_AUDIO_B64 = 64 * 1024 * 1024  # one turn's embedded WAV (base64 characters)
MAX_META_BYTES = 64 * 1024  # a free-form dict as JSON
MAX_META_DEPTH = 8

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FORBID = ConfigDict(extra="forbid", strict=True, frozen=True)


def is_token(value: Any) -> bool:
    """True for a plain id (letters, digits, _ and -, 1-64 characters): safe as a file name."""
    return isinstance(value, str) and TOKEN_RE.fullmatch(value) is not None


def _iso_time(v: str) -> str:
    try:
        datetime.fromisoformat(v)
    except ValueError:
        raise ValueError("expected an ISO 8601 time like 2026-11-22T01:45:00+00:00") from None
    return v


def _bounded_json(v: Any) -> Any:
    """A free-form value (meta, labels): plain JSON, finite numbers, bounded depth and size."""
    _depth(v, 0)
    try:  # json.dumps (in C) checks the types and finiteness and gives the size
        size = len(json.dumps(v, ensure_ascii=False, allow_nan=False))
    except ValueError:
        raise ValueError("expected finite numbers") from None
    except TypeError as exc:
        raise ValueError(f"expected plain JSON values ({exc})") from None
    if size > MAX_META_BYTES:
        raise ValueError(f"expected at most {MAX_META_BYTES} bytes of JSON, got {size}")
    return v


def _depth(v: Any, depth: int) -> None:
    """Refuse nesting deeper than MAX_META_DEPTH (only containers are visited: fast)."""
    if depth > MAX_META_DEPTH:
        raise ValueError(f"expected at most {MAX_META_DEPTH} levels of nesting")
    items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else ()
    for item in items:
        if isinstance(item, dict | list):
            _depth(item, depth + 1)


Token = Annotated[str, Field(pattern=TOKEN_RE.pattern)]
Short = Annotated[str, Field(max_length=MAX_SHORT)]
Long = Annotated[str, Field(max_length=MAX_LONG)]
Text = Annotated[str, Field(max_length=MAX_TEXT)]
# strict floats accept ints but not bools or strings; allow_inf_nan=False refuses nan and inf
Seconds = Annotated[float, Field(ge=0, le=MAX_TIME_S, allow_inf_nan=False)]
SignedSeconds = Annotated[float, Field(ge=-MAX_TIME_S, le=MAX_TIME_S, allow_inf_nan=False)]
Index = Annotated[StrictInt, Field(ge=0, le=1_000_000)]
IsoTime = Annotated[str, Field(max_length=64), AfterValidator(_iso_time)]
FreeDict = Annotated[dict[str, Any], AfterValidator(_bounded_json)]
Number = Annotated[float, Field(allow_inf_nan=False)]


# --- the session row --------------------------------------------------------------------------
class HookIn(BaseModel):
    """A hook as stored with the session (trainer.analysis.HookCue fields)."""

    model_config = _FORBID
    id: Token
    cues: Annotated[list[Short], Field(max_length=200)] = []
    label: Long = ""
    suggestion: Long = ""


class SessionIn(BaseModel):
    """The "session" object of an export, and the stored session row."""

    model_config = _FORBID
    id: Token
    persona_id: Token
    persona_name: Short
    setting: Long = ""
    difficulty: Short = ""
    started_at: IsoTime
    ended_at: IsoTime | None = None
    status: Literal["in_progress", "completed", "interrupted"] = "interrupted"
    hooks: Annotated[list[HookIn], Field(max_length=500)] = []
    meta: FreeDict = {}


# --- turns ------------------------------------------------------------------------------------
class WordIn(BaseModel):
    """trainer.types.Word."""

    model_config = _FORBID
    text: Short
    start_s: Seconds
    end_s: Seconds


class TurnIn(BaseModel):
    """One stored turn (trainer.types.turn_to_dict)."""

    model_config = _FORBID
    index: Index
    speaker: Literal["persona", "user"]
    text: Text
    start_s: Seconds = 0.0
    end_s: Seconds = 0.0
    phase: Short = ""
    hooks: Annotated[list[Token], Field(max_length=200)] = []
    topic: Short | None = None
    kind: Short = ""
    words: Annotated[list[WordIn], Field(max_length=MAX_WORDS)] = []
    pause_before_s: SignedSeconds | None = None
    interrupted: StrictBool = False
    audio_path: Annotated[str, Field(max_length=4096)] | None = None
    error: Text | None = None  # e.g. an ASR exception message: may be long
    meta: FreeDict = {}


class ExportTurnIn(TurnIn):
    """A turn in an export: may carry its recording as base64 WAV."""

    audio_wav_base64: Annotated[str, Field(max_length=MAX_AUDIO_B64)] | None = None


# --- the scorecard (trainer.scoring.Scorecard.to_dict) ----------------------------------------
class MetricIn(BaseModel):
    model_config = _FORBID
    key: Token
    label: Short
    value: StrictBool | StrictInt | Number | None  # ints stay ints (a count of questions)
    unit: Short
    target: Short
    passed: StrictBool | None
    anchor: Long
    detail: Long = ""


class TipIn(BaseModel):
    model_config = _FORBID
    key: Token
    message: Long
    quote: Text | None = None
    suggestion: Long | None = None
    turn_index: Index | None = None


class HookOutcomeIn(BaseModel):
    model_config = _FORBID
    id: Token
    label: Long
    dropped_turn: Index
    taken_up: StrictBool
    taken_turn: Index | None = None


class RecallItemIn(BaseModel):
    model_config = _FORBID
    question: Long
    expected: Annotated[list[Long], Field(max_length=50)]
    given: Long
    correct: StrictBool


class LabelsIn(BaseModel):
    """A scorecard line's labels (UtteranceFeatures fields, which the scoring may extend):
    the values reports read as text are typed; the rest are free. Checked by pydantic's core:
    a free-form walk in Python cost 0.15 ms per scorecard, half of `trainer history`'s time."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)
    question_kind: Short | None = None
    follow_up: Short | None = None
    fillers: Annotated[list[Short], Field(max_length=MAX_WORDS)] = []


class LineLabelIn(BaseModel):
    model_config = _FORBID
    index: Index
    text: Text
    start_s: Seconds
    end_s: Seconds
    labels: LabelsIn = LabelsIn()


class ScorecardIn(BaseModel):
    model_config = _FORBID
    metrics: Annotated[list[MetricIn], Field(max_length=200)]
    keep: Annotated[list[Long], Field(max_length=200)] = []
    start: Annotated[list[Long], Field(max_length=200)] = []
    stop: Annotated[list[Long], Field(max_length=200)] = []
    tips: Annotated[list[TipIn], Field(max_length=500)] = []
    hooks: Annotated[list[HookOutcomeIn], Field(max_length=500)] = []
    recall: Annotated[list[RecallItemIn], Field(max_length=50)] = []
    lines: Annotated[list[LineLabelIn], Field(max_length=MAX_TURNS)] = []
    partner_name: Short | None = None
    duration_s: Seconds = 0.0
    timing_estimated: StrictBool = False
    notes: Annotated[list[Long], Field(max_length=200)] = []
    version: Annotated[StrictInt, Field(ge=0, le=1000)] = 1


class RecallIn(BaseModel):
    """A stored recall answer: the practice form (hook_id, answers) or the scorecard form."""

    model_config = _FORBID
    question: Long
    hook_id: Token | None = None
    answers: Annotated[list[Long], Field(max_length=50)] | None = None
    expected: Annotated[list[Long], Field(max_length=50)] | None = None
    given: Long = ""
    correct: StrictBool | None = None


Recall = Annotated[list[RecallIn], Field(max_length=50)]


class ExportIn(BaseModel):
    """A whole session export (format networking-trainer-session, version 1)."""

    model_config = _FORBID
    format: Literal["networking-trainer-session"]
    version: Literal[1]
    session: SessionIn
    turns: Annotated[list[ExportTurnIn], Field(max_length=MAX_TURNS)]
    scorecard: ScorecardIn | None = None
    recall: Recall | None = None


class _RecallList(BaseModel):
    model_config = _FORBID
    recall: Recall


# --- reading and checking ---------------------------------------------------------------------
def read_export_bytes(stream: BinaryIO, source: str) -> Any:
    """Read at most MAX_EXPORT_BYTES from `stream` and parse it as JSON, bounded.

    Raises StoreError (one line) for a file too large, with too many values, not UTF-8, not
    JSON, or nested too deeply.
    """
    raw = stream.read(MAX_EXPORT_BYTES + 1)
    if len(raw) > MAX_EXPORT_BYTES:
        raise StoreError(f"{source} is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MB: "
                         "not a session export this trainer reads",
                         hint="export a session with `trainer session export`")
    values = raw.count(b",") + raw.count(b"[") + raw.count(b"{")
    if values > MAX_JSON_VALUES:
        raise StoreError(f"{source} holds more than {MAX_JSON_VALUES} JSON values: not a "
                         "session export this trainer reads")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StoreError(f"{source}: byte {exc.start}: expected UTF-8 JSON",
                         hint="export a session with `trainer session export`") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise StoreError(f"{source}: (top level): JSON nested too deeply for a session export")\
            from None
    except ValueError as exc:
        raise StoreError(f"{source} is not JSON ({exc})",
                         hint="export a session with `trainer session export`") from None


def validate_export(data: Any, source: str = "session export") -> ExportIn:
    """The whole export checked against the schema; StoreError names the first bad field."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise StoreError(f"{source}: not a session export (missing \"format\": "
                         f"\"{EXPORT_FORMAT}\")", hint="export one with `trainer session export`")
    if data.get("version") != EXPORT_VERSION:
        raise StoreError(f"{source}: session export version {data.get('version')!r} is not "
                         f"supported (this trainer reads version {EXPORT_VERSION})")
    doc = _validate(ExportIn, data, source)
    seen: set[int] = set()
    for i, t in enumerate(doc.turns):
        if t.index in seen:
            raise StoreError(f"{source}: turns[{i}].index: turn {t.index} appears twice",
                             hint="turn indexes must be unique within a session")
        seen.add(t.index)
        if t.end_s + 1e-3 < t.start_s:
            raise StoreError(f"{source}: turns[{i}].end_s: expected end_s >= start_s "
                             f"({t.start_s}), got {t.end_s}")
    return doc


def validate_turn(data: Any, source: str) -> TurnIn:
    return _validate(TurnIn, data, source)


def validate_session(data: Any, source: str) -> SessionIn:
    return _validate(SessionIn, data, source)


def validate_scorecard(data: Any, source: str) -> ScorecardIn:
    return _validate(ScorecardIn, data, source)


def validate_recall(data: Any, source: str) -> list[RecallIn]:
    return _validate(_RecallList, {"recall": data}, source).recall


def _validate(model: type[BaseModel], data: Any, source: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        n = exc.error_count()
        more = f" (and {n - 1} more problem{'s' if n > 2 else ''})" if n > 1 else ""
        raise StoreError(f"{source}: {problem_text(err)}{more}") from None
    except RecursionError:
        raise StoreError(f"{source}: (top level): nested too deeply") from None


def problem_text(err: dict[str, Any]) -> str:
    """One pydantic error as 'turns[3].end_s: expected ..., got ...' (one line)."""
    loc = list(err.get("loc", ()))
    # pydantic adds the union member tried ("float", "int", "function-after[...]") to the loc
    loc = [p for p in loc if not (isinstance(p, str) and (p in ("float", "int", "bool", "str")
                                                          or "[" in p))]
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else ("." if path else "") + str(part)
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid"))
    if kind == "extra_forbidden":
        return f"{path or '(top level)'}: unknown field"
    if kind == "missing":
        return f"{path or '(top level)'}: expected this field (it is required)"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif msg.startswith("Input should be "):
        msg = "expected " + msg[len("Input should be "):]
    elif " should " in msg:
        msg = "expected a value that should " + msg.split(" should ", 1)[1]
    if "input" in err:
        msg += f", got {_short(err['input'])}"
    return f"{path or '(top level)'}: {msg}"


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, float) else f"{value:g}"
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    return text if len(text) <= 40 else text[:37] + "..."
