"""The session store: round-trips, crash safety (SIGKILL), damage contained per session."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from session_helpers import HOOKS, RECALL, realistic_turns, tone, write_round

from trainer.errors import StoreError
from trainer.store import EXPORT_FORMAT, SCHEMA_VERSION, Store
from trainer.types import turn_to_dict

ROOT = Path(__file__).resolve().parent.parent


def real_scorecard() -> dict:
    """The scorecard `trainer practice` stores for the realistic round."""
    from trainer.report.review import hook_cues
    from trainer.scoring import score_round

    return score_round(realistic_turns(), hook_cues(HOOKS), "Dana").to_dict()


def test_round_trip_keeps_every_field_and_the_audio(trainer_home):
    store = Store()
    card = real_scorecard()
    sid = write_round(store, scorecard=card, recall=RECALL)

    rec = Store().load_session(sid)  # a fresh instance reads what the first wrote
    assert rec.persona_name == "Dana Reyes" and rec.setting == "career fair"
    assert rec.state == "completed" and rec.ended_at
    assert rec.hooks == HOOKS
    assert rec.meta == {"seed": 7, "engine": "faster-whisper"}
    assert rec.scorecard == card and rec.recall == RECALL
    assert rec.problems == []
    want = realistic_turns()
    assert len(rec.turns) == len(want)
    for got, exp in zip(rec.turns, want, strict=True):
        g, e = turn_to_dict(got), turn_to_dict(exp)
        g.pop("audio_path"), e.pop("audio_path")
        assert g == e
    users = [t for t in rec.turns if t.speaker == "user"]
    assert all(t.audio_path and t.audio_path.startswith(str(trainer_home)) for t in users)
    assert all(t.audio_path is None for t in rec.turns if t.speaker == "persona")
    # the WAV is 16-bit at 16 kHz and holds the samples we gave (to 16-bit precision)
    info = sf.info(users[0].audio_path)
    assert (info.samplerate, info.subtype, info.channels) == (16000, "PCM_16", 1)
    audio, sr = store.load_audio(users[0])
    assert sr == 16000
    assert np.max(np.abs(audio - tone(users[0].duration_s))) < 1e-3


def test_add_turn_returns_turn_with_audio_path_and_sessions_sort(trainer_home):
    store = Store()
    sid = store.start_session("dana", "Dana Reyes", "career fair", "easy", HOOKS)
    assert len(sid) == len("20261122-014500-ab12") and sid[8] == "-"
    turn = realistic_turns(2)[1]
    stored = store.add_turn(sid, turn, audio=tone(1.0) * 8)  # clipping input is clamped
    assert stored.audio_path == str(trainer_home / "audio" / sid / "1.wav")
    assert Path(stored.audio_path).is_file()
    assert not list((trainer_home / "audio" / sid).glob(".*tmp"))  # temp file renamed away
    with pytest.raises(StoreError, match="turn 1 is already stored"):
        store.add_turn(sid, turn)
    sid2 = store.start_session("omar", "Omar", "meetup", "hard", [])
    assert [s.id for s in store.list_sessions()] == [sid, sid2]
    assert store.last_session_id() == sid2
    assert store.resolve_id(None) == sid2
    assert store.resolve_id(sid) == sid
    assert store.resolve_id(sid2[:-1]) == sid2  # a unique prefix is enough
    with pytest.raises(StoreError, match="ambiguous"):
        store.resolve_id(sid[:4])


def test_schema_is_versioned_and_wal(trainer_home):
    Store().list_sessions()
    conn = sqlite3.connect(trainer_home / "trainer.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "turns", "scorecards"} <= tables
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="schema version") as exc:
        Store().list_sessions()
    assert "upgrade" in exc.value.hint


def test_session_killed_mid_round_reads_back_every_finished_turn(trainer_home):
    """A real process writes turns and is SIGKILLed; every turn it reported stored is there."""
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from session_helpers import HOOKS, realistic_turns, tone
        from trainer.store import Store
        store = Store()
        sid = store.start_session("dana", "Dana Reyes", "career fair", "easy", HOOKS)
        print("session", sid, flush=True)
        turns = realistic_turns()
        i = 0
        while True:  # keep writing until killed, like a long round
            t = turns[i % len(turns)]
            t.index = i
            audio = tone(t.duration_s) if t.speaker == "user" else None
            store.add_turn(sid, t, audio=audio)
            print("stored", i, flush=True)
            i += 1
            time.sleep(0.005)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ), cwd=ROOT)
    sid = proc.stdout.readline().split()[1]
    reported = -1
    while reported < 25:
        line = proc.stdout.readline()
        assert line, "writer died before it was killed"
        reported = int(line.split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    store = Store()
    [summary] = store.list_sessions()
    assert summary.id == sid and summary.status == "in_progress"
    assert summary.state == "interrupted"  # its writer is gone
    rec = store.load_session(sid)
    assert rec.state == "interrupted" and rec.problems == []
    # every reported turn is there, in order (the one in flight may or may not have committed)
    idx = [t.index for t in rec.turns]
    assert idx == list(range(len(idx))) and len(idx) >= reported + 1
    for t in rec.turns:
        if t.speaker == "user":
            audio, _ = store.load_audio(t)  # a complete, readable WAV for each stored user turn
            assert len(audio) == int(t.duration_s * 16000)
    # the interrupted round can be closed later and still reads back
    store.finish_session(sid, "interrupted")
    assert store.load_session(sid).ended_at


def test_running_session_is_in_progress_not_interrupted(trainer_home):
    store = Store()
    sid = store.start_session("dana", "Dana Reyes", "career fair", "easy", HOOKS)
    assert store.list_sessions()[0].state == "in_progress"  # this process is alive
    store.finish_session(sid, "completed")
    assert store.list_sessions()[0].state == "completed"


def test_corrupt_session_is_skipped_and_named_the_rest_loads(trainer_home):
    store = Store()
    good1 = write_round(store, n=4)
    bad_turn = write_round(store, n=4)
    bad_row = write_round(store, n=2)
    bad_card = write_round(store, n=2, scorecard=real_scorecard())
    good2 = write_round(store, n=6)
    conn = sqlite3.connect(trainer_home / "trainer.db")
    conn.execute("UPDATE turns SET data_json = '{\"index\": 2, \"text\": ' "
                 "WHERE session_id = ? AND idx = 2", (bad_turn,))
    conn.execute("UPDATE sessions SET hooks_json = '[{oops' WHERE id = ?", (bad_row,))
    conn.execute("UPDATE scorecards SET data_json = 'nan-json' WHERE session_id = ?", (bad_card,))
    conn.commit()
    conn.close()

    listed = store.list_sessions()
    assert [s.id for s in listed] == [good1, good2]
    skipped = {s.id: s.reason for s in store.skipped}
    assert set(skipped) == {bad_turn, bad_row, bad_card}
    assert "turn 2" in skipped[bad_turn]
    with pytest.raises(StoreError, match=f"session {bad_turn} is unreadable: turn 2"):
        store.load_session(bad_turn)
    with pytest.raises(StoreError, match=f"session {bad_row} is unreadable"):
        store.load_session(bad_row)
    assert len(store.load_session(good2).turns) == 6


def test_missing_audio_file_is_reported_and_the_transcript_still_loads(trainer_home):
    store = Store()
    sid = write_round(store, n=4)
    (trainer_home / "audio" / sid / "3.wav").unlink()
    rec = store.load_session(sid)
    assert len(rec.turns) == 4
    assert rec.turns[3].audio_path is None and rec.turns[1].audio_path
    assert rec.problems == [f"session {sid} turn 3: audio file "
                            f"{trainer_home / 'audio' / sid / '3.wav'} is missing"]


def test_corrupt_db_file_is_one_clear_error(trainer_home):
    (trainer_home / "trainer.db").write_bytes(b"this is not sqlite at all " * 200)
    with pytest.raises(StoreError) as exc:
        Store().list_sessions()
    assert "trainer.db is not an SQLite database" in exc.value.message
    assert "\n" not in exc.value.message and "trainer doctor --fix" in exc.value.hint


def test_export_import_round_trip_with_embedded_audio(trainer_home, tmp_path):
    src = Store()
    sid = write_round(src, scorecard=real_scorecard(), recall=RECALL)
    plain = src.export_session(sid)
    assert plain["format"] == EXPORT_FORMAT and plain["version"] == 1
    assert set(plain) == {"format", "version", "session", "turns", "scorecard", "recall"}
    assert set(plain["session"]) == {"id", "persona_id", "persona_name", "setting", "difficulty",
                                     "started_at", "ended_at", "status", "hooks", "meta"}
    assert plain["turns"][0] == turn_to_dict(src.load_session(sid).turns[0])
    data = json.loads(json.dumps(src.export_session(sid, with_audio=True)))

    other = Store(tmp_path / "second-device")
    assert other.import_session(data) == sid
    rec, orig = other.load_session(sid), src.load_session(sid)
    assert rec.scorecard == orig.scorecard and rec.recall == orig.recall
    assert [t.text for t in rec.turns] == [t.text for t in orig.turns]
    for a, b in zip(rec.turns, orig.turns, strict=True):
        if b.audio_path:
            assert a.audio_path.startswith(str(tmp_path / "second-device"))
            assert Path(a.audio_path).read_bytes() == Path(b.audio_path).read_bytes()
    with pytest.raises(StoreError, match="already stored"):
        other.import_session(data)
    with pytest.raises(StoreError, match="not a session export"):
        other.import_session({"turns": []})
    broken = json.loads(json.dumps(plain))
    broken["session"]["id"] = "x1"
    broken["turns"][1]["index"] = 0  # two turns with index 0
    with pytest.raises(StoreError, match=r"turns\[1\]\.index: turn 0 appears twice"):
        other.import_session(broken)
    assert [s.id for s in other.list_sessions()] == [sid]


def test_listing_a_thousand_rounds_returns_them_all(trainer_home):
    store = Store()
    turns = realistic_turns()
    conn = store.conn
    # bulk-insert through SQL so the test stays fast; listing is what is under test
    conn.execute("BEGIN")
    for k in range(1000):
        sid = f"20260101-{k:06d}-abcd"
        conn.execute("INSERT INTO sessions (id, persona_id, persona_name, started_at, status)"
                     " VALUES (?, 'dana', 'Dana Reyes', ?, 'completed')",
                     (sid, f"2026-01-01T00:00:{k:06d}"))
        conn.executemany("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?)",
                         [(sid, t.index, t.speaker, t.start_s, t.end_s,
                           json.dumps(turn_to_dict(t))) for t in turns])
    conn.execute("COMMIT")
    listed = store.list_sessions()
    assert len(listed) == 1000 and not store.skipped
    assert listed[0].turns == len(turns) and listed[0].user_turns == 5
    assert listed[0].user_s == pytest.approx(sum(t.duration_s for t in turns
                                                  if t.speaker == "user"))
    assert 0.3 < listed[-1].talk_share < 0.6


def test_unknown_session_and_bad_status(trainer_home):
    store = Store()
    with pytest.raises(StoreError, match="no sessions stored yet"):
        store.resolve_id(None)
    with pytest.raises(StoreError, match="no session 'nope'"):
        store.load_session("nope")
    sid = store.start_session("dana", "Dana Reyes", "career fair", "easy", HOOKS)
    with pytest.raises(StoreError, match="unknown session status"):
        store.finish_session(sid, "done")
    store.add_turn(sid, realistic_turns(2)[1], audio=tone(0.5))
    store.delete_session(sid)
    assert store.list_sessions() == []
    assert not (trainer_home / "audio" / sid).exists()


def test_processes_writing_at_once_to_a_fresh_store_all_succeed(trainer_home):
    """Three rounds written in parallel by separate processes on a store that does not exist."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from session_helpers import write_round
        from trainer.store import Store
        print(write_round(Store(), n=5))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=ROOT) for _ in range(3)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        ids.append(out.strip())
    listed = Store().list_sessions()
    assert sorted(s.id for s in listed) == sorted(ids)
    assert all(s.turns == 5 and s.state == "completed" for s in listed)


def test_turns_can_be_written_from_a_worker_thread(trainer_home):
    import threading

    store = Store()
    sid = store.start_session("dana", "Dana Reyes", "career fair", "easy", HOOKS)
    errors = []

    def worker():
        try:
            for t in realistic_turns(4):
                store.add_turn(sid, t, audio=tone(0.2) if t.speaker == "user" else None)
        except Exception as exc:  # surfaced by the assert below
            errors.append(exc)

    th = threading.Thread(target=worker)
    th.start()
    th.join()
    assert errors == []
    assert len(store.load_session(sid).turns) == 4
