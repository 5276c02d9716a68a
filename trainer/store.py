"""Every round kept: sessions, turns and scorecards in SQLite, each user turn's audio as a WAV.

Layout under the data dir (`trainer.paths.data_dir()` unless a root is given):

    trainer.db                      SQLite, WAL mode, schema version in PRAGMA user_version
    audio/<session>/<turn>.wav      16-bit mono WAV of a user turn

Crash safety: each turn is one transaction, committed as soon as it happens; its WAV is written
to a temp file and renamed before the row that points at it is committed. A process killed
mid-round (even SIGKILL) leaves its session `in_progress` with every finished turn readable;
listings show such a session as interrupted once its writer is gone.

Damage is contained per session: a session whose rows cannot be read (broken JSON) is skipped
by `list_sessions` and named in `Store.skipped`; `load_session` on it raises a `StoreError`
naming the session and the turn. A missing audio file is reported on the loaded record
(`SessionRecord.problems`) and that turn simply has no audio. A db file that is not a database
gives one clear `StoreError`.
"""

from __future__ import annotations

import base64
import io
import json
import os
import secrets
import socket
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from trainer.errors import StoreError
from trainer.types import SAMPLE_RATE_HZ, Turn, turn_from_dict, turn_to_dict

EXPORT_FORMAT = "networking-trainer-session"
EXPORT_VERSION = 1
DB_NAME = "trainer.db"
FinishStatus = Literal["completed", "interrupted"]

# Schema migrations: MIGRATIONS[i] takes the db from user_version i to i + 1. Append, never edit.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE sessions (
        id            TEXT PRIMARY KEY,
        persona_id    TEXT NOT NULL,
        persona_name  TEXT NOT NULL,
        setting       TEXT NOT NULL DEFAULT '',
        difficulty    TEXT NOT NULL DEFAULT '',
        started_at    TEXT NOT NULL,          -- ISO 8601 with UTC offset
        ended_at      TEXT,
        status        TEXT NOT NULL,          -- in_progress | completed | interrupted
        hooks_json    TEXT NOT NULL DEFAULT '[]',
        meta_json     TEXT NOT NULL DEFAULT '{}',
        recall_json   TEXT,
        writer_pid    INTEGER,                -- who is writing an in_progress session
        writer_host   TEXT
    );
    CREATE INDEX sessions_started ON sessions(started_at);
    CREATE TABLE turns (
        session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        idx         INTEGER NOT NULL,
        speaker     TEXT NOT NULL,
        start_s     REAL NOT NULL,
        end_s       REAL NOT NULL,
        data_json   TEXT NOT NULL,            -- trainer.types.turn_to_dict, audio_path relative
        PRIMARY KEY (session_id, idx)
    ) WITHOUT ROWID;
    CREATE TABLE scorecards (
        session_id  TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
        data_json   TEXT NOT NULL             -- trainer.scoring.Scorecard.to_dict()
    );
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass
class _SessionHead:
    """What every view of a session has: its stored fields and whether its writer still runs."""

    id: str
    persona_id: str
    persona_name: str
    setting: str
    difficulty: str
    started_at: str
    ended_at: str | None
    status: str  # as stored: in_progress | completed | interrupted
    writer_alive: bool = False  # an in_progress session whose writing process still runs

    @property
    def state(self) -> str:
        """What to show: completed, interrupted (also a dead writer's in_progress) or in_progress."""
        if self.status == "in_progress" and not self.writer_alive:
            return "interrupted"
        return self.status


@dataclass
class SessionSummary(_SessionHead):
    """One row of the session list: what a listing or history needs, cheap to get."""

    turns: int = 0
    user_turns: int = 0
    user_s: float = 0.0  # user speaking time, seconds
    persona_s: float = 0.0  # persona speaking time, seconds
    duration_s: float = 0.0  # round clock at the last turn's end
    scorecard: dict[str, Any] | None = None  # only with list_sessions(with_scorecards=True)

    @property
    def talk_share(self) -> float | None:
        """User share of speaking time from the turn timings (None with no speech)."""
        total = self.user_s + self.persona_s
        return self.user_s / total if total > 0 else None


