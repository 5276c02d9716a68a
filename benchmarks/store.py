"""Store figures: listing 1,000 rounds, writing one turn.

Baseline, measured in the same run: the naive store many small tools start with, one JSON file
per session (session fields, turns, scorecard), rewritten atomically on every turn and read back
file by file to list.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 1000
TURNS_PER_ROUND = 20


def _helpers():
    """The realistic test dialogue (tests/session_helpers.py), shared with the store tests."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    import session_helpers

    return session_helpers


def _round_turns():
    base = _helpers().realistic_turns()
    turns, offset = [], 0.0
    while len(turns) < TURNS_PER_ROUND:  # repeat the dialogue to a 20-turn round
        for t in base:
            if len(turns) == TURNS_PER_ROUND:
                break
            turns.append(replace(t, index=len(turns), start_s=t.start_s + offset,
                                 end_s=t.end_s + offset))
        offset = turns[-1].end_s
    return turns


def _scorecard(turns, hooks) -> dict:
    from trainer.analysis import HookCue
    from trainer.scoring import score_round

    cues = [HookCue(h["id"], tuple(h["cues"]), h["label"], h["suggestion"]) for h in hooks]
    return score_round(turns, cues, "Dana Reyes", None).to_dict()


def _naive_write(folder: Path, session: dict) -> None:
    """The baseline's write: the whole session file, temp + fsync + rename."""
    path = folder / f"{session['session']['id']}.json"
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        json.dump(session, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _naive_list(folder: Path) -> list[dict]:
    rows = []
    for p in folder.glob("*.json"):
        d = json.loads(p.read_text())
        turns = d["turns"]
        rows.append({**{k: d["session"][k] for k in ("id", "persona_name", "started_at")},
                     "turns": len(turns),
                     "user_s": sum(t["end_s"] - t["start_s"] for t in turns
                                   if t["speaker"] == "user"),
                     "scorecard": d["scorecard"]})
    rows.sort(key=lambda r: r["started_at"])
    return rows


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def figures(quick: bool) -> list[dict]:
    from trainer.store import Store, _write_wav_atomic
    from trainer.types import turn_to_dict

    h = _helpers()
    HOOKS, tone = h.HOOKS, h.tone  # noqa: N806
    turns = _round_turns()
    card = _scorecard(turns, HOOKS)
    repeats = 5 if quick else 15
    out: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        root, naive = Path(tmp) / "store", Path(tmp) / "naive"
        naive.mkdir()
        store = Store(root)
        t0 = time.perf_counter()
        for _ in range(ROUNDS):
            sid = store.start_session("dana", "Dana Reyes", "career fair", "easy", HOOKS)
            for t in turns:
                store.add_turn(sid, t)
            store.finish_session(sid, "completed", scorecard=card)
            doc = store.export_session(sid)
            path = naive / f"{sid}.json"
            path.write_text(json.dumps(doc))
        fill_s = time.perf_counter() - t0
        store.close()

        def list_plain():
            with Store(root) as s:  # a fresh process's view: connect, check schema, list
                assert len(s.list_sessions()) == ROUNDS

        def list_cards():
            with Store(root) as s:
                assert len(s.list_sessions(with_scorecards=True)) == ROUNDS

        def list_naive():
            assert len(_naive_list(naive)) == ROUNDS

        naive_ms = _median_ms(list_naive, repeats)
        out.append({"name": "store: list 1,000 rounds", "unit": "ms",
                    "value": _median_ms(list_plain, repeats), "baseline": naive_ms,
                    "note": f"median of {repeats}, {TURNS_PER_ROUND} turns each; baseline: one "
                            "JSON file per session; goal < 1000 ms"})
        out.append({"name": "store: list 1,000 rounds with scorecards", "unit": "ms",
                    "value": _median_ms(list_cards, repeats), "baseline": naive_ms,
                    "note": "what `trainer history` reads"})

        # writing turns into a fresh round: text-only (persona) and a user turn with 4 s of audio
        n_write = 20 if quick else 60
        audio = tone(4.0)
        store = Store(root)
        sid = store.start_session("dana", "Dana Reyes", "career fair", "easy", HOOKS)
        naive_doc = store.export_session(sid)
        text_ms, audio_ms, naive_text_ms, naive_audio_ms = [], [], [], []
        wav_dir = Path(tmp) / "naive-audio"
        wav_dir.mkdir()
        for i in range(n_write):
            t = replace(turns[i % len(turns)], index=i)
            with_audio = i % 2 == 1
            t0 = time.perf_counter()
            store.add_turn(sid, t, audio=audio if with_audio else None)
            (audio_ms if with_audio else text_ms).append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            if with_audio:
                _write_wav_atomic(wav_dir / f"{i}.wav", audio, 16000)
            naive_doc["turns"].append(turn_to_dict(t))
            _naive_write(naive, naive_doc)
            (naive_audio_ms if with_audio else naive_text_ms).append(
                (time.perf_counter() - t0) * 1000)
        store.close()
    out.append({"name": "store: write one turn", "unit": "ms",
                "value": statistics.median(text_ms),
                "baseline": statistics.median(naive_text_ms),
                "note": f"median of {len(text_ms)} persona turns, one transaction each; baseline: "
                        "rewrite the session's JSON file (fsync + rename)"})
    out.append({"name": "store: write one user turn with 4 s audio", "unit": "ms",
                "value": statistics.median(audio_ms),
                "baseline": statistics.median(naive_audio_ms),
                "note": "WAV temp + fsync + rename, then the row; baseline: same WAV + JSON "
                        f"rewrite; filling 1,000 rounds took {fill_s:.1f} s"})
    return out
