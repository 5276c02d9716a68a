"""Reading transcripts the user brings, and `trainer analyze` end to end (real subprocess)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer.errors import TranscriptError, UsageError
from trainer.transcripts import (
    load_transcript,
    match_speaker,
    parse_transcript,
    partner_of,
    score_transcript,
    to_turns,
)

DATA = Path(__file__).resolve().parent / "data" / "transcripts"
ROOT = Path(__file__).resolve().parent.parent


# --- parsing --------------------------------------------------------------------------------------


def test_name_lines_with_stamps_and_wrapped_lines():
    t = load_transcript(DATA / "coffee_chat.txt")
    assert t.kind == "lines" and t.speakers == ["Dana", "Sam"]
    assert len(t.lines) == 11
    assert t.lines[4].text.endswith("and never looked back.")  # the wrapped line joined
    assert t.lines[1].start_s == 6.0 and t.lines[1].end_s == 11.0  # ends at the next stamp
    assert t.user is None  # two names: the file does not say who the user is


def test_stamp_variants_and_hours():
    t = parse_transcript("Dana [01:02:03]: Hello there.\n(1:02:09) Sam: Hi!\n"
                         "Dana: [1:02:12] How are you?\n")
    assert [(ln.speaker, ln.start_s) for ln in t.lines] == [
        ("Dana", 3723.0), ("Sam", 3729.0), ("Dana", 3732.0)]


def test_plain_lines_merge_a_speaker_and_recognise_me():
    t = load_transcript(DATA / "monologue.txt")
    assert t.speakers == ["Priya", "Me"] and t.user == "Me" and t.partner_name == "Priya"
    assert len(t.lines) == 6  # the two consecutive "Me:" lines are one turn
    assert not t.has_times


def test_header_blocks_as_note_takers_export_them():
    t = load_transcript(DATA / "otter.txt")
    assert [(ln.speaker, ln.start_s) for ln in t.lines] == [
        ("Sam", 0.0), ("Dana", 4.0), ("Sam", 11.0)]
    assert t.lines[1].text == "I'm scouting speakers for our next conference. We do one every " \
                              "spring."


def test_webvtt_with_voice_tags():
    t = load_transcript(DATA / "meetup.vtt")
    assert t.kind == "webvtt" and t.speakers == ["Jordan Lee", "Alex Kim"]
    assert t.lines[0].text == "Hi, I'm Jordan. First time at one of these?"
    assert (t.lines[1].start_s, t.lines[1].end_s) == (4.9, 9.8)


def test_webvtt_with_name_prefix_and_unnamed_continuation_cues():
    t = load_transcript(DATA / "zoom.vtt")
    assert t.speakers == ["Maria Lopez", "Chris Park"]
    chris = t.lines[3]
    assert chris.speaker == "Chris Park" and chris.text.endswith("start on supply planning.")
    assert (chris.start_s, chris.end_s) == (16.5, 27.1)


def test_session_export_keeps_turns_hooks_and_recall():
    t = load_transcript(DATA / "session.json")
    assert t.kind == "session" and t.user == "user" and t.partner_name == "Dana"
    assert [h.id for h in t.hooks] == ["puppy", "lisbon"]
    assert t.turns[2].hooks == ("lisbon",) and t.turns[4].kind == "answer"
    card = score_transcript(t, "user")
    assert [h.taken_up for h in card.hooks] == [True, False]
    assert card.metric("recall").detail == "1 of 2 right"
    assert card.partner_name == "Dana"


def test_session_export_recall_at_the_top_level():
    doc = json.loads((DATA / "session.json").read_text())
    doc["recall"] = [{"question": "Where did Dana just come back from?", "answers": ["lisbon"],
                      "given": "Lisbon", "correct": True}]
    doc["scorecard"] = None
    card = score_transcript(parse_transcript(json.dumps(doc)), "user")
    assert card.metric("recall").detail == "1 of 1 right"


@pytest.mark.parametrize("text,message", [
    ("", "empty"),
    ("This is prose.\nNo speakers here.", ":1: no speaker on this line"),
    ("{not json", "invalid JSON"),
    ('{"format": "something-else"}', "not a session export"),
    ("WEBVTT\n\nno cues at all\n", "without any cue"),
])
def test_unparseable_input_names_the_problem(text, message):
    with pytest.raises(TranscriptError) as err:
        parse_transcript(text, source="x.txt")
    assert message in err.value.message and err.value.message.startswith("x.txt")


def test_webvtt_without_speakers():
    with pytest.raises(TranscriptError, match="no speaker names"):
        load_transcript(DATA / "nospeakers.vtt")


def test_match_speaker_by_first_name_and_case():
    t = load_transcript(DATA / "meetup.vtt")
    assert match_speaker(t, "alex") == "Alex Kim"
    assert match_speaker(t, "JORDAN LEE") == "Jordan Lee"
    with pytest.raises(UsageError, match="speakers: Jordan Lee, Alex Kim"):
        match_speaker(t, "Sam")


def test_turns_and_pauses_from_webvtt_times():
    t = load_transcript(DATA / "meetup.vtt")
    turns = to_turns(t, "Alex Kim")
    assert [x.speaker for x in turns[:3]] == ["persona", "user", "persona"]
    assert turns[1].pause_before_s == pytest.approx(0.7)
    assert partner_of(t, "Alex Kim") == "Jordan Lee"


def test_missing_timings_are_estimated_from_word_counts():
    t = load_transcript(DATA / "monologue.txt")
    card = score_transcript(t, "Me")
    assert card.timing_estimated
    assert card.notes and "estimated at 150 words per minute" in card.notes[0]
    assert card.metric("talk_share").passed is False
    assert card.metric("pace").value is None


# --- trainer analyze -----------------------------------------------------------------------


def test_analyze_json_gives_labels_and_metrics(cli):
    r = cli("analyze", str(DATA / "coffee_chat.txt"), "--me", "sam", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)  # one JSON document, nothing else on stdout
    assert doc["me"] == "Sam" and doc["partner"] == "Dana" and doc["format"] == "lines"
    first_user = next(u for u in doc["utterances"] if u["speaker"] == "user")
    assert first_user["text"].startswith("Hi Dana, I'm Sam.")
    labels = first_user["labels"]
    assert labels["is_question"] and labels["question_kind"] == "follow_up"
    assert labels["follow_up"] == "partner" and labels["is_opener"] and labels["uses_name"]
    partner = doc["utterances"][0]
    assert partner["speaker"] == "partner" and partner["labels"] is None
    m = doc["metrics"]
    assert m["talk_share"]["target"] == "<= 45%" and m["offer"]["passed"] is True
    assert m["closing_ask"]["passed"] is True
    assert doc["timing_estimated"] is False


def test_analyze_prints_the_scorecard(cli):
    r = cli("analyze", str(DATA / "monologue.txt"))
    assert r.returncode == 0, r.stderr
    assert "Your round with Priya" in r.stdout
    assert "You asked no questions" in r.stdout
    assert "You said:" in r.stdout and "Try:" in r.stdout
    assert "estimated" in r.stdout


def test_analyze_session_export(cli):
    r = cli("analyze", str(DATA / "session.json"), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["format"] == "session" and doc["partner"] == "Dana"
    assert doc["metrics"]["hook_uptake"]["detail"] == "1 of 2 details they mentioned"
    assert doc["metrics"]["recall"]["value"] == 50.0


def test_analyze_webvtt(cli):
    r = cli("analyze", str(DATA / "meetup.vtt"), "--me", "Jordan", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    kinds = [u["labels"]["question_kind"] for u in doc["utterances"] if u["labels"]]
    assert kinds[:3] == ["introductory", "follow_up", "follow_up"]
    assert doc["metrics"]["offer"]["passed"] and doc["metrics"]["closing_ask"]["passed"]
    assert doc["metrics"]["response_pause"]["value"] == pytest.approx(0.45)  # 0.5 0.5 0.4 0.4


def test_analyze_without_me_and_no_tty_lists_speakers(cli):
    r = cli("analyze", str(DATA / "coffee_chat.txt"), input="")
    assert r.returncode == 2
    assert r.stdout == ""
    err = r.stderr.strip().splitlines()
    assert err[0] == "error: which speaker are you? speakers: Dana, Sam"
    assert "--me NAME" in err[1] and "Traceback" not in r.stderr


def test_analyze_unknown_me(cli):
    r = cli("analyze", str(DATA / "coffee_chat.txt"), "--me", "Zed")
    assert r.returncode == 2 and "no speaker 'Zed'" in r.stderr


def test_analyze_unparseable_file_is_one_error_line(cli):
    r = cli("analyze", str(DATA / "broken.txt"))
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: ") and "no speaker on this line" in r.stderr
    assert "Traceback" not in r.stderr
    r = cli("analyze", str(DATA / "does-not-exist.txt"))
    assert r.returncode == 1 and "no such file" in r.stderr


def test_analyze_asks_which_speaker_on_a_terminal(tmp_path):
    """With a TTY on stdin the command asks; answering "sam" scores Sam's lines."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "trainer", "analyze", str(DATA / "coffee_chat.txt"), "--json"],
        stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "TERM": "dumb"})
    os.close(slave)
    try:
        prompt = b""
        deadline = time.monotonic() + 60
        while b"Which speaker are you?" not in prompt and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 1.0)
            if ready:
                chunk = os.read(proc.stderr.fileno(), 1024)
                if not chunk:
                    break
                prompt += chunk
        assert b"Which speaker are you? (Dana, Sam)" in prompt
        os.write(master, b"sam\n")
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert json.loads(out)["me"] == "Sam"
