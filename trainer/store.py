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

What comes in from outside (an import) or back from disk is checked against one schema
(`trainer.store_schema`): ids and turn indexes are plain tokens, so every file the store
writes is `audio/<id>/<index>.wav` under the data folder; embedded audio is kept only if it
decodes as audio, and is re-encoded by us; an audio path that points outside `audio/` is never
followed. A stored row that fails the schema (an older trainer's import) makes its own session
unreadable, named by id, and never the listing of the others.

Errors tell the truth: a full disk, a read-only folder, a damaged or non-SQLite file, a busy
store and a deleted write-ahead log each get their own message and hint. A 0-byte or missing
trainer.db beside existing recordings is refused rather than silently replaced by an empty
store. When a turn cannot be stored (full disk, folder gone read-only), it is written to the
session's spool file, `spool/<id>.json`, whose space is reserved when the session starts, and
the next Store opened on this folder moves it into the database.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import io
import json
import os
import secrets
import shutil
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

from trainer import store_schema as schema
from trainer.errors import StoreError
from trainer.store_schema import EXPORT_FORMAT, EXPORT_VERSION, is_token
from trainer.types import SAMPLE_RATE_HZ, Turn, turn_from_dict, turn_to_dict

__all__ = ["DB_NAME", "EXPORT_FORMAT", "EXPORT_VERSION", "SCHEMA_VERSION", "SessionRecord",
           "SessionSummary", "SkippedSession", "Store"]

DB_NAME = "trainer.db"
FinishStatus = Literal["completed", "interrupted"]
SPOOL_FORMAT = "networking-trainer-spool"
# Reserved per running session: a turn's text, words and features are a few KB, a scorecard
# ~20 KB; writing inside an already allocated file needs no free blocks on a full disk.
SPOOL_BYTES = 256 * 1024
# SQLite primary result codes (sqlite3.Error.sqlite_errorcode & 0xff)
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 10, 11, 13, 14, 26

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


class StoreIOError(StoreError):
    """The store could not be read or written for a reason outside the data: `kind` says which.

    Kinds: full (disk full), read_only, busy, corrupt (damaged pages), not_a_database,
    wal_missing (the write-ahead log was deleted), cannot_open, io (disk I/O error), other.
    """

    def __init__(self, kind: str, message: str, hint: str | None = None):
        super().__init__(message, hint)
        self.kind = kind


# write failures after which a turn is kept in the spool instead of being lost
_SPOOL_KINDS = frozenset({"full", "read_only", "io", "corrupt", "cannot_open", "busy", "other"})
# Sessions a Store of this process is writing: their writer_pid is ours, so "is the writer
# alive" cannot tell a running round from one that failed earlier in this same process.
_WRITING: set[str] = set()


class Store:
    """Sessions on disk. One instance per process; cheap to create.

    Args:
        root: folder holding trainer.db and audio/ (default: `trainer.paths.data_dir()`).
        new_ok: create a new store even when trainer.db is missing or empty beside existing
            recordings (`trainer doctor --fix` only; otherwise that is refused).
    """

    def __init__(self, root: Path | None = None, *, new_ok: bool = False):
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
        self.spool_dir = self.root / "spool"
        self.skipped: list[SkippedSession] = []  # filled by the last list_sessions()
        self.recovered: list[str] = []  # spool files moved into the db when it was opened
        self.notes: list[str] = []  # what the last import_session left out
        self._new_ok = new_ok
        self._conn: sqlite3.Connection | None = None
        self._spooled: dict[str, dict[str, Any]] = {}  # session id -> its spool file's content
        self._writing: set[str] = set()  # sessions this instance started and has not closed
        # the practice loop may write from a worker thread: one connection, one lock
        self._lock = threading.RLock()

    # --- connection and schema ----------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        with self._lock:
            if self._conn is None:
                self._conn = self._open()
                self._recover_spool()
            return self._conn

    def _open(self) -> sqlite3.Connection:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._os_error(exc, f"create the data folder {self.root}") from None
        if not self._new_ok:
            self._refuse_lost_db()
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one transaction per write
            conn = sqlite3.connect(self.db_path, timeout=10.0, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._db_error(exc) from None
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL: a committed turn survives a killed process; only a power cut can
            # lose the last commits, which is the usual trade for a fast per-turn write.
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise self._db_error(exc) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _refuse_lost_db(self) -> None:
        """A missing or 0-byte trainer.db beside recordings is a lost store, not a new one:
        silently starting afresh would orphan every recording (issue 14)."""
        try:
            size: int | None = self.db_path.stat().st_size
        except FileNotFoundError:
            size = None
        except OSError as exc:
            raise self._os_error(exc, f"read {self.db_path}") from None
        if size:
            return
        owners = self.audio_sessions()
        if not owners:
            return
        what = "is empty (0 bytes)" if size == 0 else "is missing"
        raise StoreIOError(
            "lost", f"session store {self.db_path} {what}, but {self.audio_dir} holds "
            f"recordings of {len(owners)} session(s)",
            hint=f"restore {DB_NAME} from a backup; or run `trainer doctor --fix` to start a "
            "new store (the recordings stay where they are, listed as orphaned)")

    def audio_sessions(self) -> list[str]:
        """Names of the folders under audio/ that hold at least one file."""
        try:
            return sorted(d.name for d in self.audio_dir.iterdir()
                          if d.is_dir() and any(f.is_file() for f in d.iterdir()))
        except OSError:
            return []

    def _read_only(self) -> bool:
        try:
            if os.statvfs(self.root).f_flag & os.ST_RDONLY:
                return True
        except OSError:
            pass
        if not os.access(self.root, os.W_OK):
            return True
        return any(p.exists() and not os.access(p, os.W_OK)
                   for p in (self.db_path, self.db_path.with_name(DB_NAME + "-wal")))

    def _db_error(self, exc: sqlite3.Error) -> StoreIOError:
        """An sqlite3 error as what it means for the user, with the hint that fits it."""
        code = getattr(exc, "sqlite_errorcode", None) or 0
        primary = code & 0xFF
        db = self.db_path
        wal, shm = db.with_name(DB_NAME + "-wal"), db.with_name(DB_NAME + "-shm")
        if primary == _SQLITE_FULL:
            return StoreIOError("full", f"disk full: session store {db} cannot grow",
                                hint=f"free some space on the disk holding {self.root}; what "
                                "was stored before is intact")
        if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return StoreIOError("busy", f"session store {db} is busy ({exc})",
                                hint="another trainer process is writing; try again")
        if primary in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_PERM) and self._read_only():
            return StoreIOError("read_only", f"session store {db} is read-only: its folder or "
                                "files cannot be written",
                                hint=f"check the permissions of {self.root} and the trainer.db "
                                "files in it (or the disk is mounted read-only), or set "
                                "TRAINER_HOME to a folder you can write to")
        # reading a -shm whose WAL is gone gives SQLITE_IOERR_SHORT_READ (measured; other
        # IOERR codes on some versions): a deleted log, not a failing disk
        # (opening re-creates an empty -wal, so "missing" is "missing or empty")
        if primary == _SQLITE_IOERR and shm.exists() and (not wal.exists()
                                                          or wal.stat().st_size == 0):
            return StoreIOError("wal_missing", f"session store {db}: its write-ahead log "
                                f"{wal.name} was deleted while a trainer had the store open",
                                hint="stop the trainer that is running (the turns only in the "
                                "deleted log are lost); the next start rebuilds the log from "
                                f"{db.name}, which is kept")
        if primary == _SQLITE_CANTOPEN:
            return StoreIOError("cannot_open", f"cannot open session store {db} ({exc})",
                                hint=f"check that {self.root} exists and is a folder you can "
                                "write to")
        if primary == _SQLITE_NOTADB:
            return StoreIOError("not_a_database", f"session store {db} is not an SQLite "
                                "database (overwritten or truncated?)",
                                hint=f"restore {db.name} from a backup; or run `trainer doctor "
                                "--fix` to set it aside and start a new store (the recordings "
                                "in audio/ stay)")
        if primary == _SQLITE_CORRUPT:
            return StoreIOError("corrupt", f"session store {db} is damaged (a corrupt page)",
                                hint="run `trainer doctor --fix`: it copies every readable "
                                "session into a new store and keeps the damaged file")
        if primary == _SQLITE_IOERR:
            name = getattr(exc, "sqlite_errorname", "") or str(exc)
            return StoreIOError("io", f"session store {db}: disk I/O error ({name})",
                                hint="check the disk (is it unplugged or failing?); then run "
                                "`trainer doctor`")
        return StoreIOError("other", f"session store {db} failed: {exc}",
                            hint="run `trainer doctor` to check it")

    def _os_error(self, exc: OSError, doing: str) -> StoreIOError:
        """An OSError while writing files of the store (audio, spool, the data folder)."""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return StoreIOError("full", f"disk full: could not {doing}",
                                hint=f"free some space on the disk holding {self.root}")
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return StoreIOError("read_only", f"could not {doing}: {exc.strerror or exc}",
                                hint=f"check the permissions of {self.root}, or set "
                                "TRAINER_HOME to a folder you can write to")
        return StoreIOError("io", f"could not {doing}: {exc.strerror or exc}",
                            hint=f"check the disk holding {self.root}")

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
                _rollback(conn)
                raise

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back if anything inside fails.

        sqlite3 errors other than IntegrityError (which callers turn into their own message)
        leave as a StoreIOError that says what is wrong (disk full, read-only, damaged...).
        """
        with self._lock:
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._db_error(exc) from None
            try:
                yield conn
                conn.execute("COMMIT")
            except sqlite3.IntegrityError:
                _rollback(conn)
                raise
            except sqlite3.Error as exc:
                _rollback(conn)
                raise self._db_error(exc) from None
            except BaseException:
                _rollback(conn)
                raise

    def _query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cur = self.conn.execute(sql, args)
                cur.row_factory = sqlite3.Row
                return cur.fetchall()
            except sqlite3.Error as exc:
                raise self._db_error(exc) from None

    def close(self) -> None:
        with self._lock:
            _WRITING.difference_update(self._writing)
            self._writing.clear()
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
        re-scored later without the persona file. The session's spool space is reserved here:
        a disk too full for it fails now, before anything is said.
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
                break
            except sqlite3.IntegrityError:
                continue  # same second and same 16-bit suffix: draw again
        else:
            raise StoreError("could not allocate a session id", hint="try again")
        self._writing.add(sid)
        _WRITING.add(sid)
        try:
            self._reserve_spool(sid)
        except OSError as exc:
            with contextlib.suppress(StoreError):
                self.delete_session(sid)
            raise self._os_error(exc, f"reserve {SPOOL_BYTES // 1024} KB for the round's "
                                 f"spool in {self.spool_dir}") from None
        return sid

    def add_turn(
        self,
        session_id: str,
        turn: Turn,
        audio: np.ndarray | None = None,
        sample_rate_hz: int = SAMPLE_RATE_HZ,
    ) -> Turn:
        """Store one turn (and its audio as a 16-bit WAV) in one transaction.

        Returns the turn with `audio_path` set (absolute) when audio was given. When the
        disk is full (or the folder read-only...) the turn is kept in the session's spool
        file and a StoreIOError says so; the next Store opened here stores it.
        """
        self._require(session_id)
        for name in ("start_s", "end_s"):
            value = getattr(turn, name)
            try:  # numpy floats too; NaN fails the range check
                ok = not isinstance(value, bool) and 0 <= float(value) <= schema.MAX_TIME_S
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise StoreError(f"session {session_id}: turn {turn.index} has {name} {value!r}",
                                 hint=f"times are seconds on the round's clock, 0 to "
                                 f"{schema.MAX_TIME_S:.0f}")
        if self._query("SELECT 1 FROM turns WHERE session_id = ? AND idx = ?",
                       (session_id, turn.index)):
            raise StoreError(f"session {session_id}: turn {turn.index} is already stored",
                             hint="turn indexes must be unique within a session")
        data = turn_to_dict(turn)
        data["audio_path"] = None  # only recordings the store wrote itself are referenced
        rel_audio = None
        if audio is not None:
            rel_audio = self._audio_rel(session_id, turn.index)
            try:
                _write_wav_atomic(self.root / rel_audio, audio, sample_rate_hz)
            except OSError as exc:
                err = self._os_error(exc, f"write the recording of turn {turn.index}")
                data["meta"] = {**(data.get("meta") or {}), "audio_lost": err.message}
                raise self._spool_failure(session_id, turn.index, err, turn=data) from None
            data["audio_path"] = rel_audio
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
        except StoreIOError as err:
            if err.kind not in _SPOOL_KINDS:
                raise
            raise self._spool_failure(session_id, turn.index, err, turn=data) from None
        if rel_audio is None:
            return replace(turn, audio_path=None)
        return replace(turn, audio_path=str(self.root / rel_audio))

    def finish_session(
        self,
        session_id: str,
        status: FinishStatus,
        scorecard: dict[str, Any] | None = None,
        recall: list[dict[str, Any]] | None = None,
    ) -> None:
        """Close a session: its status, end time, scorecard (Scorecard.to_dict()) and recall.

        Turns this process had to spool go in first; if closing fails too, the closing is
        spooled as well (the next start applies it) and a StoreIOError says so.
        """
        if status not in ("completed", "interrupted"):
            raise StoreError(f"unknown session status {status!r}",
                             hint="use 'completed' or 'interrupted'")
        self._require(session_id)
        ended_at = _now().isoformat(timespec="seconds")
        pending = self._spooled.get(session_id, {}).get("turns", [])
        try:
            with self._tx() as conn:
                _insert_spooled_turns(conn, session_id, pending)
                conn.execute(
                    "UPDATE sessions SET status = ?, ended_at = ?, recall_json = ?,"
                    " writer_pid = NULL, writer_host = NULL WHERE id = ?",
                    (status, ended_at, None if recall is None else _dumps(recall), session_id),
                )
                if scorecard is not None:
                    conn.execute(
                        "INSERT OR REPLACE INTO scorecards (session_id, data_json) VALUES (?, ?)",
                        (session_id, _dumps(scorecard)),
                    )
        except StoreIOError as err:
            if err.kind not in _SPOOL_KINDS:
                raise
            finish = {"status": status, "ended_at": ended_at, "scorecard": scorecard,
                      "recall": recall}
            raise self._spool_failure(session_id, None, err, finish=finish) from None
        self._drop_spool(session_id)

    def save_scorecard(self, session_id: str, scorecard: dict[str, Any]) -> None:
        """Replace a session's scorecard (e.g. after re-scoring with a newer trainer)."""
        self._require(session_id)
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO scorecards (session_id, data_json) VALUES (?, ?)",
                         (session_id, _dumps(scorecard)))

    def delete_session(self, session_id: str) -> int:
        """Remove a session, its turns, scorecard, spool and audio folder; returns the number
        of audio files removed. A session whose id is not a plain token (an older trainer's
        import) loses its rows only: no folder is derived from such an id."""
        self._require(session_id)
        with self._tx() as conn:
            conn.execute("DELETE FROM turns WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM scorecards WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
        self._drop_spool(session_id)
        folder = self._audio_folder(session_id)
        if folder is None or folder.is_symlink() or not folder.is_dir():
            return 0
        try:
            removed = sum(1 for f in folder.rglob("*") if f.is_file())
            shutil.rmtree(folder)
        except OSError as exc:
            raise self._os_error(exc, f"remove {folder}") from None
        return removed

    # --- reading ------------------------------------------------------------------------------
    _LIST_SQL = """
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
                       -- a turn that cannot be read, or whose times an older import let in
                       MIN(CASE WHEN json_valid(data_json)
                                 AND start_s BETWEEN 0 AND {max_s} AND end_s BETWEEN 0 AND {max_s}
                                 AND speaker IN ('user', 'persona')
                            THEN NULL ELSE idx END) AS bad_turn
                FROM turns {where_turns} GROUP BY session_id
            ) t ON t.session_id = s.id
            LEFT JOIN scorecards c ON c.session_id = s.id
            {where_sessions}
            ORDER BY s.started_at, s.rowid
            """

    def list_sessions(self, with_scorecards: bool = False) -> list[SessionSummary]:
        """All readable sessions, oldest first. Unreadable ones land in `self.skipped`.

        A damaged page in the database takes down only the sessions whose rows sit on it:
        the listing then falls back to one query per session.
        """
        # One query; json_valid() runs in SQLite's C code, so checking every row stays cheap.
        sql = self._LIST_SQL.format(max_s=schema.MAX_TIME_S, where_turns="", where_sessions="")
        skipped: list[SkippedSession] = []
        try:
            rows = self._query(sql, (int(with_scorecards),))
        except StoreIOError as err:
            if err.kind != "corrupt":
                raise
            rows = self._list_per_session(with_scorecards, skipped)
        out: list[SessionSummary] = []
        host = socket.gethostname()
        for r in rows:
            reason = None
            if not is_token(r["id"]):
                reason = "its id is not a plain id (imported by an older trainer)"
            elif not r["ok_session"]:
                reason = "its session row has unreadable JSON"
            elif r["bad_turn"] is not None:
                reason = f"turn {r['bad_turn']} has unreadable JSON or impossible times"
            elif not r["ok_scorecard"]:
                reason = "its scorecard has unreadable JSON"
            card = None
            if not reason and with_scorecards and r["scorecard_json"] is not None:
                try:
                    card = json.loads(r["scorecard_json"])
                except (ValueError, RecursionError):
                    reason = "its scorecard has unreadable JSON"
                else:
                    try:
                        schema.validate_scorecard(card, "its scorecard")
                    except StoreError as exc:
                        reason = exc.message
            if reason:
                skipped.append(SkippedSession(r["id"], reason))
                continue
            out.append(SessionSummary(
                id=r["id"], persona_id=r["persona_id"], persona_name=str(r["persona_name"]),
                setting=str(r["setting"]), difficulty=str(r["difficulty"]),
                started_at=str(r["started_at"]), ended_at=r["ended_at"], status=r["status"],
                writer_alive=_writer_alive(r["status"], r["writer_pid"], r["writer_host"], host),
                turns=r["n"] or 0, user_turns=r["n_user"] or 0, user_s=r["user_s"] or 0.0,
                persona_s=r["persona_s"] or 0.0, duration_s=r["last_end"] or 0.0,
                scorecard=card,
            ))
        self.skipped = skipped
        return out

    def _list_per_session(self, with_scorecards: bool,
                          skipped: list[SkippedSession]) -> list[sqlite3.Row]:
        """The listing one session at a time, for a db with a damaged page."""
        try:
            ids = [r["id"] for r in self._query("SELECT id FROM sessions ORDER BY rowid")]
        except StoreIOError:
            # the sessions table itself is damaged: read it by rowid, as far as it goes
            ids = []
            for r in self._query("SELECT rowid FROM sessions NOT INDEXED"):
                try:
                    ids += [x["id"] for x in self._query(
                        "SELECT id FROM sessions WHERE rowid = ?", (r["rowid"],))]
                except StoreIOError:
                    continue
        sql = self._LIST_SQL.format(max_s=schema.MAX_TIME_S,
                                    where_turns="WHERE session_id = ?",
                                    where_sessions="WHERE s.id = ?")
        rows: list[sqlite3.Row] = []
        for sid in ids:
            try:
                rows += self._query(sql, (int(with_scorecards), sid, sid))
            except StoreIOError as err:
                skipped.append(SkippedSession(sid, f"its rows sit on a damaged page of "
                                              f"{DB_NAME} ({err.kind}); run `trainer doctor "
                                              "--fix` to salvage the rest"))
        rows.sort(key=lambda r: str(r["started_at"]))
        return rows

    def last_session_id(self) -> str | None:
        """The most recently started session, or None when there are none."""
        rows = self._query("SELECT id FROM sessions ORDER BY started_at DESC, rowid DESC LIMIT 1")
        return rows[0]["id"] if rows else None

    def session_ids(self) -> list[str]:
        """Every stored session id, oldest first (readable or not)."""
        return [r["id"] for r in self._query("SELECT id FROM sessions ORDER BY started_at, rowid")]

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
        """A whole session, every row checked against the schema.

        Raises StoreError naming the session (and turn and field) if any row is unreadable.
        """
        rows = self._query("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise StoreError(f"no session {session_id!r}", hint="list them with `trainer history`")
        s = rows[0]
        hint = (f"`trainer session delete {session_id}` removes it; `trainer doctor` lists "
                "every damaged session")
        where = f"session {session_id} is unreadable"
        try:
            hooks = json.loads(s["hooks_json"])
            meta = json.loads(s["meta_json"])
            recall = None if s["recall_json"] is None else json.loads(s["recall_json"])
        except (TypeError, ValueError, RecursionError) as exc:
            raise StoreError(f"{where}: its session row has broken JSON ({exc})", hint=hint) \
                from None
        try:
            schema.validate_session({
                "id": s["id"], "persona_id": s["persona_id"], "persona_name": s["persona_name"],
                "setting": s["setting"], "difficulty": s["difficulty"],
                "started_at": s["started_at"], "ended_at": s["ended_at"], "status": s["status"],
                "hooks": hooks, "meta": meta}, f"{where}: its session row")
            if recall is not None:
                schema.validate_recall(recall, f"{where}: its recall answers")
        except StoreError as exc:
            exc.hint = hint
            raise
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
                data = json.loads(t["data_json"])
            except (TypeError, ValueError, RecursionError) as exc:
                raise StoreError(f"{where}: turn {t['idx']} has broken data ({exc})",
                                 hint=hint) from None
            try:
                schema.validate_turn(data, f"{where}: turn {t['idx']}")
            except StoreError as exc:
                exc.hint = hint
                raise
            turn = turn_from_dict(data)
            if turn.audio_path:
                path = self._audio_file(turn.audio_path)
                if path is None:
                    record.problems.append(
                        f"session {session_id} turn {turn.index}: audio path "
                        f"{turn.audio_path!r} is outside {self.audio_dir}; not followed")
                    turn = replace(turn, audio_path=None)
                elif path.is_file():
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
            except (ValueError, RecursionError) as exc:
                raise StoreError(f"{where}: its scorecard has broken JSON ({exc})", hint=hint) \
                    from None
            try:
                schema.validate_scorecard(record.scorecard, f"{where}: its scorecard")
            except StoreError as exc:
                exc.hint = (f"`trainer doctor --fix` drops the broken scorecard (`trainer "
                            f"review` scores the round again from its turns); {hint}")
                raise
        return record

    def check_session(self, session_id: str) -> list[tuple[str, str]]:
        """Every part of a session that fails the schema, as (part, message): part is
        "session", "recall", "turn" or "scorecard". Unlike load_session, it does not stop at
        the first problem (for `trainer doctor`)."""
        out: list[tuple[str, str]] = []
        where = f"session {session_id} is unreadable"
        s = self._query("SELECT * FROM sessions WHERE id = ?", (session_id,))
        if not s:
            return [("session", f"no session {session_id!r}")]
        s = s[0]
        checks: list[tuple[str, str, Any, Any]] = [
            ("session", "its session row", None, None),
            ("recall", "its recall answers", s["recall_json"], schema.validate_recall)]
        checks += [("turn", f"turn {t['idx']}", t["data_json"], schema.validate_turn)
                   for t in self._query("SELECT idx, data_json FROM turns WHERE session_id = ?"
                                        " ORDER BY idx", (session_id,))]
        checks += [("scorecard", "its scorecard", c["data_json"], schema.validate_scorecard)
                   for c in self._query("SELECT data_json FROM scorecards WHERE session_id = ?",
                                        (session_id,))]
        for part, label, raw, validate in checks:
            try:
                if part == "session":
                    schema.validate_session({
                        "id": s["id"], "persona_id": s["persona_id"],
                        "persona_name": s["persona_name"], "setting": s["setting"],
                        "difficulty": s["difficulty"], "started_at": s["started_at"],
                        "ended_at": s["ended_at"], "status": s["status"],
                        "hooks": json.loads(s["hooks_json"]), "meta": json.loads(s["meta_json"])},
                        f"{where}: {label}")
                elif raw is not None:
                    validate(json.loads(raw), f"{where}: {label}")
            except (TypeError, ValueError, RecursionError) as exc:
                out.append((part, f"{where}: {label} has broken JSON ({exc})"))
            except StoreError as exc:
                out.append((part, exc.message))
        return out

    def load_audio(self, turn: Turn) -> tuple[np.ndarray, int] | None:
        """A stored turn's audio as (float32 mono, sample rate), or None when it has none."""
        if not turn.audio_path:
            return None
        path = self._audio_file(turn.audio_path)
        if path is None:
            raise StoreError(f"audio of turn {turn.index} ({turn.audio_path}) is outside "
                             f"{self.audio_dir}; not read")
        import soundfile as sf

        try:
            audio, sr = sf.read(path, dtype="float32", always_2d=True)
        except Exception as exc:  # libsndfile raises its own error type
            raise StoreError(f"audio of turn {turn.index} ({turn.audio_path}) is unreadable: "
                             f"{exc}") from None
        return audio.mean(axis=1), sr

    # --- export / import ----------------------------------------------------------------------
    def export_session(self, session_id: str, with_audio: bool = False) -> dict[str, Any]:
        """The session as one JSON-ready dict (format networking-trainer-session, version 1).

        Audio is referenced by absolute path; `with_audio` also embeds each WAV as base64
        (key "audio_wav_base64" on the turn) so the export stands on its own. Only files
        under the store's audio folder are ever read.
        """
        rec = self.load_session(session_id)
        turns = []
        for t in rec.turns:
            d = turn_to_dict(t)
            path = self._audio_file(t.audio_path) if t.audio_path else None
            if with_audio and path is not None:
                try:
                    d["audio_wav_base64"] = base64.b64encode(path.read_bytes()).decode()
                except OSError as exc:
                    raise self._os_error(exc, f"read {path}") from None
            turns.append(d)
        return {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "session": rec.session_dict(),
            "turns": turns,
            "scorecard": rec.scorecard,
            "recall": rec.recall,
        }

    def import_session(self, data: dict[str, Any], source: str = "session export") -> str:
        """Store an exported session (e.g. from a second device); returns its id.

        The whole export is checked first (`trainer.store_schema`); a refusal is one
        StoreError naming the field. Embedded audio is kept only if it decodes as audio, and
        is re-encoded as a 16-bit WAV at audio/<id>/<index>.wav; a referenced `audio_path`
        is never kept (it names a file on the other device, or anywhere at all). What was
        left out is listed in `self.notes`. Importing a session whose id is stored is refused.
        """
        self.notes = []
        doc = schema.validate_export(data, source)
        s = doc.session
        sid = s.id
        if self._query("SELECT 1 FROM sessions WHERE id = ?", (sid,)):
            raise StoreError(f"session {sid} is already stored",
                             hint=f"review it with `trainer review {sid}`")
        folder = self.audio_dir / sid
        if folder.is_dir() and any(folder.iterdir()):
            raise StoreError(f"{source}: {folder} already holds recordings that no stored "
                             "session owns", hint="`trainer doctor` lists orphaned recordings; "
                             "move that folder aside to import this session")
        status = s.status if s.status in ("completed", "interrupted") else "interrupted"
        wavs: dict[str, bytes] = {}
        rows = []
        for i, t in enumerate(doc.turns):
            d = t.model_dump(exclude={"audio_wav_base64"})
            d["audio_path"] = None
            if t.audio_wav_base64:
                rel = self._audio_rel(sid, t.index)
                wavs[rel] = _reencode_audio(t.audio_wav_base64,
                                            f"{source}: turns[{i}].audio_wav_base64")
                d["audio_path"] = rel
            elif t.audio_path:
                self.notes.append(f"turn {t.index}: its audio path was not kept (only embedded "
                                  "recordings are imported: export with --with-audio)")
            rows.append((sid, t.index, t.speaker, float(t.start_s), float(t.end_s), _dumps(d)))
        written: list[Path] = []
        try:
            for rel, wav in wavs.items():
                _write_bytes_atomic(self.root / rel, wav)
                written.append(self.root / rel)
            with self._tx() as conn:
                conn.execute(
                    "INSERT INTO sessions (id, persona_id, persona_name, setting, difficulty,"
                    " started_at, ended_at, status, hooks_json, meta_json, recall_json)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sid, s.persona_id, s.persona_name or s.persona_id, s.setting,
                     s.difficulty, s.started_at, s.ended_at, status,
                     _dumps([h.model_dump() for h in s.hooks]), _dumps(s.meta),
                     None if data.get("recall") is None else _dumps(data["recall"])),
                )
                conn.executemany(
                    "INSERT INTO turns (session_id, idx, speaker, start_s, end_s, data_json)"
                    " VALUES (?, ?, ?, ?, ?, ?)", rows)
                if data.get("scorecard") is not None:
                    conn.execute("INSERT INTO scorecards (session_id, data_json) VALUES (?, ?)",
                                 (sid, _dumps(data["scorecard"])))
        except (OSError, StoreError, sqlite3.IntegrityError) as exc:
            for p in written:
                p.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                folder.rmdir()
            if isinstance(exc, OSError):
                raise self._os_error(exc, f"write the recordings of session {sid}") from None
            if isinstance(exc, sqlite3.IntegrityError):
                raise StoreError(f"{source}: session {sid} is inconsistent ({exc})") from None
            raise
        return sid

    # --- the spool: turns kept through a store failure ----------------------------------------
    def _spool_path(self, session_id: str) -> Path:
        return self.spool_dir / f"{session_id}.json"

    def _reserve_spool(self, session_id: str) -> None:
        """Allocate the session's spool file now (spaces: valid JSON padding), so writing
        into it later needs no free disk space."""
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        path = self._spool_path(session_id)
        try:
            with open(path, "wb") as f:
                f.write(b" " * SPOOL_BYTES)
                f.flush()
                os.fsync(f.fileno())
        except OSError:
            path.unlink(missing_ok=True)
            raise

    def _spool(self, session_id: str, *, turn: dict[str, Any] | None = None,
               finish: dict[str, Any] | None = None) -> Path | None:
        """Write what could not be stored into the session's spool; its path, or None if even
        that failed."""
        with self._lock:
            doc = self._spooled.setdefault(session_id, {"format": SPOOL_FORMAT,
                                                        "session_id": session_id,
                                                        "turns": [], "finish": None})
            if turn is not None:
                doc["turns"] = [t for t in doc["turns"] if t.get("index") != turn.get("index")]
                doc["turns"].append(turn)
            if finish is not None:
                doc["finish"] = finish
            path = self._spool_path(session_id)
            try:
                size = path.stat().st_size if path.exists() else 0
                text = _dumps(doc).encode("utf-8")
                if len(text) > size and doc["finish"] and doc["finish"].get("scorecard"):
                    # the scorecard is derived data: `trainer review` scores the turns again
                    doc["finish"] = {**doc["finish"], "scorecard": None}
                    text = _dumps(doc).encode("utf-8")
                with open(path, "r+b" if size else "wb") as f:
                    f.write(text)
                    if size > len(text):
                        f.write(b" " * (size - len(text)))  # inside the reserved blocks
                    f.flush()
                    os.fsync(f.fileno())
            except OSError:
                return None
            return path

    def _spool_failure(self, session_id: str, index: int | None, err: StoreIOError, *,
                       turn: dict[str, Any] | None = None,
                       finish: dict[str, Any] | None = None) -> StoreIOError:
        what = f"turn {index}" if index is not None else "the end of the round"
        path = self._spool(session_id, turn=turn, finish=finish)
        if finish is not None:  # the round is over: the next Store may recover it
            self._writing.discard(session_id)
            _WRITING.discard(session_id)
        if path is not None:
            whose = "your reply" if turn is not None and turn.get("speaker") == "user" else what
            kept = (f"{whose} is kept in {path} and goes into the store the next time the "
                    "trainer starts")
        else:
            kept = f"it could not be kept in {self.spool_dir} either"
        return StoreIOError(err.kind, f"{err.message}: {what} of session {session_id} was not "
                            "stored", hint=f"{kept}; {err.hint}" if err.hint else kept)

    def _drop_spool(self, session_id: str) -> None:
        with self._lock:
            self._spooled.pop(session_id, None)
            self._writing.discard(session_id)
            _WRITING.discard(session_id)
            with contextlib.suppress(OSError):
                self._spool_path(session_id).unlink(missing_ok=True)

    def _recover_spool(self) -> None:
        """Store what earlier rounds had to spool (called once, when the db is opened)."""
        try:
            files = sorted(p for p in self.spool_dir.glob("*.json") if p.is_file())
        except OSError:
            return
        host = socket.gethostname()
        for path in files:
            sid = path.stem
            if not is_token(sid):
                continue
            if sid in _WRITING:
                continue  # a round of this process is writing it
            try:
                rows = self._query("SELECT status, writer_pid, writer_host FROM sessions"
                                   " WHERE id = ?", (sid,))
                running = bool(rows) and rows[0]["writer_pid"] != os.getpid() and _writer_alive(
                    rows[0]["status"], rows[0]["writer_pid"], rows[0]["writer_host"], host)
                if path.stat().st_size > 64 * SPOOL_BYTES:
                    self.recovered.append(f"spool {path}: too large to be a spool; left alone")
                    continue
                text = path.read_bytes().strip()
            except (OSError, StoreError):
                continue
            # A spool that holds the round's end is over even if its process still runs (a
            # round that failed on a full disk); one without it belongs to a running round.
            if running and b'"finish":null' in text[-200:] or running and not text:
                continue
            if not text:  # an unused reservation (the round was killed): nothing to keep
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            if not rows:
                self.recovered.append(f"spool {path}: its session {sid} is not in the store; "
                                      "left alone")
                continue
            try:
                doc = json.loads(text)
                if not isinstance(doc, dict) or doc.get("format") != SPOOL_FORMAT:
                    raise ValueError("not a spool file")
                turns = doc.get("turns") or []
                for t in turns:
                    schema.validate_turn(t, f"spool {path}")
                    if t.get("audio_path") and self._audio_file(t["audio_path"]) is None:
                        t["audio_path"] = None
                finish = doc.get("finish") or {}
                with self._tx() as conn:
                    n = _insert_spooled_turns(conn, sid, turns)
                    status = finish.get("status")
                    conn.execute(
                        "UPDATE sessions SET status = ?, ended_at = COALESCE(ended_at, ?),"
                        " recall_json = COALESCE(?, recall_json), writer_pid = NULL,"
                        " writer_host = NULL WHERE id = ? AND status = 'in_progress'",
                        (status if status in ("completed", "interrupted") else "interrupted",
                         finish.get("ended_at") or _now().isoformat(timespec="seconds"),
                         None if finish.get("recall") is None else _dumps(finish["recall"]),
                         sid))
                    if finish.get("scorecard") is not None:
                        conn.execute("INSERT OR IGNORE INTO scorecards (session_id, data_json)"
                                     " VALUES (?, ?)", (sid, _dumps(finish["scorecard"])))
            except (ValueError, RecursionError, StoreError) as exc:
                msg = getattr(exc, "message", None) or str(exc)
                self.recovered.append(f"spool {path} could not be stored yet ({msg}); kept")
                continue
            with contextlib.suppress(OSError):
                path.unlink()
            self.recovered.append(f"session {sid}: {n} turn(s) kept in the spool when the "
                                  "store could not be written are now stored")

    # --- helpers ------------------------------------------------------------------------------
    def _require(self, session_id: str) -> None:
        if not self._query("SELECT 1 FROM sessions WHERE id = ?", (session_id,)):
            raise StoreError(f"no session {session_id!r}", hint="start it with start_session()")

    def _audio_folder(self, session_id: str) -> Path | None:
        """audio/<id>, or None for an id that is not a plain token (never a path of its own)."""
        return self.audio_dir / session_id if is_token(session_id) else None

    def _audio_rel(self, session_id: str, index: int) -> str:
        if not is_token(session_id) or isinstance(index, bool) or not isinstance(index, int) \
                or index < 0:
            raise StoreError(f"session {session_id!r} turn {index!r}: not a plain id and index",
                             hint="ids are letters, digits, _ and -; indexes whole numbers")
        return f"audio/{session_id}/{index}.wav"

    def _audio_file(self, audio_path: str) -> Path | None:
        """A stored audio path as a file under audio/, or None if it leads anywhere else."""
        path = Path(audio_path)
        if not path.is_absolute():
            path = self.root / path
        try:
            inside = path.resolve().is_relative_to(self.audio_dir.resolve())
        except (OSError, RuntimeError, ValueError):
            return None
        return path if inside else None


def _rollback(conn: sqlite3.Connection) -> None:
    # after SQLITE_FULL, SQLite may have rolled back already ("no transaction is active")
    with contextlib.suppress(sqlite3.Error):
        conn.execute("ROLLBACK")


def _insert_spooled_turns(conn: sqlite3.Connection, session_id: str,
                          turns: list[dict[str, Any]]) -> int:
    n = 0
    for t in turns:
        cur = conn.execute(
            "INSERT OR IGNORE INTO turns (session_id, idx, speaker, start_s, end_s, data_json)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (session_id, int(t["index"]), t["speaker"], float(t.get("start_s") or 0.0),
             float(t.get("end_s") or 0.0), _dumps(t)))
        n += cur.rowcount
    return n


