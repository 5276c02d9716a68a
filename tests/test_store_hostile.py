"""Hostile data for the store (issue 14): imports built to escape the data folder, to crash every
reader or to eat memory; rows an older trainer let in; a full disk, a read-only folder, a
truncated, damaged or WAL-less trainer.db; a round where nothing is said. Real SQLite on disk
throughout; the full disk is a real tmpfs when the tests run as root (else skipped) and a real
SQLITE_FULL from `PRAGMA max_page_count` everywhere.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from session_helpers import HOOKS, RECALL, realistic_turns, tone, write_round

from trainer.errors import StoreError
from trainer.store import SPOOL_BYTES, Store, StoreIOError
from trainer.types import Turn

PASSWD = Path("/etc/passwd")


def _export(store: Store, sid: str, with_audio: bool = True) -> dict:
    return json.loads(json.dumps(store.export_session(sid, with_audio=with_audio)))


# SQLite's side files come and go as any connection opens or closes, also the connections of
# earlier tests (their homes share `root`) when the garbage collector closes them: a clean-clone
# CI run saw two such -wal/-shm pairs vanish mid-test. An import writes turn audio (.wav) and
# the database, never these by a name from the document.
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and not p.name.endswith(_SQLITE_SIDE_FILES)}


def _one_line(exc: StoreError) -> str:
    assert "\n" not in exc.message, exc.message
    return exc.message


@pytest.fixture
def export_doc(trainer_home) -> dict:
    """A real export (with audio) of a scored round, from a store that is then deleted."""
    src = Store(trainer_home / "source-device")
    sid = write_round(src, score=True, recall=RECALL)
    doc = _export(src, sid)
    src.close()
    return doc


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 3 MB filesystem (tmpfs): needs root to mount, else the test is skipped."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)],
                         capture_output=True, text=True)
    if res.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(disk: Path) -> Path:
    """Write a filler file until the disk is full; returns it (delete it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for chunk in (65536, 512):  # then the last few KB
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


# --- probe 1: ids and indexes that name paths; audio that is not audio --------------------------
@pytest.mark.parametrize("where, value", [
    ("id", "../../escaped"),
    ("id", "x/../{existing}"),
    ("index", "../../../tmp/evil"),
    ("index", -1),
    ("index", True),
    ("index", 1.5),
])
def test_an_import_cannot_name_a_path_with_its_id_or_turn_index(trainer_home, export_doc, where,
                                                                 value):
    store = Store()
    existing = store.import_session(copy.deepcopy(export_doc))
    before = _files_under(trainer_home.parent)
    doc = copy.deepcopy(export_doc)
    if where == "id":
        doc["session"]["id"] = value.format(existing=existing)
    else:
        doc["turns"][1]["index"] = value
    with pytest.raises(StoreError) as exc:
        store.import_session(doc)
    msg = _one_line(exc.value)
    assert ("session.id:" if where == "id" else "turns[1].index:") in msg
    assert _files_under(trainer_home.parent) == before  # nothing written, nothing overwritten
    assert [s.id for s in store.list_sessions()] == [existing]


def test_embedded_audio_must_decode_as_audio_and_is_re_encoded_by_us(trainer_home, export_doc):
    store = Store()
    doc = copy.deepcopy(export_doc)
    user = next(i for i, t in enumerate(doc["turns"]) if t.get("audio_wav_base64"))
    doc["turns"][user]["audio_wav_base64"] = base64.b64encode(b"#!/bin/sh\nrm -rf ~\n").decode()
    with pytest.raises(StoreError, match=rf"turns\[{user}\]\.audio_wav_base64: expected a WAV"):
        store.import_session(doc)
    doc["turns"][user]["audio_wav_base64"] = "not base64 at all!"
    with pytest.raises(StoreError, match="expected base64-encoded audio"):
        store.import_session(doc)
    assert not (trainer_home / "audio").exists() or not _files_under(trainer_home / "audio")

    # a FLAC is audio: it is kept, as our own 16-bit WAV at audio/<id>/<index>.wav
    buf = io.BytesIO()
    sf.write(buf, tone(1.0, sr=22_050), 22_050, format="FLAC")
    doc["turns"][user]["audio_wav_base64"] = base64.b64encode(buf.getvalue()).decode()
    sid = store.import_session(doc)
    idx = doc["turns"][user]["index"]
    wav = trainer_home / "audio" / sid / f"{idx}.wav"
    info = sf.info(wav)
    assert (info.format, info.subtype, info.samplerate) == ("WAV", "PCM_16", 22_050)
    assert store.load_session(sid).turns[user].audio_path == str(wav)


# --- probe 2: an audio path pointing at any file --------------------------------------------
def test_an_imported_audio_path_to_etc_passwd_is_never_kept_or_read(trainer_home, export_doc,
                                                                   cli, tmp_path):
    doc = copy.deepcopy(export_doc)
    for t in doc["turns"]:
        t.pop("audio_wav_base64", None)
        t["audio_path"] = str(PASSWD)
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(doc))
    res = cli("session", "import", str(path))
    assert res.returncode == 0, res.stderr
    assert "its audio path was not kept" in res.stderr
    sid = doc["session"]["id"]
    assert all(t.audio_path is None for t in Store().load_session(sid).turns)
    _assert_passwd_never_leaks(cli, sid, tmp_path)