@dataclass
class SessionRecord(_SessionHead):
    """A whole session as loaded: its fields, turns, scorecard and recall answers."""

    hooks: list[dict[str, Any]] = field(default_factory=list)  # HookCue fields
    meta: dict[str, Any] = field(default_factory=dict)
    turns: list[Turn] = field(default_factory=list)
    scorecard: dict[str, Any] | None = None
    recall: list[dict[str, Any]] | None = None
    problems: list[str] = field(default_factory=list)  # e.g. a missing audio file

    def session_dict(self) -> dict[str, Any]:
        """The "session" object of the export format."""
        return {
            "id": self.id,
            "persona_id": self.persona_id,
            "persona_name": self.persona_name,
            "setting": self.setting,
            "difficulty": self.difficulty,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.state,
            "hooks": self.hooks,
            "meta": self.meta,
        }


@dataclass(frozen=True)
class SkippedSession:
    """A session left out of a listing because its rows cannot be read."""

    id: str
    reason: str

    def __str__(self) -> str:
        return f"session {self.id} skipped: {self.reason}"


class Store:
    """Sessions on disk. One instance per process; cheap to create.

    Args:
        root: folder holding trainer.db and audio/ (default: `trainer.paths.data_dir()`).
    """

    def __init__(self, root: Path | None = None):
        if root is None:
            from trainer.paths import data_dir

            try:
                root = data_dir()
            except OSError as exc:
                raise StoreError(f"cannot create the data folder: {exc}",
                                 hint="set TRAINER_HOME to a folder you can write to") from None
        self.root = Path(root)
        self.db_path = self.root / DB_NAME
        self.audio_dir = self.root / "audio"
        self.skipped: list[SkippedSession] = []  # filled by the last list_sessions()
        self._conn: sqlite3.Connection | None = None
        # the practice loop may write from a worker thread: one connection, one lock
        self._lock = threading.RLock()

    # --- connection and schema ----------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per write
            conn = sqlite3.connect(self.db_path, timeout=10.0, isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise self._unreadable(exc) from None
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a committed turn survives a killed process; only a power cut can
            # lose the last commits, which is the usual trade for a fast per-turn write.
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._unreadable(exc) from None
        return conn

    def _unreadable(self, exc: Exception) -> StoreError:
        if "locked" in str(exc) or "busy" in str(exc):
            return StoreError(f"session store {self.db_path} is busy ({exc})",
                              hint="another trainer process is writing; try again")
        return StoreError(
            f"session store {self.db_path} is unreadable ({exc})",
            hint=f"move {self.db_path.name} aside (a new one is created; WAVs in "
            f"{self.audio_dir} stay), or restore it from a backup",
        )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"session store {self.db_path} has schema version {version}; this trainer "
                f"knows up to {SCHEMA_VERSION}",
                hint="upgrade the trainer",
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            conn.execute("BEGIN IMMEDIATE")
            try:
                # another process may have migrated while we waited for the write lock
                if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                    conn.execute("COMMIT")
                    continue
                for stmt in _statements(MIGRATIONS[target - 1]):
                    conn.execute(stmt)
                conn.execute(f"PRAGMA user_version = {target}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back if anything inside fails."""
        with self._lock:
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise self._unreadable(exc) from None
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cur = self.conn.execute(sql, args)
                cur.row_factory = sqlite3.Row
                return cur.fetchall()
            except sqlite3.DatabaseError as exc:
                raise self._unreadable(exc) from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing a round ----------------------------------------------------------------------
    def start_session(
        self,
        persona_id: str,
        persona_name: str,
        setting: str,
        difficulty: str,
        hooks: list[dict[str, Any]],
        meta: dict[str, Any] | None = None,
    ) -> str:
        """Create an in_progress session and return its id (sortable, e.g. 20261122-014500-ab12).

        `hooks` are HookCue fields ({"id", "cues", "label", "suggestion"}) so the round can be
        re-scored later without the persona file.
        """
        now = _now()
        hooks_json = _dumps([_hook_dict(h) for h in hooks])
        meta_json = _dumps(meta or {})
        for _ in range(20):
            sid = f"{now.astimezone(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
            try:
                with self._tx() as conn:
                    conn.execute(
                        "INSERT INTO sessions (id, persona_id, persona_name, setting, difficulty,"
                        " started_at, status, hooks_json, meta_json, writer_pid, writer_host)"
                        " VALUES (?, ?, ?, ?, ?, ?, 'in_progress', ?, ?, ?, ?)",
                        (sid, persona_id, persona_name, setting, difficulty,
                         now.isoformat(timespec="seconds"), hooks_json, meta_json,
                         os.getpid(), socket.gethostname()),
                    )
                return sid
            except sqlite3.IntegrityError:
                continue  # same second and same 16-bit suffix: draw again
        raise StoreError("could not allocate a session id", hint="try again")

    def add_turn(
        self,
        session_id: str,
        turn: Turn,
        audio: np.ndarray | None = None,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
    ) -> Turn:
        """Store one turn (and its audio as a 16-bit WAV) in one transaction.

        Returns the turn with `audio_path` set (absolute) when audio was given.
        """
        self._require(session_id)
        rel_audio = None
        if audio is not None:
            rel_audio = f"audio/{session_id}/{turn.index}.wav"
            _write_wav_atomic(self.root / rel_audio, audio, sample_rate_hz)
        data = turn_to_dict(turn)
        if rel_audio is not None:
            data["audio_path"] = rel_audio
        elif data.get("audio_path"):
            data["audio_path"] = str(data["audio_path"])  # a file the caller keeps elsewhere
        try:
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO turns (session_id, idx, speaker, start_s, end_s, data_json)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (session_id, turn.index, turn.speaker, float(turn.start_s),
                     float(turn.end_s), _dumps(data)),
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"session {session_id}: turn {turn.index} is already stored",
                             hint="turn indexes must be unique within a session") from None
        if rel_audio is None:
            return turn
        return replace(turn, audio_path=str(self.root / rel_audio))

    def finish_session(
        self,
        session_id: str,
        status: FinishStatus,
        scorecard: dict[str, Any] | None = None,
        recall: list[dict[str, Any]] | None = None,
    ) -> None:
        """Close a session: its status, end time, scorecard (Scorecard.to_dict()) and recall."""
        if status not in ("completed", "interrupted"):
            raise StoreError(f"unknown session status {status!r}",
                             hint="use 'completed' or 'interrupted'")
        self._require(session_id)
        with self._tx() as conn:
            conn.execute(
                "UPDATE sessions SET status = ?, ended_at = ?, recall_json = ?,"
                " writer_pid = NULL, writer_host = NULL WHERE id = ?",
                (status, _now().isoformat(timespec="seconds"),
                 None if recall is None else _dumps(recall), session_id),
            )
            if scorecard is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO scorecards (session_id, data_json) VALUES (?, ?)",
                    (session_id, _dumps(scorecard)),
                )

    def save_scorecard(self, session_id: str, scorecard: dict[str, Any]) -> None:
        """Replace a session's scorecard (e.g. after re-scoring with a newer trainer)."""
        self._require(session_id)
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO scorecards (session_id, data_json) VALUES (?, ?)",
                         (session_id, _dumps(scorecard)))

    def delete_session(self, session_id: str) -> None:
        """Remove a session, its turns, scorecard and audio files."""
        self._require(session_id)
        with self._tx() as conn:
            conn.execute("DELETE FROM turns WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM scorecards WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        folder = self.audio_dir / session_id
        if folder.is_dir():
            for f in folder.iterdir():
                f.unlink(missing_ok=True)
            folder.rmdir()

    # --- reading ------------------------------------------------------------------------------
    def list_sessions(self, with_scorecards: bool = False) -> list[SessionSummary]:
        """All readable sessions, oldest first. Unreadable ones land in `self.skipped`."""
        # One query; json_valid() runs in SQLite's C code, so checking every row stays cheap.
        rows = self._query(
            """
            SELECT s.id, s.persona_id, s.persona_name, s.setting, s.difficulty, s.started_at,
                   s.ended_at, s.status, s.writer_pid, s.writer_host,
                   json_valid(s.hooks_json) AND json_valid(s.meta_json)
                     AND (s.recall_json IS NULL OR json_valid(s.recall_json)) AS ok_session,
                   t.n, t.n_user, t.user_s, t.persona_s, t.last_end, t.bad_turn,
                   c.data_json AS scorecard_json,
                   -- with scorecards, Python's json.loads checks them (no double parse)
                   (? OR c.data_json IS NULL OR json_valid(c.data_json)) AS ok_scorecard
            FROM sessions s
            LEFT JOIN (
                SELECT session_id, COUNT(*) AS n,
                       SUM(speaker = 'user') AS n_user,
                       SUM(CASE WHEN speaker = 'user' THEN MAX(end_s - start_s, 0) END) AS user_s,
                       SUM(CASE WHEN speaker = 'persona' THEN MAX(end_s - start_s, 0) END)
                         AS persona_s,
                       MAX(end_s) AS last_end,
                       MIN(CASE WHEN json_valid(data_json) THEN NULL ELSE idx END) AS bad_turn
                FROM turns GROUP BY session_id
            ) t ON t.session_id = s.id
            LEFT JOIN scorecards c ON c.session_id = s.id
            ORDER BY s.started_at, s.rowid
            """, (int(with_scorecards),)
        )
        out: list[SessionSummary] = []
        skipped: list[SkippedSession] = []
        host = socket.gethostname()
        for r in rows:
            reason = None
            if not r["ok_session"]:
                reason = "its session row has unreadable JSON"
            elif r["bad_turn"] is not None:
                reason = f"turn {r['bad_turn']} has unreadable JSON"
            elif not r["ok_scorecard"]:
                reason = "its scorecard has unreadable JSON"
            card = None
            if not reason and with_scorecards and r["scorecard_json"] is not None:
                try:
                    card = json.loads(r["scorecard_json"])
                except ValueError:
                    reason = "its scorecard has unreadable JSON"
            if reason:
                skipped.append(SkippedSession(r["id"], reason))
                continue
            out.append(SessionSummary(
                id=r["id"], persona_id=r["persona_id"], persona_name=r["persona_name"],
                setting=r["setting"], difficulty=r["difficulty"], started_at=r["started_at"],
                ended_at=r["ended_at"], status=r["status"],
                writer_alive=_writer_alive(r["status"], r["writer_pid"], r["writer_host"], host),
                turns=r["n"] or 0, user_turns=r["n_user"] or 0, user_s=r["user_s"] or 0.0,
                persona_s=r["persona_s"] or 0.0, duration_s=r["last_end"] or 0.0,
                scorecard=card,
            ))
        self.skipped = skipped
        return out

    def last_session_id(self) -> str | None:
        """The most recently started session, or None when there are none."""
        rows = self._query("SELECT id FROM sessions ORDER BY started_at DESC, rowid DESC LIMIT 1")
        return rows[0]["id"] if rows else None

    def resolve_id(self, ref: str | None) -> str:
        """A session id from what a user typed: None -> the last one; a unique prefix works."""
        if ref is None:
            sid = self.last_session_id()
            if sid is None:
                raise StoreError("no sessions stored yet",
                                 hint="run `trainer practice` first, or `trainer session import`")
            return sid
        rows = self._query("SELECT id FROM sessions WHERE id = ? OR id LIKE ? ESCAPE '\\'"
                           " ORDER BY id LIMIT 3", (ref, _like_prefix(ref)))
        ids = [r["id"] for r in rows]
        if ref in ids:
            return ref
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise StoreError(f"no session {ref!r}", hint="list them with `trainer history`")
        raise StoreError(f"session {ref!r} is ambiguous ({', '.join(ids[:2])}, ...)",
                         hint="type more of the id")

    def load_session(self, session_id: str) -> SessionRecord:
        """A whole session. Raises StoreError naming the session (and turn) if it is unreadable."""
        rows = self._query("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise StoreError(f"no session {session_id!r}", hint="list them with `trainer history`")
        s = rows[0]
        try:
            hooks = json.loads(s["hooks_json"])
            meta = json.loads(s["meta_json"])
            recall = None if s["recall_json"] is None else json.loads(s["recall_json"])
        except (TypeError, ValueError) as exc:
            raise StoreError(f"session {session_id} is unreadable: its session row has broken "
                             f"JSON ({exc})", hint="export the other sessions, then delete it") \
                from None
        record = SessionRecord(
            id=s["id"], persona_id=s["persona_id"], persona_name=s["persona_name"],
            setting=s["setting"], difficulty=s["difficulty"], started_at=s["started_at"],
            ended_at=s["ended_at"], status=s["status"], hooks=hooks, meta=meta, recall=recall,
            writer_alive=_writer_alive(s["status"], s["writer_pid"], s["writer_host"],
                                       socket.gethostname()),
        )
        for t in self._query("SELECT idx, data_json FROM turns WHERE session_id = ? ORDER BY idx",
                             (session_id,)):
            try:
                turn = turn_from_dict(json.loads(t["data_json"]))
            except (TypeError, ValueError) as exc:
                raise StoreError(f"session {session_id} is unreadable: turn {t['idx']} has "
                                 f"broken data ({exc})",
                                 hint="export the other sessions, then delete it") from None
            if turn.audio_path:
                path = Path(turn.audio_path)
                if not path.is_absolute():
                    path = self.root / path
                if path.is_file():
                    turn = replace(turn, audio_path=str(path))
                else:
                    record.problems.append(f"session {session_id} turn {turn.index}: audio file "
                                           f"{path} is missing")
                    turn = replace(turn, audio_path=None)
            record.turns.append(turn)
        card = self._query("SELECT data_json FROM scorecards WHERE session_id = ?", (session_id,))
        if card:
            try:
                record.scorecard = json.loads(card[0]["data_json"])
            except ValueError as exc:
                raise StoreError(f"session {session_id} is unreadable: its scorecard has broken "
                                 f"JSON ({exc})", hint="export the other sessions, then delete it") \
                    from None
        return record

    def load_audio(self, turn: Turn) -> tuple[np.ndarray, int] | None:
        """A stored turn's audio as (float32 mono, sample rate), or None when it has none."""
        if not turn.audio_path:
            return None
        import soundfile as sf

        try:
            audio, sr = sf.read(turn.audio_path, dtype="float32", always_2d=True)
        except Exception as exc:  # libsndfile raises its own error type
            raise StoreError(f"audio of turn {turn.index} ({turn.audio_path}) is unreadable: "
                             f"{exc}") from None
        return audio.mean(axis=1), sr

    # --- export / import ----------------------------------------------------------------------
    def export_session(self, session_id: str, with_audio: bool = False) -> dict[str, Any]:
        """The session as one JSON-ready dict (format networking-trainer-session, version 1).

        Audio is referenced by absolute path; `with_audio` also embeds each WAV as base64
        (key "audio_wav_base64" on the turn) so the export stands on its own.
        """
        rec = self.load_session(session_id)
        turns = []
        for t in rec.turns:
            d = turn_to_dict(t)
            if with_audio and t.audio_path:
                d["audio_wav_base64"] = base64.b64encode(Path(t.audio_path).read_bytes()).decode()
            turns.append(d)
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "session": rec.session_dict(),
            "turns": turns,
            "scorecard": rec.scorecard,
            "recall": rec.recall,
        }

    def import_session(self, data: dict[str, Any]) -> str:
        """Store an exported session (e.g. from a second device); returns its id.

        Embedded audio is written beside the store; a referenced WAV is kept by path only if it
        exists here. Importing a session whose id is already stored is refused.
        """
        s, turns = _check_export(data)
        sid = str(s["id"])
        if self._query("SELECT 1 FROM sessions WHERE id = ?", (sid,)):
            raise StoreError(f"session {sid} is already stored",
                             hint=f"review it with `trainer review {sid}`")
        status = s.get("status") or "interrupted"
        if status not in ("completed", "interrupted"):
            status = "interrupted"  # an in_progress export has no writer here
        written: list[Path] = []
        rows = []
        try:
            for i, td in enumerate(turns):
                turn = turn_from_dict(td)
                if turn.speaker not in ("persona", "user"):
                    raise ValueError(f"turn {i} has unknown speaker {turn.speaker!r}")
                d = turn_to_dict(turn)
                b64 = td.get("audio_wav_base64")
                if b64:
                    rel = f"audio/{sid}/{turn.index}.wav"
                    _write_bytes_atomic(self.root / rel, base64.b64decode(b64))
                    written.append(self.root / rel)
                    d["audio_path"] = rel
                elif d.get("audio_path") and not Path(d["audio_path"]).is_file():
                    d["audio_path"] = None
                rows.append((sid, turn.index, turn.speaker, float(turn.start_s),
                             float(turn.end_s), _dumps(d)))
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO sessions (id, persona_id, persona_name, setting, difficulty,"
                    " started_at, ended_at, status, hooks_json, meta_json, recall_json)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sid, str(s["persona_id"]), str(s.get("persona_name") or s["persona_id"]),
                     str(s.get("setting") or ""), str(s.get("difficulty") or ""),
                     str(s["started_at"]), s.get("ended_at"), status,
                     _dumps(s.get("hooks") or []), _dumps(s.get("meta") or {}),
                     None if data.get("recall") is None else _dumps(data["recall"])),
                )
                conn.executemany(
                    "INSERT INTO turns (session_id, idx, speaker, start_s, end_s, data_json)"
                    " VALUES (?, ?, ?, ?, ?, ?)", rows)
                if data.get("scorecard") is not None:
                    conn.execute("INSERT INTO scorecards (session_id, data_json) VALUES (?, ?)",
                                 (sid, _dumps(data["scorecard"])))
        except sqlite3.IntegrityError as exc:
            for p in written:
                p.unlink(missing_ok=True)
            raise StoreError(f"export of session {sid} is inconsistent ({exc})",
                             hint="turn indexes must be unique") from None
        except (TypeError, ValueError, KeyError) as exc:
            for p in written:
                p.unlink(missing_ok=True)
            raise StoreError(f"export of session {sid} has a malformed turn ({exc})") from None
        return sid

    # --- helpers ------------------------------------------------------------------------------
    def _require(self, session_id: str) -> None:
        if not self._query("SELECT 1 FROM sessions WHERE id = ?", (session_id,)):
            raise StoreError(f"no session {session_id!r}", hint="start it with start_session()")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip() and not s.strip().startswith("--")]


