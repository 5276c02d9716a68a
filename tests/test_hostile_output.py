"""Hostile input on its way out (issue 14): the terminal, persona files, `analyze`, terminals
that are not UTF-8, and the HTML report's markup and timeline.

Probes 3 (HTML structure; the browser half is in test_report_html.py), 4, 5 (persona and
analyze side), 9, 10 and 12. Commands run as a user runs them, in subprocesses on a real store.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import ROOT
from session_helpers import ESCAPES, XSS, XSS_ATTR, realistic_turns, write_hostile_round

from trainer.errors import PersonaError, UsageError
from trainer.personas import parse_persona
from trainer.report.html import render_html
from trainer.report.review import build_review
from trainer.store import Store
from trainer.textsafe import clean
from trainer.transcripts import MAX_TURN_WORDS, match_speaker, parse_transcript, score_transcript

# Any control character but newline in what a command printed (piped, rich adds none itself).
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
LINK = "[link=https://evil.example]click[/link]"
DANA = (ROOT / "personas" / "dana.yaml").read_text(encoding="utf-8")


def run(*args: str, input: bytes = b"", env: dict | None = None, timeout: float = 120):
    """`python -m trainer ARGS` with bytes in and bytes out (decoding is what is under test)."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONIOENCODING", "PYTHONUTF8", "LC_ALL", "LANG")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "trainer", *args], input=input, env=full,
                          capture_output=True, cwd=ROOT, timeout=timeout)


def text_of(res: subprocess.CompletedProcess) -> tuple[str, str]:
    return (res.stdout.decode("utf-8", "replace"), res.stderr.decode("utf-8", "replace"))


# --- probe 4: one sanitiser ---------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "shown"), [
    ("Dana\x1b[2J\x1b[H", "Dana"),  # clear screen, cursor home
    ("a\x1b]0;my title\x07b", "ab"),  # window title, BEL-terminated
    ("a\x1b]52;c;cHduZWQ=\x1b\\b", "ab"),  # OSC 52 clipboard write, ST-terminated
    ("a\x1b[1A\x1b[2Kb", "ab"),  # erase the line above
    ("a\x9b31mb\x9d0;t\x9cc", "abc"),  # the same as C1 bytes
    ("a\x1bPq#0;2;0;0;0\x1b\\b", "ab"),  # DCS (sixel)
    ("safe\rEVIL", "safe EVIL"),  # a bare CR would redraw the line
    ("ab\x08\x08cd\x07\x00", "abcd"),  # backspaces, BEL, NUL
    ("user\u202egnp.exe", "usergnp.exe"),  # a right-to-left override
    ("two\nlines\ttab", "two lines tab"),
    ("Zoë 日本 🙂 naïve — ok", "Zoë 日本 🙂 naïve — ok"),  # real text is kept
])
def test_clean_removes_what_a_terminal_obeys_and_keeps_the_text(raw, shown):
    assert clean(raw) == shown


def test_the_round_screen_shows_hostile_text_as_text_on_a_real_terminal():
    from rich.console import Console

    from trainer.live import Briefing, Screen

    out = io.StringIO()
    screen = Screen(Console(file=out, force_terminal=True, color_system="truecolor", width=100))
    screen.briefing(Briefing(*(f"{f} {ESCAPES}" for f in ("partner", "setting", "easy", "goal",
                                                          "tip", "why", "how"))))
    screen.persona_line(f"Dana {ESCAPES}", f"Hello {ESCAPES}", phase=f"small{ESCAPES}")
    screen.user_line(f"Hi {ESCAPES}", note=ESCAPES)
    screen.nudge(ESCAPES)
    screen.recall_result(f"Q {ESCAPES}", ESCAPES, False, ESCAPES)
    screen.round_over(ESCAPES)
    screen.close()
    printed = out.getvalue()
    # rich's own colours are the only escape sequences left
    assert "\x1b[" in printed
    rest = re.sub(r"\x1b\[[0-9;]*m", "", printed)
    assert not CONTROL.search(rest), repr(CONTROL.search(rest))
    assert "\x1b]8;" not in printed and LINK in rest and "[bold]bold[/bold]" in rest