def test_an_old_row_pointing_at_etc_passwd_is_not_followed(trainer_home, cli, tmp_path):
    store = Store()
    sid = write_round(store, n=4, score=True)
    # as an older trainer stored it: an absolute audio_path outside the data folder
    conn = sqlite3.connect(trainer_home / "trainer.db")
    row = conn.execute("SELECT data_json FROM turns WHERE session_id = ? AND idx = 1",
                       (sid,)).fetchone()
    data = json.loads(row[0])
    data["audio_path"] = str(PASSWD)
    conn.execute("UPDATE turns SET data_json = ? WHERE session_id = ? AND idx = 1",
                 (json.dumps(data), sid))
    conn.commit()
    conn.close()
    rec = store.load_session(sid)
    assert rec.turns[1].audio_path is None
    assert any("outside" in p and "not followed" in p for p in rec.problems)
    _assert_passwd_never_leaks(cli, sid, tmp_path)


def _assert_passwd_never_leaks(cli, sid: str, tmp_path: Path) -> None:
    secret = PASSWD.read_bytes()[:24]
    res = cli("session", "export", sid, "--with-audio")
    assert res.returncode == 0, res.stderr
    embedded = [base64.b64decode(t["audio_wav_base64"]) for t in json.loads(res.stdout)["turns"]
                if t.get("audio_wav_base64")]
    assert all(secret not in b for b in embedded)
    assert base64.b64encode(secret[:18]).decode() not in res.stdout
    res = cli("review", sid, "--html", str(tmp_path / "r.html"))
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "r.html").read_text()
    assert base64.b64encode(secret[:18]).decode() not in page and "root:x:0:0" not in page


# --- probe 5 (store side): size, values, depth, /dev/zero ------------------------------------
def test_an_oversized_export_is_refused_before_it_is_parsed(cli, tmp_path):
    from trainer.store_schema import MAX_EXPORT_BYTES, MAX_JSON_VALUES

    big = tmp_path / "big.json"
    with open(big, "wb") as f:  # sparse: the size is real, the disk use is not
        f.write(b'{"format": "networking-trainer-session", "turns": [')
        f.truncate(MAX_EXPORT_BYTES + 10)
    res = cli("session", "import", str(big), timeout=60)
    assert res.returncode == 1 and "is larger than 96 MB" in res.stderr
    assert "Traceback" not in res.stderr

    many = tmp_path / "many.json"  # 3 MB of tiny values: the shape that cost 4.9 GB at 200 MB
    many.write_text('{"format": "networking-trainer-session", "turns": ['
                    + "[]," * MAX_JSON_VALUES + "[]]}")
    res = cli("session", "import", str(many), timeout=60)
    assert res.returncode == 1 and f"more than {MAX_JSON_VALUES} JSON values" in res.stderr

    deep = tmp_path / "deep.json"
    deep.write_text('{"format": "networking-trainer-session", "session": '
                    + "[" * 100_000 + "]" * 100_000 + "}")
    res = cli("session", "import", str(deep), timeout=60)
    assert res.returncode == 1 and "nested too deeply" in res.stderr
    assert "RecursionError" not in res.stderr and len(res.stderr.splitlines()) == 1

    res = cli("session", "import", "/dev/zero", timeout=60)
    assert res.returncode == 1 and "/dev/zero is larger than" in res.stderr


