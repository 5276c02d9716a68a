"""Persona files: the shipped ones are valid and rich; invalid ones give one clear line per
problem (file, field path, what was expected); junk never gives anything but a PersonaError."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainer.analysis import HookCue, TurnContext, hook_followed
from trainer.errors import PersonaError, UsageError
from trainer.paths import personas_dir
from trainer.personas import (
    ESPEAK_ENGLISH,
    Persona,
    check_files,
    list_personas,
    load_persona,
    parse_persona,
    validate_persona,
)

SHIPPED = sorted(personas_dir().glob("*.yaml"))


def _dana_data() -> dict:
    return yaml.safe_load((personas_dir() / "dana.yaml").read_text(encoding="utf-8"))


def _problems(data, source="x.yaml") -> list[str]:
    with pytest.raises(PersonaError) as info:
        validate_persona(data, source)
    return info.value.problems


# --- the shipped personas ---------------------------------------------------------------------


def test_every_shipped_persona_passes_check():
    assert len(SHIPPED) >= 6
    assert check_files(SHIPPED) == []


def test_shipped_personas_cover_the_settings_and_difficulties():
    personas = list_personas()
    assert {p.difficulty for p in personas} == {"easy", "medium", "hard"}
    settings_text = " ".join(f"{p.role} {p.setting}".lower() for p in personas)
    for needle in ("career fair", "food bank", "innovation cafe", "conference", "alumni"):
        assert needle in settings_text, needle
    assert any(p.open_questions_only for p in personas), "a reserved one needing open questions"
    assert len({p.id for p in personas}) == len(personas)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_persona_is_rich_enough_to_vary(path):
    p = load_persona(path)
    assert p.id == path.stem
    assert len(p.topics) >= 4 and len(p.hooks) >= 3
    assert len(p.opener) >= 3
    for t in p.topics:
        assert len(t.asks) >= 5, t.id
        assert len(t.answers) >= 3, t.id
    for h in p.hooks:
        assert len(h.mentions) >= 2 and len(h.warm_answers) >= 2 and len(h.cues) >= 2, h.id
        assert h.suggestion.endswith("?"), h.id
    r = p.reactions
    for name in ("acknowledge", "monologue", "never_asks", "silence_prompt", "silence_move_on",
                 "follow_up", "offer", "ask_to_meet"):
        assert len(getattr(r, name)) >= 2, name
    assert len(p.deflections) >= 3
    # Deflections hand the conversation back; answers and hooks leave room to follow up.
    assert all(d.endswith("?") for d in p.deflections)
    for t in p.topics:
        assert not any(a.text.endswith("?") for a in t.answers), t.id
    for h in p.hooks:
        assert not any(a.endswith("?") for a in h.mentions), h.id
        assert not any(a.text.endswith("?") for a in h.warm_answers), h.id
    for ph in p.phases:
        if not ph.final:
            assert len(ph.prompts) >= 2, ph.id


STANDARD_TOPICS = ("work_day", "organisation", "path", "weekends", "family", "advice", "event",
                   "week_best", "week_hard", "surprising", "current_work", "personal_private",
                   "off_world")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_persona_is_a_whole_person(path):
    """Everything an ordinary networking conversation covers (issue 12), with details to follow
    up on, direct ways to ask about each hook, and its own answer to each question it asks."""
    p = load_persona(path)
    ids = p.topic_ids()
    assert not set(STANDARD_TOPICS) - ids, sorted(set(STANDARD_TOPICS) - ids)
    assert p.topic("personal_private").kind == "personal"
    assert p.topic("off_world").kind == "unsure"
    follow_ups = sum(len(a.follow_ups) for t in p.topics for a in t.answers)
    assert follow_ups >= 2 * len(p.topics), follow_ups
    for h in p.hooks:
        assert len(h.asks) >= 2, h.id
    asking = [o for o in p.opener if o.text.rstrip().endswith("?")]
    asking += [pr for ph in p.phases for pr in ph.prompts if pr.text.rstrip().endswith("?")]
    with_own = [x for x in asking if x.own]
    assert len(with_own) >= 0.8 * len(asking), [x.text for x in asking if not x.own]
    assert len(p.reactions.echo) >= 3


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_voice_is_one_espeak_ng_speaks(path, tmp_path):
    """pyttsx3 hands the voice name to espeak-ng; espeak-ng must know it (and its variant)."""
    voice = load_persona(path).voice.id
    wav = tmp_path / "v.wav"
    proc = subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), "Hello there."],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "not found" not in proc.stderr.lower(), proc.stderr
    assert wav.stat().st_size > 10_000


def test_load_by_id_and_by_path_and_list():
    dana = load_persona("dana")
    assert isinstance(dana, Persona) and dana.name == "Dana Whitfield"
    assert load_persona(personas_dir() / "dana.yaml").id == "dana"
    assert load_persona(str(personas_dir() / "dana.yaml")).path == personas_dir() / "dana.yaml"
    ids = [p.id for p in list_personas()]
    assert ids[0] in ("dana", "grace") and "sam" in ids


def test_unknown_id_is_a_usage_error_naming_the_known_ones():
    with pytest.raises(UsageError) as info:
        load_persona("nobody")
    assert "nobody" in info.value.message and "dana" in info.value.hint


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_hook_mention_can_be_followed_up_by_pointing_back(path):
    # The analysis finds the hook a line dropped by its cues; a mention without one would
    # leave "tell me more" or "how old is he?" unrecognised as a follow-up on it.
    p = load_persona(path)
    cues = {c.id: c for c in p.hook_cues()}
    for h in p.hooks:
        for mention in h.mentions:
            ctx = TurnContext(partner_text=mention, hooks=(cues[h.id],))
            assert hook_followed("oh really, tell me more", ctx) == h.id, mention
            assert hook_followed("what do you think of the new iphone", ctx) is None, mention


def test_hook_cues_are_what_the_analysis_reads():
    cues = load_persona("dana").hook_cues()
    assert all(isinstance(c, HookCue) for c in cues)
    puppy = next(c for c in cues if c.id == "puppy")
    assert "biscuit" in puppy.cues and puppy.label and puppy.suggestion.endswith("?")


# --- invalid files: one line per problem ------------------------------------------------------


def test_unknown_key_is_refused_and_the_allowed_keys_are_named():
    data = _dana_data()
    data["voice"]["pitch"] = 3
    data["topics"][1]["answer"] = "typo for answers"
    lines = _problems(data)
    assert ("x.yaml: voice.pitch: unknown field; expected one of: id, rate_wpm, engine, "
            "piper_voice, speaker") in lines
    assert any(line.startswith("x.yaml: topics[1].answer: unknown field; expected one of: id, kind")
               for line in lines)
    assert len(lines) == 2


def test_missing_and_wrong_typed_fields_name_their_path():
    data = _dana_data()
    del data["briefing"]["goal"]
    data["difficulty"] = "brutal"
    data["voice"]["rate_wpm"] = "fast"
    data["hooks"][0]["cues"] = "biscuit"
    lines = _problems(data)
    assert "x.yaml: briefing.goal: expected this field (it is required)" in lines
    assert any(line.startswith("x.yaml: difficulty: expected 'easy', 'medium' or 'hard'")
               and "'brutal'" in line for line in lines)
    assert any(line.startswith("x.yaml: voice.rate_wpm: expected a valid integer")
               for line in lines)
    assert any(line.startswith("x.yaml: hooks[0].cues: expected a valid list") for line in lines)
    assert len(lines) == 4


def test_cross_references_are_checked():
    data = _dana_data()
    data["transitions"][0]["dest"] = "the_end"
    data["transitions"][1]["source"] = ["greeting", "smalltalk"]
    data["transitions"][2]["conditions"] = ["warmth <= 0", "mood>3", "asked>=2"]
    data["hooks"][1]["id"] = "puppy"  # duplicate
    data["phases"][1]["hooks"] = ["puppy", "unicorn"]
    data["initial"] = "hello"
    data["voice"]["id"] = "klingon"
    lines = _problems(data)
    joined = "\n".join(lines)
    assert "x.yaml: transitions[0].dest: expected a phase id (greeting, small_talk" in joined
    assert "got 'the_end'" in joined
    assert "x.yaml: transitions[1].source[1]: expected a phase id" in joined
    assert "x.yaml: transitions[2].conditions[1]: unknown fact 'mood'" in joined
    assert "x.yaml: transitions[2].conditions[2]: 'asked' cannot be compared" in joined
    assert "x.yaml: hooks[1].id: expected a unique id; 'puppy' is also hooks[0]" in joined
    assert "x.yaml: phases[1].hooks[1]: expected a hook id" in joined
    assert "x.yaml: initial: expected one of the phases" in joined
    assert "x.yaml: voice.id: expected an espeak-ng English voice" in joined
    assert all(line.startswith("x.yaml: ") for line in lines)


def test_unreachable_phase_no_final_phase_and_silent_hook_are_reported():
    data = _dana_data()
    data["transitions"] = [t for t in data["transitions"] if t["dest"] != "your_goals"]
    data["phases"][2]["hooks"] = []  # their_world dropped graduate_program and teaching
    lines = "\n".join(_problems(data))
    assert "phases[3]: expected a transition path from 'greeting' to 'your_goals'" in lines
    assert "hooks[3]: expected hook 'teaching' under some phase's `hooks`" in lines

    data = _dana_data()
    for ph in data["phases"]:
        ph.pop("final", None)
    assert any("expected at least one phase with `final: true`" in line
               for line in _problems(data))


def test_yaml_errors_name_the_line(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("id: x\nname: [unclosed\nrole: y\n", encoding="utf-8")
    with pytest.raises(PersonaError) as info:
        load_persona(f)
    (line,) = info.value.problems
    assert line.startswith(f"{f}: line ") and "expected valid YAML" in line

    f.write_text("id: a\nid: b\n", encoding="utf-8")
    with pytest.raises(PersonaError) as info:
        load_persona(f)
    assert "duplicate key 'id'" in info.value.problems[0] and "line 2" in info.value.problems[0]


@pytest.mark.parametrize(("content", "expected"), [
    (b"", "(top level): expected a mapping of persona fields, got an empty file"),
    (b"- a\n- b\n", "(top level): expected a mapping of persona fields, got list"),
    (b"\xff\xfe\x00junk", "expected UTF-8 text"),
    (b"when: 2021-02-30\n", "expected valid YAML"),
])
def test_junk_files_give_one_clean_line(tmp_path, content, expected):
    f = tmp_path / "junk.yaml"
    f.write_bytes(content)
    problems = check_files([f])
    assert len(problems) == 1 and problems[0].startswith(f"{f}: ") and expected in problems[0]


def test_check_files_reports_missing_files_and_duplicate_ids(tmp_path):
    copy_ = tmp_path / "dana2.yaml"
    shutil.copy(personas_dir() / "dana.yaml", copy_)
    problems = check_files([personas_dir() / "dana.yaml", copy_, tmp_path / "nope.yaml"])
    assert any("id: expected an id unique among the files checked" in p for p in problems)
    assert any(p == f"{tmp_path / 'nope.yaml'}: expected an existing file" for p in problems)


# --- hypothesis: junk never escapes as anything but a PersonaError ----------------------------

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
    st.text(max_size=20),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)


def _assert_clean(fn, *args):
    try:
        result = fn(*args)
    except PersonaError as exc:
        assert exc.problems and all(isinstance(p, str) and p.startswith("junk.yaml: ")
                                    and "\n" not in p for p in exc.problems)
    else:
        assert isinstance(result, Persona)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values)
def test_random_yaml_documents_give_clean_errors(value):
    text = yaml.safe_dump(value, allow_unicode=True)
    _assert_clean(parse_persona, text, "junk.yaml")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_give_clean_errors(raw):
    _assert_clean(parse_persona, raw, "junk.yaml")


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:- \n[]{}'\"&*!|>%@`#,?0912\t")), max_size=80))
def test_random_yaml_syntax_gives_clean_errors(text):
    _assert_clean(parse_persona, text, "junk.yaml")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_shapes_of_a_real_persona_give_clean_errors(data):
    """Take a valid persona, change a few random places (delete, retype, add keys)."""
    doc = copy.deepcopy(_DANA)
    for _ in range(data.draw(st.integers(1, 3))):
        node = doc
        for _depth in range(data.draw(st.integers(0, 4))):
            if isinstance(node, dict) and node:
                child = node[data.draw(st.sampled_from(sorted(node, key=str)))]
            elif isinstance(node, list) and node:
                child = node[data.draw(st.integers(0, len(node) - 1))]
            else:
                break
            if not isinstance(child, (dict, list)):
                break
            node = child
        action = data.draw(st.sampled_from(["delete", "replace", "add"]))
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node, key=str)))
            if action == "delete":
                del node[key]
            elif action == "replace":
                node[key] = data.draw(_values)
            else:
                node[data.draw(st.text(max_size=6))] = data.draw(_values)
        elif isinstance(node, list) and node:
            i = data.draw(st.integers(0, len(node) - 1))
            if action == "delete":
                del node[i]
            else:
                node[i] = data.draw(_values)
    _assert_clean(validate_persona, doc, "junk.yaml")
    # And the same data written out as YAML and read back through the file path.
    _assert_clean(parse_persona, yaml.safe_dump(doc, allow_unicode=True), "junk.yaml")


_DANA = _dana_data()


# --- the commands -----------------------------------------------------------------------------


def test_cli_personas_table_and_json(cli):
    proc = cli("personas")
    assert proc.returncode == 0, proc.stderr
    for p in list_personas():
        assert p.id in proc.stdout and p.difficulty in proc.stdout
    assert "setting" in proc.stdout and "Career" not in proc.stderr

    proc = cli("personas", "--json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    rows = {row["id"]: row for row in doc["personas"]}
    assert set(rows) == {p.stem for p in SHIPPED}
    assert rows["dana"]["difficulty"] == "easy" and rows["dana"]["voice"]["id"] in (
        f"{v}+f3" for v in ESPEAK_ENGLISH)
    assert set(rows["sam"]) >= {"id", "name", "role", "setting", "difficulty", "briefing"}


def test_cli_persona_check_ok_and_problems(cli, tmp_path):
    proc = cli("persona", "check", *map(str, SHIPPED))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == [f"ok {p}" for p in SHIPPED]

    data = _dana_data()
    data["colour"] = "blue"
    data["transitions"][0]["trigger"] = "wave"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    proc = cli("persona", "check", str(SHIPPED[0]), str(bad))
    assert proc.returncode == 1
    out = proc.stdout.splitlines()
    assert out[0] == f"ok {SHIPPED[0]}"
    assert f"{bad}: colour: unknown field; expected one of: id, name, role" in proc.stdout
    assert any(line.startswith(f"{bad}: transitions[0].trigger: expected 'reply', 'silence'")
               for line in out)
    assert len(out) == 3 and "Traceback" not in proc.stderr


def test_cli_persona_check_on_junk_never_shows_a_traceback(cli, tmp_path):
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(b"\x00\x01{[: ::\n\t- &a *b")
    proc = cli("persona", "check", str(junk))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stdout.startswith(f"{junk}: ")


def test_cli_persona_graph_writes_svg_and_dot(cli, tmp_path):
    svg = tmp_path / "dana.svg"
    proc = cli("persona", "graph", "dana", "--out", str(svg))
    assert proc.returncode == 0, proc.stderr
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    for phase in ("greeting", "small_talk", "their_world", "wrap_up", "closed"):
        assert phase in text
    assert "ask_to_meet" in text and "warmth&lt;=0" in text

    dot = tmp_path / "sam.dot"
    proc = cli("persona", "graph", "sam", "--out", str(dot))
    assert proc.returncode == 0
    assert "opening_up" in dot.read_text() and "open_question" in dot.read_text()


def test_cli_persona_graph_without_graphviz_says_how_to_fix(cli, tmp_path):
    proc = cli("persona", "graph", "dana", "--out", str(tmp_path / "x.svg"),
               env={"PATH": str(tmp_path)})
    assert proc.returncode == 2
    assert "graphviz `dot` not found" in proc.stderr and "--out FILE.dot" in proc.stderr
    proc = cli("persona", "graph", "dana", "--out", str(tmp_path / "x.dot"),
               env={"PATH": str(tmp_path)})
    assert proc.returncode == 0 and (tmp_path / "x.dot").exists()


def test_cli_persona_graph_unknown_id(cli):
    proc = cli("persona", "graph", "nobody")
    assert proc.returncode == 2 and "no persona with id 'nobody'" in proc.stderr


def test_persona_files_are_small_and_named_by_id():
    for path in SHIPPED:
        # A whole person of schema v2 (issue 12: 4+ answers a topic, 3-5 follow-ups an answer)
        # is ~110-160 KB of YAML; the bound still catches a runaway or generated file.
        assert Path(path).stat().st_size < 200_000
        assert yaml.safe_load(path.read_text())["id"] == path.stem


def _typed_round(pid: str):
    from trainer.conversation import Conversation
    from trainer.round_setup import meaning_router

    p = load_persona(pid)
    conv = Conversation(p, seed=1, router=meaning_router(p))
    conv.start()
    return conv


HELP_TOPICS = {"help_needed", "helping", "get_involved"}


@pytest.mark.model
@pytest.mark.parametrize("pid", ["dana", "ewan", "grace", "marcus", "priya", "sam"])
def test_an_open_offer_of_help_is_answered_with_what_would_help(pid):
    """"Is there anything I could do for you?" gets what would help this persona (its file's
    help topic), not a thank-you followed by an unrelated line (issue 12, part 6)."""
    conv = _typed_round(pid)
    reply = conv.respond("thanks, is there anything i could do to help you")
    topics = {ln.topic for ln in reply.lines if ln.kind == "answer"}
    assert topics & HELP_TOPICS, [(ln.kind, ln.topic, ln.text) for ln in reply.lines]


@pytest.mark.model
def test_nhs_pay_in_general_is_a_fair_question_but_sams_own_pay_is_private():
    conv = _typed_round("sam")
    reply = conv.respond("so what's nhs pay like for data jobs")
    answered = [ln for ln in reply.lines if ln.kind == "answer"]
    assert answered and answered[0].topic != "personal_private", [ln.text for ln in reply.lines]
    assert "nhs pay" in " ".join(ln.text for ln in answered).lower()
    conv = _typed_round("sam")
    reply = conv.respond("how much do you earn if you don't mind me asking")
    assert any(ln.topic == "personal_private" for ln in reply.lines), [
        (ln.topic, ln.text) for ln in reply.lines]