def test_persona_check_names_file_and_field_of_control_characters(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(DANA.replace("name: Dana Whitfield", 'name: "Dana\\e]52;c;cHduZWQ=\\a"')
                   .replace("difficulty: easy", 'difficulty: easy\nrole: "r\\e[2J"', 1)
                   .replace("role: University recruiter at Northwind Logistics\n", ""),
                   encoding="utf-8")
    good = tmp_path / "dana.yaml"
    good.write_text(DANA, encoding="utf-8")
    res = run("persona", "check", str(good), str(bad))
    out, err = text_of(res)
    assert res.returncode == 1, err
    assert out.splitlines() == [
        f"ok {good}",
        f"{bad}: name: expected text without control characters, got ESC, BEL",
        f"{bad}: role: expected text without control characters, got ESC",
    ]
    with pytest.raises(PersonaError):  # so `practice --persona FILE` refuses it too
        parse_persona(bad.read_text(), str(bad))


def test_review_history_and_analyze_print_stored_text_without_escapes(trainer_home, tmp_path):
    store = Store()
    write_hostile_round(store, ESCAPES, audio=False)
    transcript = tmp_path / "chat.txt"
    transcript.write_text(f"Dana\x9b2J\x07\x08 Reyes: Hi! {ESCAPES}\nSam: What do you do? "
                          f"{ESCAPES}\n", encoding="utf-8")
    commands = [("review",), ("history",), ("analyze", str(transcript), "--me", "Sam"),
                ("analyze", str(transcript)),  # no --me: the speakers are listed
                ("analyze", str(tmp_path / "x\x1b[2J\x1b]0;t\x07.txt")),  # a bad file name
                ("review", "--html", str(tmp_path / "r.html"))]
    printed = {}
    for args in commands:
        out, err = printed[args] = text_of(run(*args))
        assert "Traceback" not in err, err
        for stream in (out, err):
            assert not CONTROL.search(stream), (args, repr(CONTROL.search(stream)))
    assert LINK in printed[("review",)][0] and "[bold]bold[/bold]" in printed[("review",)][0]
    assert "speakers: Dana Reyes, Sam" in printed[commands[3]][1]


def test_a_typed_reply_with_escapes_and_markup_is_printed_as_typed(trainer_home):
    typed = "Hi \x1b[2J\x1b]0;t\x07I'm Sam [bold]really[/bold] [link=https://evil.example]x[/link]"
    res = run("practice", "--input", "text", "--persona", "dana", "--no-voice", "--max-turns",
              "1", input=(typed + "\n").encode())
    out, err = text_of(res)
    assert res.returncode == 0, err
    assert not CONTROL.search(out) and not CONTROL.search(err)
    assert "You: Hi I'm Sam [bold]really[/bold] [link=https://evil.example]x[/link]" in out
    rec = Store().load_session(Store().list_sessions()[-1].id)
    assert [t.text for t in rec.turns if t.speaker == "user"] == [typed]  # stored as typed


# --- probe 5: bounded persona and transcript reads ----------------------------------------------
def _bomb(levels: int) -> str:
    lines = ['x0: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"x{i}: &a{i} [" + ", ".join([f"*{'a' if i == 1 else f'a{i - 1}'}"] * 9)
                     + "]")
    return "\n".join(lines) + f"\nname: *a{levels}\n"


def test_yaml_alias_bomb_recursion_and_endless_files_are_one_line(tmp_path):
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(_bomb(9))  # 351 bytes that expand to 9^10 strings
    assert bomb.stat().st_size < 4096
    loop = tmp_path / "loop.yaml"
    loop.write_text("id: loop\nname: &n [*n]\n")
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * 50_000 + "]" * 50_000)
    expected = {
        bomb: "expected at most 50000 values with YAML aliases expanded",
        loop: "expected YAML without an alias to a value that contains it",
        deep: "nesting depth",
        Path("/dev/zero"): "expected a persona file of at most 1024 KB",
    }
    for path, message in expected.items():
        res = run("persona", "check", str(path), timeout=60)
        out, err = text_of(res)
        assert res.returncode == 1 and "Traceback" not in err, err
        assert len(out.splitlines()) == 1 and message in out, out