def test_nesting_inside_free_form_meta_is_bounded(trainer_home, export_doc):
    doc = copy.deepcopy(export_doc)
    deep: dict = {}
    node = deep
    for _ in range(50):
        node["x"] = {}
        node = node["x"]
    doc["session"]["meta"] = deep
    with pytest.raises(StoreError, match=r"session\.meta: expected at most 8 levels"):
        Store().import_session(doc)


# --- probe 6: badly typed imports, and bad rows already stored --------------------------------
@pytest.mark.parametrize("path, value, field", [
    (("scorecard", "metrics", 0, "value"), "lots", "scorecard.metrics[0].value"),
    (("turns", 1, "end_s"), 1e300, "turns[1].end_s"),
    (("turns", 1, "text"), None, "turns[1].text"),
    (("turns", 1, "start_s"), float("nan"), "turns[1].start_s"),
    (("turns", 2, "words"), [{"text": "x", "start_s": 0, "end_s": "soon"}],
     "turns[2].words[0].end_s"),
    (("session", "started_at"), "yesterday", "session.started_at"),
    (("turns", 0, "speaker"), "narrator", "turns[0].speaker"),
    (("turns", 0, "surprise"), 1, "turns[0].surprise: unknown field"),
    (("recall", 0, "correct"), "yes", "recall[0].correct"),
    (("turns", 1, "text"), "word " * 20_000, "turns[1].text"),
])
def test_a_badly_typed_import_is_refused_with_one_line_naming_the_field(trainer_home, export_doc,
                                                                        path, value, field):
    doc = copy.deepcopy(export_doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    store = Store()
    with pytest.raises(StoreError) as exc:
        store.import_session(doc)
    assert field in _one_line(exc.value)
    assert store.session_ids() == []


_HOSTILE = st.one_of(
    st.sampled_from(["lots", "", "../../etc/passwd", "<script>x</script>", "\x1b[2J", "x" * 70]),
    st.sampled_from([None, True, -1, 1e300, -1e300, float("inf"), float("nan"), 2**63]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                          max_size=2),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
)


def _leaves(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            if k != "audio_wav_base64":
                yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:4]):
            yield from _leaves(v, (*path, i))
    yield path


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hypothesis_any_mutated_import_is_refused_cleanly_or_readable_by_every_reader(
        trainer_home, export_doc, data):
    """Whatever one hostile value does to an export, the import is refused with one line, or the
    session it stores is read by history, review and the persona choice without a crash."""
    from trainer.choose import choose_persona, past_rounds, round_score
    from trainer.personas import list_personas
    from trainer.report.history import history_rows, trends
    from trainer.report.review import build_review

    doc = copy.deepcopy(export_doc)
    for t in doc["turns"]:
        t.pop("audio_wav_base64", None)  # the audio is tested above; keep examples fast
    doc["session"]["id"] = f"h{data.draw(st.integers(0, 10**9))}"
    paths = [p for p in _leaves(doc) if p and p[0] != "format" and p[0] != "version"]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        node = doc
        try:
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = data.draw(_HOSTILE)
        except (KeyError, IndexError, TypeError):
            continue
    store = Store(trainer_home / "hyp")
    try:
        sid = store.import_session(doc)
    except StoreError as exc:
        _one_line(exc)
        return
    sessions = store.list_sessions(with_scorecards=True)
    trends(history_rows(sessions))
    for s in sessions:
        round_score(s.scorecard)
    choose_persona(list_personas(), past_rounds(sessions))
    build_review(store.load_session(sid))
    store.delete_session(sid)


