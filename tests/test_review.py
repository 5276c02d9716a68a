"""`trainer review` and `trainer session export/import`: what a user sees about a stored round."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from session_helpers import HOOKS, RECALL, STRONG, write_round

from trainer.report.review import build_review, split_fillers
from trainer.store import Store

ROOT = Path(__file__).resolve().parent.parent


def test_review_of_the_last_round_annotates_each_user_line(cli, trainer_home):
    store = Store()
    write_round(store, replies=STRONG, score=True)  # an older round
    sid = write_round(store, score=True, recall=RECALL)
    res = cli("review")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert sid in out and "Dana Reyes" in out and "career fair" in out
    # timestamps and both speakers
    assert "0:10" in out and "You" in out and "Dana" in out
    # user lines annotated: the hook follow-up, the offer, the ask, the filler count
    assert "follow-up on rescue puppy Biscuit" in out
    assert "offer to help" in out and "ask to follow up" in out
    assert "3 fillers" in out
    # hooks: taken up / missed with the better line
    assert "✓ taken up at 0:10" in out
    assert "first marathon (at 0:38), missed" in out
    assert "Which marathon are you training for?" in out
    # the scorecard with targets and the recall check
    assert "Talk share" in out and "<= 45%" in out
    assert "Where is Dana moving in the spring?" in out
    assert "scored now" not in out  # the stored scorecard was used


def test_review_of_an_interrupted_round_scores_it_from_the_turns(cli, trainer_home):
    # another process writes four turns and exits without finishing the round
    script = ("import sys; sys.path.insert(0, 'tests')\n"
              "from session_helpers import HOOKS, realistic_turns\n"
              "from trainer.store import Store\n"
              "s = Store(); sid = s.start_session('dana', 'Dana Reyes', 'career fair', 'easy',"
              " HOOKS)\n"
              "[s.add_turn(sid, t) for t in realistic_turns(4)]\nprint(sid)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    sid = proc.stdout.strip()
    res = cli("review", sid[:-1])  # a unique prefix is enough
    assert res.returncode == 0, res.stderr
    assert "interrupted" in res.stdout
    assert "scored now from the stored turns" in res.stdout
    assert "Talk share" in res.stdout


def test_review_json_is_the_whole_session_export(cli, trainer_home):
    store = Store()
    sid = write_round(store, score=True, recall=RECALL)
    res = cli("review", sid, "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)  # nothing else on stdout
    assert doc["format"] == "networking-trainer-session" and doc["version"] == 1
    assert doc["session"]["id"] == sid and doc["session"]["status"] == "completed"
    assert doc["session"]["hooks"] == HOOKS
    assert len(doc["turns"]) == 11 and doc["turns"][1]["audio_path"].endswith("/1.wav")
    assert doc["scorecard"]["metrics"][0]["key"] == "talk_share"
    assert doc["recall"] == RECALL


def test_review_errors_are_one_line(cli, trainer_home):
    res = cli("review")
    assert res.returncode == 1
    assert res.stderr.startswith("error: no sessions stored yet")
    assert "Traceback" not in res.stderr
    write_round(Store())
    res = cli("review", "nope")
    assert res.returncode == 1 and "no session 'nope'" in res.stderr


def test_review_of_a_corrupt_session_names_it_and_others_still_review(cli, trainer_home):
    store = Store()
    good = write_round(store, n=4)
    bad = write_round(store, n=4)
    conn = sqlite3.connect(trainer_home / "trainer.db")
    conn.execute("UPDATE turns SET data_json = '{broken' WHERE session_id = ? AND idx = 1",
                 (bad,))
    conn.commit()
    conn.close()
    res = cli("review", bad)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert f"session {bad} is unreadable: turn 1" in res.stderr
    assert cli("review", good).returncode == 0


def test_missing_audio_is_a_warning_in_review(cli, trainer_home, tmp_path):
    store = Store()
    sid = write_round(store, n=4)
    (trainer_home / "audio" / sid / "1.wav").unlink()
    res = cli("review", "--html", str(tmp_path / "r.html"))
    assert res.returncode == 0, res.stderr
    assert f"session {sid} turn 1: audio file" in res.stderr
    page = (tmp_path / "r.html").read_text()
    assert page.count("<audio") == 1  # turn 3 still has its player


def test_session_export_import_between_devices(cli, trainer_home, tmp_path):
    store = Store()
    sid = write_round(store, score=True, recall=RECALL)
    out = tmp_path / "round.json"
    res = cli("session", "export", sid, str(out), "--with-audio")
    assert res.returncode == 0, res.stderr
    assert f"exported session {sid}" in res.stdout
    doc = json.loads(out.read_text())
    assert all("audio_wav_base64" in t for t in doc["turns"] if t["speaker"] == "user")

    other = tmp_path / "laptop"
    res = cli("session", "import", str(out), env={"TRAINER_HOME": str(other)})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"imported session {sid}"
    res = cli("review", env={"TRAINER_HOME": str(other)})
    assert res.returncode == 0 and "follow-up on rescue puppy Biscuit" in res.stdout
    assert len(list((other / "audio" / sid).glob("*.wav"))) == 5
    # importing again, or a file that is not an export: one clear line, exit 1
    res = cli("session", "import", str(out), env={"TRAINER_HOME": str(other)})
    assert res.returncode == 1 and "already stored" in res.stderr
    (tmp_path / "notes.json").write_text('{"hello": 1}')
    res = cli("session", "import", str(tmp_path / "notes.json"))
    assert res.returncode == 1 and "not a session export" in res.stderr
    # `trainer analyze` reads the export (the coach's side)
    res = cli("analyze", str(out), "--json")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)
    # export to stdout is the JSON document alone
    res = cli("session", "export", sid)
    assert json.loads(res.stdout)["session"]["id"] == sid


def test_fillers_are_marked_where_they_are_fillers():
    text = "I'd like to, um, like, work on something I like, you know."
    pieces = split_fillers(text, ["um", "like", "you know"])
    marked = [p for p, f in pieces if f]
    assert marked == ["um", "like", "you know"]
    assert "".join(p for p, _ in pieces) == text
    # "I'd like to" and "something I like" keep their plain "like"
    assert any("I'd like to" in p for p, f in pieces if not f)


def test_review_hook_marks_agree_with_the_scorecard(trainer_home):
    store = Store()
    sid = write_round(store, replies=STRONG, score=True)
    rv = build_review(store.load_session(sid))
    assert [h.taken_up for h in rv.hooks] == [True, True, True]
    assert [h.taken_up for h in rv.hooks] == [o.taken_up for o in rv.scorecard.hooks]
    strong = [at for at in rv.turns if at.turn.index == 7][0]
    assert "follow-up on moving to Denver" in strong.tags and "offer to help" in strong.tags