def test_analyze_refuses_endless_and_deeply_nested_input_in_one_line(tmp_path):
    nested = tmp_path / "deep.json"
    nested.write_text('{"format": "networking-trainer-session", "turns": '
                      + "[" * 100_000 + "]" * 100_000 + "}")
    expected = {Path("/dev/zero"): "larger than 32 MB",
                nested: "JSON nested too deeply to be a session export"}
    for path, message in expected.items():
        res = run("analyze", str(path), "--me", "Me", timeout=60)
        out, err = text_of(res)
        assert res.returncode == 1 and not out, (out, err)
        assert err.splitlines()[0] == f"error: {path}: {message}" if path.name != "zero" \
            else message in err.splitlines()[0], err
        assert "Traceback" not in err


# --- probe 9: any terminal encoding -------------------------------------------------------------
@pytest.mark.parametrize(("env", "typed"), [
    ({"PYTHONIOENCODING": "ascii"}, "Hi, I'm Zoë. What do you do?".encode()),
    ({"PYTHONIOENCODING": "latin-1"}, "Hi, I'm Zoë. What do you do?".encode("latin-1")),
    # no PEP 538/540 rescue: a plain C locale, ASCII with surrogateescape
    ({"LANG": "C", "LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"},
     "Hi, I'm Zoë. What do you do?".encode()),
], ids=["ascii", "latin-1", "C-locale"])
def test_a_round_survives_a_terminal_that_is_not_utf8(trainer_home, env, typed):
    res = run("practice", "--input", "text", "--persona", "dana", "--no-voice", "--max-turns",
              "2", input=typed + b"\nWhy is that?\n", env=env)
    out, err = text_of(res)
    assert res.returncode == 0 and "Traceback" not in err, err
    assert "Saved as session" in out and "Talk share" in out
    rec = Store().load_session(Store().list_sessions()[-1].id)
    assert rec.state == "completed" and rec.scorecard is not None
    assert [t.text for t in rec.turns if t.speaker == "user"] == [
        "Hi, I'm Zoë. What do you do?", "Why is that?"]