def _insert_bad_rows(home: Path, sid: str) -> None:
    """What an older trainer let in: a metric value "lots", an end time of 1e300, a null text."""
    conn = sqlite3.connect(home / "trainer.db")
    card = json.loads(conn.execute("SELECT data_json FROM scorecards WHERE session_id = ?",
                                   (sid,)).fetchone()[0])
    card["metrics"][0]["value"] = "lots"
    conn.execute("UPDATE scorecards SET data_json = ? WHERE session_id = ?",
                 (json.dumps(card), sid))
    row = json.loads(conn.execute("SELECT data_json FROM turns WHERE session_id = ? AND idx = 1",
                                  (sid,)).fetchone()[0])
    row["text"] = None
    conn.execute("UPDATE turns SET data_json = ?, end_s = 1e300 WHERE session_id = ? AND idx = 1",
                 (json.dumps(row), sid))
    conn.commit()
    conn.close()


def test_bad_stored_rows_take_down_only_their_own_session(trainer_home, cli, tmp_path):
    store = Store()
    good1 = write_round(store, score=True)
    bad = write_round(store, score=True)
    good2 = write_round(store, score=True)
    _insert_bad_rows(trainer_home, bad)

    res = cli("history", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [r["id"] for r in doc["rounds"]] == [good1, good2]
    assert [s["id"] for s in doc["skipped"]] == [bad]
    assert f"session {bad} skipped" in res.stderr and "Traceback" not in res.stderr

    res = cli("review", bad)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert f"session {bad} is unreadable" in res.stderr
    assert f"trainer session delete {bad}" in res.stderr
    res = cli("review", good2, "--html", str(tmp_path / "g.html"))
    assert res.returncode == 0, res.stderr
    res = cli("session", "export", bad)
    assert res.returncode == 1 and "Traceback" not in res.stderr

    # the default practice (persona chosen from history) still runs
    res = cli("practice", "--input", "text", "--no-voice", "--seed", "3",
              input="Hi, I'm Sam. What do you work on?\n")
    assert res.returncode == 0, res.stderr
    assert "Saved as session" in res.stdout

    # the doctor names it, drops the broken scorecard with --fix, and the turn stays named
    res = cli("doctor")
    assert res.returncode == 1 and f"session {bad} is unreadable" in res.stdout
    res = cli("doctor", "--fix")
    assert "fixed:" in res.stdout and "dropped the broken scorecard" in res.stdout
    assert f"session {bad} is unreadable: turn 1: text" in res.stdout
    res = cli("session", "delete", bad)
    assert res.returncode == 0 and f"deleted session {bad} (5 recordings removed)" in res.stdout
    assert not (trainer_home / "audio" / bad).exists()
    res = cli("doctor")
    assert res.returncode == 0 and "store ok: 3 session(s)" in res.stdout, res.stdout


def test_schema_knows_every_field_of_the_stored_dataclasses():
    """A field added to Turn or the Scorecard must be added to the schema too, or every new
    session would be refused by its own store."""
    from trainer import scoring, store_schema, types

    pairs = [(types.Turn, store_schema.TurnIn), (types.Word, store_schema.WordIn),
             (scoring.Scorecard, store_schema.ScorecardIn), (scoring.Metric, store_schema.MetricIn),
             (scoring.Tip, store_schema.TipIn), (scoring.HookOutcome, store_schema.HookOutcomeIn),
             (scoring.RecallItem, store_schema.RecallItemIn),
             (scoring.LineLabel, store_schema.LineLabelIn)]
    for dc, model in pairs:
        assert {f.name for f in fields(dc)} == set(model.model_fields), dc.__name__


# --- probe 7: a full disk, a read-only folder, a lost or damaged trainer.db -------------------
def _round_with_typed_replies(store: Store, replies: list, tmp_path: Path):
    """A real round (typed replies; `replies` items may be callables run before answering)."""
    from rich.console import Console

    from trainer.live import Screen
    from trainer.personas import load_persona
    from trainer.practice import PracticeOptions, Round
    from trainer.speech.playback import RoundClock, SilentPlayer
    from trainer.speech.sources import TextSource
    from trainer.speech.tts import SilentVoice

    queue = list(replies)

    def prompt():
        if not queue:
            return None
        item = queue.pop(0)
        while callable(item):
            item()
            item = queue.pop(0)
        return item

    clock = RoundClock()
    console = Console(file=open(tmp_path / "screen.txt", "w"), width=100)  # noqa: SIM115
    return Round(persona=load_persona("dana"), source=TextSource(prompt, clock=clock), asr=None,
                 voice=SilentVoice(), player=SilentPlayer(clock), store=store,
                 screen=Screen(console), options=PracticeOptions(seed=5, voice=False))


LAST_REPLY = "What got you into recruiting in the first place? " * 40  # a few KB: new pages


def test_full_disk_mid_round_keeps_the_reply_in_the_spool_sqlite_full(trainer_home, tmp_path):
    """SQLITE_FULL for real (PRAGMA max_page_count), on any machine."""
    store = Store()

    def fill():
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages}")

    rnd = _round_with_typed_replies(store, ["Hi Dana, I'm Sam. What do you do?", fill,
                                            LAST_REPLY], tmp_path)
    with pytest.raises(StoreIOError) as exc:
        rnd.run()
    msg = _one_line(exc.value)
    assert msg.startswith("disk full:") and "was not stored" in msg
    assert "your reply is kept in" in exc.value.hint and "move" not in exc.value.hint
    sid = rnd.session_id
    spool = trainer_home / "spool" / f"{sid}.json"
    assert spool.stat().st_size == SPOOL_BYTES  # written inside the reserved space
    store.close()

    again = Store()  # the next start
    users = [t for t in again.load_session(sid).turns if t.speaker == "user"]
    assert users[-1].text == LAST_REPLY.strip()
    assert again.load_session(sid).state == "interrupted"
    assert any("now stored" in n for n in again.recovered) and not spool.exists()