def _reencode_audio(b64: str, where: str) -> bytes:
    """Embedded audio from an import: base64 that decodes as audio, re-encoded as our WAV."""
    import soundfile as sf

    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise StoreError(f"{where}: expected base64-encoded audio") from None
    try:
        audio, sr = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
    except Exception:  # libsndfile raises its own error type for anything it cannot decode
        raise StoreError(f"{where}: expected a WAV, FLAC or OGG recording, got {len(raw)} bytes "
                         "that do not decode as audio") from None
    if not 4_000 <= sr <= 192_000 or not len(audio) or len(audio) / sr > schema.MAX_TIME_S:
        raise StoreError(f"{where}: expected a recording at 4-192 kHz of up to a day, got "
                         f"{len(audio)} samples at {sr} Hz")
    if not np.isfinite(audio).all():
        raise StoreError(f"{where}: the recording holds samples that are not numbers")
    return _wav_bytes(audio.mean(axis=1), sr)


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip() and not s.strip().startswith("--")]


def _now() -> datetime:
    return datetime.now(UTC).astimezone()  # local time with its UTC offset


def _dumps(obj: Any) -> str:
    """JSON as the store keeps it: never NaN or Infinity (not JSON: SQLite's json_valid and the
    schema refuse them), so a non-finite number becomes null."""
    try:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False,
                          default=_json_default)
    except ValueError:
        return json.dumps(_finite_only(obj), ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False, default=_json_default)


def _finite_only(obj: Any) -> Any:
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_only(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite_only(v) for v in obj]
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, tuple | set | frozenset):
        return list(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _hook_dict(h: Any) -> dict[str, Any]:
    """Accept a HookCue or a dict; store {"id", "cues", "label", "suggestion"} (the schema's
    HookIn: other keys would make the session unreadable)."""
    if not isinstance(h, dict):
        h = {k: getattr(h, k, None) for k in ("id", "cues", "label", "suggestion")}
    return {"id": str(h["id"]), "cues": list(h.get("cues") or []),
            "label": h.get("label") or "", "suggestion": h.get("suggestion") or ""}


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
    """Write to a temp file in the same folder, fsync, then rename: never a half-written WAV,
    and no .tmp left behind when the write fails (a full disk). Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