# --- probe 10: analyze stays linear ---------------------------------------------------------------
def test_a_100kb_line_is_scored_in_parts_and_every_question_counts():
    sentences = ["I think the data team really matters.", "What do you think about it?",
                 "We could talk about forecasting more often.", "How did you get into this?"]
    # ~105 KB, 1,750 questions (the 400 KB line of the issue is in benchmarks/transcripts.py)
    body = " ".join(sentences[i % 4] for i in range(3_500))
    parsed = parse_transcript(f"Dana: Hi, what brings you here?\nMe: {body}\n")
    card = score_transcript(parsed, "Me")
    assert card.metric("questions_total").value == 1_750
    assert any("scored in parts" in n for n in card.notes)
    # the parts are one monologue, as the whole line was (18,000 words at 150 wpm)
    assert card.metric("longest_monologue").value > 60 * 60
    # an ordinary long turn is scored whole
    long = " ".join(sentences[i % 4] for i in range(MAX_TURN_WORDS // 7))
    card = score_transcript(parse_transcript(f"Dana: Hi there.\nMe: {long}\n"), "Me")
    assert not any("scored in parts" in n for n in card.notes) and len(card.lines) == 1


def test_a_transcript_with_20k_speakers_is_read_and_named_in_one_short_line():
    text = "Me: Hi, what do you do?\n" + "".join(f"Speaker {i}: hello there\n"
                                               for i in range(20_000))
    parsed = parse_transcript(text)
    assert len(parsed.speakers) == 20_001 and parsed.user == "Me"
    with pytest.raises(UsageError) as err:
        match_speaker(parsed, "nobody")
    assert len(err.value.message) < 300 and "and 19993 more" in err.value.message


# --- probe 3: the report's markup ----------------------------------------------------------------
class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def test_hostile_values_never_become_markup_or_attributes(trainer_home):
    from dataclasses import replace

    store = Store()
    rec = store.load_session(write_hostile_round(store, XSS))
    rec.turns = [replace(t, index=f"{t.index}{XSS_ATTR}") for t in rec.turns]
    page = render_html(build_review(rec))
    parser = _Tags()
    parser.feed(page)
    tags = {t for t, _ in parser.tags}
    assert tags <= {"html", "head", "meta", "title", "style", "body", "main", "header", "h1",
                    "h2", "h3", "span", "p", "div", "section", "svg", "line", "text", "a",
                    "rect", "circle", "ul", "li", "q", "mark", "audio", "table",
                    "thead", "tbody", "tr", "th", "td", "footer", "b", "script", "clippath",
                    "g", "i"}, tags
    assert [t for t, _ in parser.tags].count("script") == 1
    for tag, attrs in parser.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        assert set(attrs) <= {"lang", "charset", "http-equiv", "content", "name", "class", "id",
                              "viewbox", "role", "aria-label", "x", "y", "x1", "y1", "x2", "y2",
                              "text-anchor", "width", "height", "rx", "ry", "href",
                              "data-turn", "cx", "cy", "r", "title", "controls", "preload",
                              "src", "preserveaspectratio", "clip-path"}, (tag, attrs)
        assert "style" not in attrs  # the CSP would block it anyway
        if "href" in attrs:
            assert attrs["href"].startswith("#turn-")
        if "src" in attrs:
            assert attrs["src"].startswith("data:audio/wav;base64,")
    # the hostile index survives as data, so links still find their rows
    ids = {a.get("id") for _, a in parser.tags}
    assert all(a["href"][1:] in ids for _, a in parser.tags if "href" in a)


def test_a_file_that_is_not_a_wav_is_never_embedded(trainer_home, tmp_path):
    from dataclasses import replace

    from session_helpers import write_round

    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    store = Store()
    rec = store.load_session(write_round(store, n=4))
    rec.turns = [replace(t, audio_path=str(secret)) if t.index == 1 else t for t in rec.turns]
    page = render_html(build_review(rec))
    assert page.count("<audio") == 1  # turn 3's recording; turn 1's "recording" is not a WAV
    assert 'data-turn="3"' in page.split("<audio", 1)[1][:80]


# --- probe 12: the timeline of a typed round ------------------------------------------------------
def test_typed_round_timeline_shows_the_scorecards_estimated_talk_share(trainer_home, tmp_path):
    replies = ["Hi Dana, I'm Sam, I study computer science and I love logistics puzzles.",
               "What does a first year at Northwind look like for a new graduate?"]
    res = run("practice", "--input", "text", "--persona", "dana", "--no-voice", "--max-turns",
              "2", input=("\n".join(replies) + "\n").encode())
    assert res.returncode == 0, text_of(res)[1]
    page_path = tmp_path / "typed.html"
    res = run("review", "--html", str(page_path))
    assert res.returncode == 0, text_of(res)[1]
    rec = Store().load_session(Store().list_sessions()[-1].id)
    share = next(m["value"] for m in rec.scorecard["metrics"] if m["key"] == "talk_share")
    assert rec.scorecard["timing_estimated"] and share > 5
    page = page_path.read_text(encoding="utf-8")
    assert f"<span>You {share:.0f}% (estimated)</span>" in page
    assert "Estimated: typed replies" in page
    # the user's bars have the estimated length, not a 2-pixel sliver each
    widths = [float(w) for w in re.findall(r'<rect class="you" x="[\d.]+" y="62" width="([\d.]+)"',
                                           page)]
    assert len(widths) == 2 and all(w > 20 for w in widths), widths


def test_a_timed_round_keeps_its_measured_clock(trainer_home):
    from session_helpers import write_round

    store = Store()
    rec = store.load_session(write_round(store, score=True))
    page = render_html(build_review(rec))
    assert "(estimated)" not in page and "Estimated:" not in page
    first_user = realistic_turns()[1]
    assert f'<title>{first_user.start_s // 60:.0f}:{first_user.start_s % 60:02.0f} Hi Dana' in page