def test_full_disk_mid_round_on_a_real_tiny_filesystem(tiny_disk, monkeypatch, tmp_path, cli):
    """ENOSPC for real: a 3 MB tmpfs filled while the round runs (root only)."""
    home = tiny_disk / "home"
    monkeypatch.setenv("TRAINER_HOME", str(home))
    store = Store()
    filler: list[Path] = []
    rnd = _round_with_typed_replies(store, ["Hi Dana, I'm Sam. What do you do?",
                                            lambda: filler.append(_fill(tiny_disk)),
                                            LAST_REPLY], tmp_path)
    with pytest.raises(StoreIOError) as exc:
        rnd.run()
    assert _one_line(exc.value).startswith("disk full:")
    assert "move" not in (exc.value.hint or "")
    sid = rnd.session_id
    # a spoken reply on the full disk: its recording is refused, no half-written .tmp is left
    # behind, and its words join the spool
    with pytest.raises(StoreIOError, match="disk full: could not write the recording of turn "
                       "9") as exc:
        store.add_turn(sid, Turn(index=9, speaker="user", text="and a spoken one",
                                 start_s=99, end_s=104), audio=tone(5.0))
    assert "your reply is kept in" in exc.value.hint
    store.close()
    assert not list(home.rglob("*.tmp"))
    filler[0].unlink()  # space again: the next start stores what was spooled
    res = cli("history", "--json", env={"TRAINER_HOME": str(home)})
    assert res.returncode == 0, res.stderr
    assert "now stored" in res.stderr
    texts = [t.text for t in Store(home).load_session(sid).turns if t.speaker == "user"]
    assert texts[-2:] == [LAST_REPLY.strip(), "and a spoken one"]


