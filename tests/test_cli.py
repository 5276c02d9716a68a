"""The command skeleton: help, version, contract commands, one-line errors."""

from __future__ import annotations

from trainer import __version__

CONTRACT = ["practice", "personas", "persona", "transcribe", "analyze", "review", "history",
            "devices", "check"]


def test_help_lists_every_contract_command(cli):
    res = cli("--help")
    assert res.returncode == 0
    for name in CONTRACT:
        assert f"  {name}" in res.stdout, name


def test_version(cli):
    res = cli("--version")
    assert res.returncode == 0
    assert __version__ in res.stdout


def test_each_command_has_help(cli):
    for name in CONTRACT + ["persona check", "persona graph"]:
        res = cli(*name.split(), "--help")
        assert res.returncode == 0, (name, res.stderr)
        assert "Usage:" in res.stdout


def test_bad_usage_exits_2(cli):
    res = cli("practice", "--max-turns", "zero")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr


def test_missing_portaudio_is_one_line_with_fix(cli, no_portaudio_env):
    res = cli("devices", env=no_portaudio_env)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines[0].startswith("error: PortAudio not found")
    assert any("libportaudio2" in ln for ln in lines)
    assert len(lines) <= 2
