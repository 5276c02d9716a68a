"""`trainer doctor`: check the session store, say what is wrong, and repair what can be repaired.

Checks, in order: the trainer.db file itself (missing or 0 bytes beside recordings, not SQLite,
a write-ahead log deleted under a running trainer), SQLite's integrity check, every session
against the schema (`trainer.store_schema`), sessions whose round was killed, spool files, and
the audio folder (recordings no session owns, half-written .tmp files).

With `fix`, the repairs are: a lost or non-SQLite trainer.db is set aside (renamed, never
deleted) and a new store started; a damaged database is salvaged (every readable session copied
into a new trainer.db, the damaged file kept beside it); a scorecard that fails the schema is
dropped (`trainer review` scores the round again from its turns); killed rounds are marked
interrupted; .tmp files are removed. Recordings are never deleted: orphaned ones are listed with
what to do.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from trainer import store_schema as schema
from trainer.errors import StoreError
from trainer.store import DB_NAME, MIGRATIONS, SCHEMA_VERSION, Store, StoreIOError, _statements


@dataclass
class Finding:
    """One thing the doctor found: what, and the fix (done, or for the user to do)."""

    kind: str  # db_file | integrity | damaged_session | interrupted | orphaned_audio | tmp_file
    #            | spool
    message: str
    fix: str = ""
    fixed: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class DoctorReport:
    root: Path
    sessions: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing left that needs the user (fixed findings and plain notes do not count)."""
        return all(f.fixed or f.kind == "interrupted" for f in self.findings)

    def to_dict(self) -> dict:
        return {"root": str(self.root), "sessions": self.sessions, "ok": self.ok,
                "findings": [f.to_dict() for f in self.findings]}


def run_doctor(root: Path | None = None, fix: bool = False) -> DoctorReport:
    """Check the store under `root` (default: the data folder); repair what can be with `fix`."""
    store = Store(root)
    report = DoctorReport(store.root)
    if not _check_db_file(store, report, fix):
        return report
    store = Store(store.root, new_ok=fix)
    try:
        store.conn  # noqa: B018 - opening it runs the spool recovery
    except StoreIOError as err:
        report.findings.append(Finding("db_file", err.message, err.hint or ""))
        return report
    for note in store.recovered:
        report.findings.append(Finding("spool", note, fixed="now stored" in note,
                                       fix="" if "now stored" in note else
                                       "free disk space, then run `trainer doctor` again"))
    if not _check_integrity(store, report, fix):
        return report
    if fix and any(f.kind == "integrity" and f.fixed for f in report.findings):
        store = Store(store.root)
    ids = store.session_ids()
    report.sessions = len(ids)
    _check_sessions(store, ids, report, fix)
    _check_audio(store, set(ids), report, fix)
    store.close()
    return report


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _set_aside(store: Store, label: str) -> Path:
    """Rename trainer.db (and its -wal/-shm) to trainer.db.<label>-<time>; returns the new name."""
    target = store.db_path.with_name(f"{DB_NAME}.{label}-{_stamp()}")
    for suffix in ("", "-wal", "-shm"):
        src = store.db_path.with_name(DB_NAME + suffix)
        if src.exists():
            src.replace(target.with_name(target.name + suffix))
    return target


def _check_db_file(store: Store, report: DoctorReport, fix: bool) -> bool:
    """Can trainer.db be opened at all? False: it cannot, and was not repaired."""
    probe = Store(store.root)
    try:
        probe.conn  # noqa: B018 - opening is the check
        probe.close()
        return True
    except StoreIOError as err:
        kind, message, hint = err.kind, err.message, err.hint or ""
    finding = Finding("db_file", message, hint)
    report.findings.append(finding)
    if not fix:
        return False
    if kind in ("lost", "not_a_database"):
        exists = store.db_path.exists()
        aside = _set_aside(store, "lost" if kind == "lost" else "damaged") if exists else None
        finding.fixed = True
        finding.fix = (f"set {DB_NAME} aside as {aside.name} and started a new store"
                       if aside else "started a new store") + \
            "; the recordings stay in audio/ (listed below as orphaned)"
    return finding.fixed


def _check_integrity(store: Store, report: DoctorReport, fix: bool) -> bool:
    """SQLite's own check; with `fix`, a damaged db is salvaged. False: cannot go on."""
    try:
        rows = store.conn.execute("PRAGMA integrity_check(20)").fetchall()
        problems = [r[0] for r in rows if r[0] != "ok"]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    if not problems:
        return True
    finding = Finding("integrity", f"{store.db_path} is damaged: {problems[0]}"
                      + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                      "run `trainer doctor --fix` to copy every readable session into a new "
                      "store (the damaged file is kept)")
    report.findings.append(finding)
    if fix:
        copied, lost = salvage(store)
        finding.fixed = True
        finding.fix = (f"copied {copied} readable session(s) into a new {DB_NAME}"
                       + (f"; lost (rows on damaged pages): {', '.join(lost)}" if lost else "")
                       + "; the damaged file is kept beside it")
    return True