def test_a_read_only_store_says_read_only_not_unreadable(tmp_path):
    home = tmp_path / "ro"
    home.mkdir()
    with Store(home) as writer:
        sid = write_round(writer, n=4)
    if os.geteuid() == 0:  # root writes through file modes: use a read-only mount instead
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        if subprocess.run(["mount", "--bind", str(home), str(mnt)],
                          capture_output=True).returncode:
            pytest.skip("cannot bind-mount here")
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mnt)], check=True)
        target = mnt
    else:
        home.chmod(0o555)
        target = home
    store = Store(target)
    try:
        try:  # reading may work (SQLite reads a WAL db read-only) or fail: never "unreadable"
            assert [s.id for s in store.list_sessions()] == [sid]
        except StoreIOError as exc:
            assert exc.kind == "read_only", exc.message
        with pytest.raises(StoreIOError) as exc:
            store.start_session("dana", "Dana Reyes", "career fair", "easy", HOOKS)
        assert exc.value.kind == "read_only", exc.value.message
        assert "read-only" in _one_line(exc.value) and "move" not in exc.value.hint
    finally:
        store.close()
        if target != home:
            subprocess.run(["umount", str(target)], check=False)
        home.chmod(0o755)


def test_a_zero_byte_db_beside_recordings_is_refused_then_doctor_starts_afresh(trainer_home,
                                                                              cli):
    sid = write_round(Store(), n=4)
    for suffix in ("-wal", "-shm"):
        (trainer_home / f"trainer.db{suffix}").unlink(missing_ok=True)
    (trainer_home / "trainer.db").write_bytes(b"")
    res = cli("history")
    assert res.returncode == 1 and "is empty (0 bytes)" in res.stderr
    assert "recordings of 1 session(s)" in res.stderr and "trainer doctor --fix" in res.stderr
    assert (trainer_home / "trainer.db").stat().st_size == 0  # not silently made a new store
    res = cli("doctor", "--fix")
    assert "started a new store" in res.stdout
    assert f"audio/{sid}: 2 recording(s) of a session that is not in the store" in res.stdout
    assert list(trainer_home.glob("trainer.db.lost-*"))
    assert len(list((trainer_home / "audio" / sid).glob("*.wav"))) == 2  # never deleted
    assert cli("history").returncode == 0