def _now() -> datetime:
    return datetime.now(UTC).astimezone()  # local time with its UTC offset


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _hook_dict(h: Any) -> dict[str, Any]:
    """Accept a HookCue or a dict; store {"id", "cues", "label", "suggestion"}."""
    if not isinstance(h, dict):
        h = {k: getattr(h, k, None) for k in ("id", "cues", "label", "suggestion")}
    return {"id": str(h["id"]), "cues": list(h.get("cues") or []),
            "label": h.get("label") or "", "suggestion": h.get("suggestion") or "",
            **{k: v for k, v in h.items() if k not in ("id", "cues", "label", "suggestion")}}


def _writer_alive(status: str, pid: int | None, host: str | None, this_host: str) -> bool:
    """Is the process that writes an in_progress session still running (on this machine)?"""
    if status != "in_progress" or pid is None or host != this_host:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    # a zombie (killed, not yet reaped) still answers kill(0); it writes nothing more
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _like_prefix(ref: str) -> str:
    return ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _wav_bytes(audio: np.ndarray, sample_rate_hz: int) -> bytes:
    import soundfile as sf

    arr = np.asarray(audio, dtype=np.float32)
    if arr.ndim > 1:
        arr = arr.mean(axis=1)
    buf = io.BytesIO()
    sf.write(buf, np.clip(arr, -1.0, 1.0), int(sample_rate_hz), subtype="PCM_16", format="WAV")
    return buf.getvalue()


def _write_wav_atomic(path: Path, audio: np.ndarray, sample_rate_hz: int) -> None:
    _write_bytes_atomic(path, _wav_bytes(audio, sample_rate_hz))


def _write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, fsync, then rename: never a half-written WAV."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(f"could not write audio file {path}: {exc.strerror or exc}",
                         hint="check free disk space and permissions of the data folder") \
            from None


def _check_export(data: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Validate the outer shape of an export; return (session, turns)."""
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise StoreError("not a session export (missing \"format\": "
                         f"\"{EXPORT_FORMAT}\")", hint="export one with `trainer session export`")
    if data.get("version") != EXPORT_VERSION:
        raise StoreError(f"session export version {data.get('version')!r} is not supported "
                         f"(this trainer reads version {EXPORT_VERSION})")
    s = data.get("session")
    if not isinstance(s, dict):
        raise StoreError("session export has no \"session\" object")
    for key in ("id", "persona_id", "started_at"):
        if not s.get(key):
            raise StoreError(f"session export is missing session.{key}")
    turns = data.get("turns")
    if not isinstance(turns, list) or not all(isinstance(t, dict) for t in turns):
        raise StoreError("session export has no \"turns\" list")
    return s, turns