def salvage(store: Store) -> tuple[int, list[str]]:
    """Copy every readable session of a damaged store into a new trainer.db.

    Returns (sessions copied, ids lost). The damaged file is renamed trainer.db.damaged-<time>.
    """
    new_path = store.db_path.with_name(f".{DB_NAME}.salvage-{_stamp()}")
    new = sqlite3.connect(new_path, isolation_level=None)
    try:
        new.execute("PRAGMA journal_mode = WAL")
        for script in MIGRATIONS:
            for stmt in _statements(script):
                new.execute(stmt)
        new.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        old = store.conn
        ids: list[str] = []
        with contextlib.suppress(sqlite3.DatabaseError):
            for (rowid,) in old.execute("SELECT rowid FROM sessions NOT INDEXED").fetchall():
                with contextlib.suppress(sqlite3.DatabaseError):
                    ids += [r[0] for r in old.execute("SELECT id FROM sessions WHERE rowid = ?",
                                                      (rowid,))]
        copied, lost = 0, []
        for sid in ids:
            try:
                srow = old.execute("SELECT * FROM sessions WHERE id = ?", (sid,)).fetchone()
                turns = old.execute("SELECT * FROM turns WHERE session_id = ?", (sid,)).fetchall()
                cards = old.execute("SELECT * FROM scorecards WHERE session_id = ?",
                                    (sid,)).fetchall()
            except sqlite3.DatabaseError:
                lost.append(sid)
                continue
            new.execute("BEGIN")
            new.execute(f"INSERT INTO sessions VALUES ({', '.join('?' * len(srow))})", srow)
            new.executemany("INSERT OR IGNORE INTO turns VALUES (?, ?, ?, ?, ?, ?)", turns)
            new.executemany("INSERT OR IGNORE INTO scorecards VALUES (?, ?)", cards)
            new.execute("COMMIT")
            copied += 1
        new.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        new.close()
    store.close()
    _set_aside(store, "damaged")
    new_path.replace(store.db_path)
    for suffix in ("-wal", "-shm"):
        new_path.with_name(new_path.name + suffix).unlink(missing_ok=True)
    return copied, lost


def _check_sessions(store: Store, ids: list[str], report: DoctorReport, fix: bool) -> None:
    for sid in ids:
        if not schema.is_token(sid):
            report.findings.append(Finding(
                "damaged_session", f"session {sid!r}: its id is not a plain id (imported by an "
                "older trainer; it may have written files outside the data folder)",
                f"trainer session delete {sid!r} (removes its rows only)"))
            continue
        try:
            parts = store.check_session(sid)
        except StoreIOError as err:
            report.findings.append(Finding("damaged_session", err.message, err.hint or ""))
            continue
        for part, message in parts:
            finding = Finding("damaged_session", message, f"trainer session delete {sid}")
            report.findings.append(finding)
            if part == "scorecard":
                finding.fix = ("`trainer doctor --fix` drops the scorecard (`trainer review` "
                               "scores the round again from its turns)")
                if fix:
                    with store._tx() as conn:
                        conn.execute("DELETE FROM scorecards WHERE session_id = ?", (sid,))
                    finding.fixed = True
                    finding.fix = "dropped the broken scorecard; `trainer review` scores the " \
                        "round again from its turns"
        if parts and any(p != "scorecard" for p, _ in parts) or (parts and not fix):
            continue
        try:
            rec = store.load_session(sid)
        except StoreError as err:
            report.findings.append(Finding("damaged_session", err.message, err.hint or ""))
            continue
        for problem in rec.problems:
            report.findings.append(Finding("damaged_session", problem,
                                           "the transcript is kept; that turn has no audio"))
        if rec.status == "in_progress" and not rec.writer_alive:
            finding = Finding("interrupted", f"session {sid}: its round stopped without "
                              f"closing ({len(rec.turns)} turn(s) kept); shown as interrupted",
                              "`trainer doctor --fix` marks it interrupted")
            report.findings.append(finding)
            if fix:
                with store._tx() as conn:
                    conn.execute("UPDATE sessions SET status = 'interrupted', writer_pid = NULL,"
                                 " writer_host = NULL WHERE id = ? AND status = 'in_progress'",
                                 (sid,))
                finding.fixed = True
                finding.fix = "marked interrupted"


def _check_audio(store: Store, ids: set[str], report: DoctorReport, fix: bool) -> None:
    if not store.audio_dir.is_dir():
        return
    referenced: set[Path] = set()
    unreadable: set[str] = set()  # sessions on a damaged page: their files are not judged
    for sid in ids:
        try:
            rows = store._query("SELECT data_json FROM turns WHERE session_id = ?", (sid,))
        except StoreIOError:
            unreadable.add(sid)
            continue
        for row in rows:
            with contextlib.suppress(ValueError, TypeError, RecursionError, AttributeError):
                rel = json.loads(row["data_json"]).get("audio_path")
                if isinstance(rel, str) and store._audio_file(rel) is not None:
                    path = Path(rel)
                    referenced.add((path if path.is_absolute() else store.root / path).resolve())
    for tmp in sorted(store.audio_dir.rglob("*.tmp")):
        finding = Finding("tmp_file", f"{tmp}: a half-written recording (a write that failed)",
                          "`trainer doctor --fix` removes it")
        report.findings.append(finding)
        if fix:
            tmp.unlink(missing_ok=True)
            finding.fixed, finding.fix = True, "removed"
    for folder in sorted(p for p in store.audio_dir.iterdir() if p.is_dir()):
        files = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix != ".tmp")
        if folder.name not in ids:
            if files:
                report.findings.append(Finding(
                    "orphaned_audio", f"{folder}: {len(files)} recording(s) of a session that "
                    "is not in the store", "keep them (e.g. restore the trainer.db they belong "
                    f"to), or delete {folder} if you do not need them"))
            continue
        if folder.name in unreadable:
            continue
        loose = [f for f in files if f.resolve() not in referenced]
        if loose:
            report.findings.append(Finding(
                "orphaned_audio", f"{folder}: {len(loose)} recording(s) no turn refers to "
                f"({', '.join(f.name for f in loose[:3])}{', ...' if len(loose) > 3 else ''})",
                "left alone: a recording whose turn was never stored (e.g. a full disk)"))