def test_a_wal_deleted_under_a_running_trainer_is_named(trainer_home, cli):
    with Store() as store:
        write_round(store, n=4)
    # a trainer writes (into the WAL) and keeps running; someone deletes trainer.db-wal
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute(\"UPDATE sessions SET setting = 'moved'\")\n"
         "print('written', flush=True)\ntime.sleep(120)\n", str(trainer_home / "trainer.db")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "written"
        (trainer_home / "trainer.db-wal").unlink()
        res = cli("history")
        assert res.returncode == 1
        assert "write-ahead log trainer.db-wal was deleted while a trainer had the store open" \
            in res.stderr, res.stderr
        assert "stop the trainer that is running" in res.stderr
        assert "move trainer.db aside" not in res.stderr and "disk I/O" not in res.stderr
    finally:
        writer.kill()
        writer.wait()
    # with that trainer gone, the store opens again (as of its last checkpoint)
    res = cli("history", "--json")
    assert res.returncode == 0 and len(json.loads(res.stdout)["rounds"]) == 1


def test_one_corrupt_page_loses_one_session_and_doctor_salvages_the_rest(trainer_home, cli):
    store = Store()
    ids, page_counts = [], []
    for _ in range(3):
        ids.append(write_round(store, replies={3: "a long answer " * 400}, score=True))
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_counts.append(store.conn.execute("PRAGMA page_count").fetchone()[0])
    # an overflow page of the middle session's long turn (it holds that one row only)
    pages = [p for (p,) in store.conn.execute(
        "SELECT pageno FROM dbstat WHERE name = 'turns' AND pagetype = 'overflow'"
        " AND pageno > ? AND pageno <= ?", page_counts[:2])]
    size = store.conn.execute("PRAGMA page_size").fetchone()[0]
    store.close()
    assert pages
    with open(trainer_home / "trainer.db", "r+b") as f:
        f.seek((pages[0] - 1) * size)
        f.write(b"\xff\xff\xff\xff" + random.Random(7).randbytes(size - 4))

    res = cli("history", "--json")
    assert res.returncode == 0, res.stderr
    assert [r["id"] for r in json.loads(res.stdout)["rounds"]] == [ids[0], ids[2]]
    # SQLite finds the damage (a broken page chain) or reads garbage the schema refuses: the
    # session is skipped, named, either way
    assert f"session {ids[1]} skipped" in res.stderr
    assert "damaged page" in res.stderr or "unreadable" in res.stderr, res.stderr
    res = cli("doctor")
    assert res.returncode == 1 and "is damaged" in res.stdout
    res = cli("doctor", "--fix")
    assert "readable session(s) into a new trainer.db" in res.stdout, res.stdout
    assert list(trainer_home.glob("trainer.db.damaged-*"))
    res = cli("history", "--json")
    assert res.returncode == 0 and not json.loads(res.stdout)["skipped"]
    assert {r["id"] for r in json.loads(res.stdout)["rounds"]} >= {ids[0], ids[2]}


# --- probe 11: a round where nothing is said ----------------------------------------------------
def test_a_round_with_no_replies_is_not_saved(trainer_home, cli):
    res = cli("practice", "--input", "text", "--no-voice", "--persona", "dana", input="")
    assert res.returncode == 1, res.stderr
    assert "Nothing was said, so this round was not saved." in res.stdout
    assert Store().session_ids() == []
    res = cli("practice", "--input", "text", "--no-voice", "--persona", "dana", input="\n\n")
    assert res.returncode == 1 and Store().session_ids() == []  # only silences


# --- session delete and doctor on a healthy and a messy store ---------------------------------
def test_session_delete_removes_rows_and_audio_and_refuses_unknown(trainer_home, cli):
    store = Store()
    keep = write_round(store, n=4)
    gone = write_round(store, n=4)
    res = cli("session", "delete", gone)
    assert res.returncode == 0 and "2 recordings removed" in res.stdout
    assert store.session_ids() == [keep] and not (trainer_home / "audio" / gone).exists()
    res = cli("session", "delete", "nope")
    assert res.returncode == 1 and "no session 'nope'" in res.stderr
    assert (trainer_home / "audio" / keep).is_dir()


def test_doctor_finds_killed_rounds_stray_tmp_and_orphaned_audio(trainer_home, cli):
    store = Store()
    ok = write_round(store, n=4)
    killed = write_round(store, n=4, finish=None)
    conn = sqlite3.connect(trainer_home / "trainer.db")
    conn.execute("UPDATE sessions SET writer_pid = 999999999 WHERE id = ?", (killed,))
    conn.commit()
    conn.close()
    (trainer_home / "audio" / ok / ".7.wav.1234.tmp").write_bytes(b"RIFF")
    (trainer_home / "audio" / "20200101-000000-dead").mkdir()
    sf.write(trainer_home / "audio" / "20200101-000000-dead" / "1.wav", tone(0.2), 16_000)
    res = cli("doctor")
    assert res.returncode == 1
    assert f"session {killed}: its round stopped without closing (4 turn(s) kept)" in res.stdout
    assert "a half-written recording" in res.stdout
    assert ("20200101-000000-dead: 1 recording(s) of a session that is not in the store"
            in res.stdout)
    res = cli("doctor", "--fix", "--json")
    doc = json.loads(res.stdout)
    kinds = {f["kind"]: f for f in doc["findings"]}
    assert kinds["interrupted"]["fixed"] and kinds["tmp_file"]["fixed"]
    assert not kinds["orphaned_audio"]["fixed"]  # recordings are never deleted
    assert Store().load_session(killed).status == "interrupted"
    assert (trainer_home / "audio" / "20200101-000000-dead" / "1.wav").exists()
    assert not list((trainer_home / "audio").rglob("*.tmp"))


def test_a_valid_export_round_trips_through_the_cli(trainer_home, export_doc, cli, tmp_path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(export_doc))
    res = cli("session", "import", str(path))
    assert res.returncode == 0 and res.stderr == "", res.stderr
    sid = export_doc["session"]["id"]
    rec = Store().load_session(sid)
    assert rec.hooks == HOOKS and len(rec.turns) == len(realistic_turns())
    assert sum(1 for t in rec.turns if t.audio_path) == 5
    assert np.isfinite(rec.scorecard["duration_s"])
