"""`trainer history`: one row per round, trends of the main metrics, a PNG chart."""

from __future__ import annotations

import json
import sqlite3
import struct

from session_helpers import RECALL, STRONG, WEAK, write_round

from trainer.report.history import history_rows, trends
from trainer.store import Store


def _practice_over_time(store: Store) -> list[str]:
    """Five rounds getting better: weak replies first, then following up on every hook."""
    return [
        write_round(store, replies=WEAK, score=True, recall=RECALL[:1]),
        write_round(store, replies=WEAK, score=True, finish="interrupted", n=6),
        write_round(store, score=True, recall=RECALL),
        write_round(store, replies=STRONG, score=True, recall=RECALL),
        write_round(store, replies=STRONG, score=True, recall=RECALL[:1],
                    persona=("omar", "Omar Haddad", "meetup", "medium")),
    ]


def test_history_table_has_a_row_per_round_and_trends(cli, trainer_home):
    _practice_over_time(Store())
    res = cli("history")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    header = lines[0].split()
    assert header[:5] == ["#", "date", "persona", "level", "status"]
    assert {"talk", "Qs", "f-ups", "hooks", "recall"} <= set(header)
    rows = [ln for ln in lines[1:6]]
    assert [ln.split()[0] for ln in rows] == ["1", "2", "3", "4", "5"]
    assert "interrupted" in rows[1] and "Omar Haddad" in rows[4] and "medium" in rows[4]
    assert "0/3" in rows[0] and "3/3" in rows[3]  # hooks taken up
    trend = "\n".join(lines[6:])
    assert "Follow-up questions" in trend
    follow = next(ln for ln in lines if ln.strip().startswith("Follow-up questions"))
    hooks = next(ln for ln in lines if ln.strip().startswith("Hooks taken up"))
    assert follow.rstrip().endswith("better") and hooks.rstrip().endswith("better")


def test_history_json_is_one_document_with_rounds_and_trends(cli, trainer_home):
    ids = _practice_over_time(Store())
    res = cli("history", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert [r["id"] for r in doc["rounds"]] == ids
    first, last = doc["rounds"][0], doc["rounds"][-1]
    assert first["questions"] == 0 and first["hook_uptake"] == 0.0
    assert last["follow_ups"] >= 2 and last["hook_uptake"] == 100.0
    assert doc["rounds"][1]["status"] == "interrupted"
    assert 30 < first["talk_share"] < 60
    by_key = {t["key"]: t for t in doc["trends"]}
    assert by_key["hook_uptake"]["direction"] == "better"
    assert by_key["questions"]["direction"] == "better"
    assert doc["skipped"] == []


def test_history_plot_writes_a_png(cli, trainer_home, tmp_path):
    _practice_over_time(Store())
    out = tmp_path / "charts" / "trend.png"
    res = cli("history", "--plot", str(out))
    assert res.returncode == 0, res.stderr
    assert f"wrote {out}" in res.stdout
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 744)
    # with --json, stdout stays one JSON document
    res = cli("history", "--json", "--plot", str(tmp_path / "t2.png"))
    assert json.loads(res.stdout)["rounds"] and "wrote" in res.stderr
    res = cli("history", "--plot", str(tmp_path / "t.gif"))
    assert res.returncode == 2 and "cannot write a chart as .gif" in res.stderr


def test_history_skips_a_corrupt_round_and_names_it(cli, trainer_home):
    store = Store()
    ids = _practice_over_time(store)
    conn = sqlite3.connect(trainer_home / "trainer.db")
    conn.execute("UPDATE scorecards SET data_json = '{\"metrics\": [' WHERE session_id = ?",
                 (ids[2],))
    conn.commit()
    conn.close()
    res = cli("history", "--json")
    assert res.returncode == 0
    doc = json.loads(res.stdout)
    assert [r["id"] for r in doc["rounds"]] == ids[:2] + ids[3:]
    assert doc["skipped"][0]["id"] == ids[2]
    assert f"warning: session {ids[2]} skipped: its scorecard has unreadable JSON" in res.stderr


def test_empty_history(cli, trainer_home):
    res = cli("history")
    assert res.returncode == 0 and "No rounds yet" in res.stdout
    assert json.loads(cli("history", "--json").stdout)["rounds"] == []
    res = cli("history", "--plot", "x.png")
    assert res.returncode == 1 and "nothing to plot" in res.stderr


def test_trend_needs_two_rounds_and_reads_direction(trainer_home):
    store = Store()
    write_round(store, replies=STRONG, score=True)
    rows = history_rows(store.list_sessions(with_scorecards=True))
    assert {t.direction for t in trends(rows)} == {"too few rounds"}
    write_round(store, replies=WEAK, score=True)  # a worse round after a good one
    rows = history_rows(store.list_sessions(with_scorecards=True))
    by_key = {t.key: t for t in trends(rows)}
    assert by_key["follow_ups"].direction == "worse"
    assert by_key["follow_ups"].change < 0
