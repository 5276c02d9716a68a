"""The `trainer` command: arguments, progress display, and errors turned into one-line messages.

Exit codes (contract in ARCHITECTURE.md): 0 ok, 1 the command ran and found a problem,
2 bad usage or a missing dependency/device. Only this module prints errors.
"""

from __future__ import annotations

import sys

import click

from trainer import __version__
from trainer.errors import TrainerError
from trainer.textsafe import clean


def _say(message: str, err: bool = False) -> None:
    # Messages quote file names, speaker names and stored text: no terminal escapes (issue 14).
    click.echo(clean(message), err=err)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trainer")
def cli():
    """Practise networking conversations out loud and get a listening scorecard."""


# --- practice ---------------------------------------------------------------------------------
@cli.command()
@click.option("--persona", "persona_id", metavar="ID", help="Persona to meet (default: by history).")
@click.option(
    "--input",
    "inputs",
    multiple=True,
    metavar="mic|text|FILE.wav",
    help="Where replies come from: mic (default when a device exists), text, or WAV files "
    "(one per turn; repeat the option or list several).",
)
@click.option("--engine", type=click.Choice(["whisper", "faster-whisper"]), default=None,
              help="Speech recognition engine (default: the faster one).")
@click.option("--model", metavar="NAME|PATH", default=None,
              help="Whisper model: tiny.en (bundled), base.en, small.en... or a local path.")
@click.option("--no-voice", is_flag=True, help="Print the persona's lines instead of speaking.")
@click.option("--voice", "voice_engine", type=click.Choice(["persona", "espeak"]),
              default="persona", show_default=True,
              help="The persona's own voice (neural where its file says so), or espeak-ng.")
@click.option("--max-turns", type=click.IntRange(min=1), default=None, help="Stop after N user turns.")
@click.option("--seed", type=int, default=None, help="Seed for the persona's choice of lines.")
@click.option("--device", default=None, help="Audio device (name or index, see `trainer devices`).")
@click.option("--recall-answer", "recall_answers", multiple=True, metavar="[HOOK=]ANSWER",
              help="Answer the recall check without being asked (in order, or for a hook id); "
              "for rounds from WAV files.")
@click.option("--load-model-first", is_flag=True, hidden=True,
              help="Load the speech model before the persona speaks (benchmark baseline).")
@click.option("--no-barge-in", is_flag=True,
              help="For speakers without headphones: the microphone hears the persona, so "
              "talking over it is off and you answer once it has finished.")
@click.argument("more_inputs", nargs=-1, type=click.Path(), metavar="[FILE.wav ...]")
def practice(persona_id, inputs, engine, model, no_voice, voice_engine, max_turns, seed, device,
             recall_answers, load_model_first, no_barge_in, more_inputs):
    """Run one practice round with a persona, then show the scorecard.

    A short briefing, then the persona speaks and you answer out loud (or type, or give one
    audio file per reply). The round ends when the persona wraps up, you say goodbye,
    --max-turns is reached, or Ctrl-C (the round so far is kept). Then a two-question recall
    check, the scorecard, and the session id to review it with `trainer review`.
    """
    from trainer.errors import UsageError
    from trainer.practice import PracticeOptions, run_practice

    # `--input a.wav b.wav c.wav`: the files after the first land here as arguments
    if more_inputs and (not inputs or inputs[-1] in ("mic", "text")):
        raise UsageError(f"unexpected argument {more_inputs[0]!r}",
                         hint="reply files go after --input: --input a.wav b.wav")
    options = PracticeOptions(
        persona=persona_id, inputs=tuple(inputs) + tuple(more_inputs), engine=engine,
        model=model, voice=not no_voice, voice_engine=voice_engine, max_turns=max_turns, seed=seed, device=device,
        recall_answers=tuple(recall_answers), load_model_first=load_model_first,
        barge_in=not no_barge_in)
    return run_practice(options).exit_code


# --- personas ---------------------------------------------------------------------------------
@cli.command("personas")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def personas_cmd(as_json):
    """List personas with setting and difficulty."""
    import json

    from trainer.personas import list_personas

    personas = list_personas()
    if as_json:
        click.echo(json.dumps({"personas": [p.summary() for p in personas]}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    from trainer.textsafe import term

    table = Table(title="Personas", title_justify="left")
    for col in ("id", "name", "setting", "difficulty"):
        table.add_column(col, overflow="fold")
    for p in personas:  # Text cells: persona fields are not rich markup
        table.add_row(*(term(v) for v in (p.id, p.name, p.setting, p.difficulty)))
    # Piped output gets a fixed width so the settings are not folded into narrow columns.
    Console(width=None if sys.stdout.isatty() else 120).print(table)
    return 0


@cli.group()
def persona():
    """Check persona files and inspect their state machine."""


@persona.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path())
def persona_check(files):
    """Validate persona files: one line per problem, exit 1 if any."""
    from trainer.personas import check_files

    problems = check_files(files)  # all at once: ids must also be unique across the files
    for f in files:
        mine = [line for line in problems if line.startswith(f"{f}: ")]
        for line in mine:
            _say(line)
        if not mine:
            _say(f"ok {f}")
    return 1 if problems else 0


@persona.command("warm")
@click.argument("persona_ids", nargs=-1, metavar="[ID ...]")
def persona_warm(persona_ids):
    """Compute the personas' sentence vectors now (default: every persona), so the first round
    with each one does not wait for them; they are cached by file hash."""
    import time

    from trainer.personas import list_personas, load_persona
    from trainer.round_setup import meaning_router

    ids = list(persona_ids) or [p.id for p in list_personas()]
    for pid in ids:
        t0 = time.monotonic()
        router = meaning_router(load_persona(pid), warm_lines=True)
        _say(f"ok {pid}: {len(router.examples)} examples ({time.monotonic() - t0:.1f} s)")
    return 0


@persona.command("graph")
@click.argument("persona_id")
@click.option("--out", "out_path", type=click.Path(), default=None, help="Output file (.svg/.png/.dot).")
def persona_graph(persona_id, out_path):
    """Write a diagram of a persona's conversation machine (default: ID.svg; "-" prints DOT)."""
    import shutil
    import subprocess
    from pathlib import Path

    from trainer.conversation import machine_dot
    from trainer.errors import DependencyError, UsageError
    from trainer.personas import load_persona

    persona = load_persona(persona_id)
    dot_text = machine_dot(persona)
    if out_path == "-":
        click.echo(dot_text, nl=False)
        return 0
    out = Path(out_path or f"{persona.id}.svg")
    fmt = out.suffix.lower().lstrip(".")
    if fmt == "gv":
        fmt = "dot"
    if fmt not in ("dot", "svg", "png", "pdf"):
        raise UsageError(f"cannot write a diagram as {out.name!r}",
                         hint="use a file ending in .svg, .png, .pdf or .dot")
    if fmt == "dot":
        out.write_text(dot_text, encoding="utf-8")
    else:
        dot = shutil.which("dot")
        if dot is None:
            raise DependencyError(
                "graphviz `dot` not found, so no .svg/.png can be drawn",
                hint="apt-get install graphviz (or run scripts/setup); or use --out FILE.dot")
        # dot renders from stdin; its own errors are shown as one line.
        proc = subprocess.run([dot, f"-T{fmt}", "-o", str(out)], input=dot_text,
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            msg = (proc.stderr.strip().splitlines() or ["unknown error"])[0]
            raise DependencyError(f"graphviz `dot` failed: {msg}",
                                  hint="try --out FILE.dot and render it yourself")
    click.echo(f"wrote {out}")
    return 0


# --- transcribe / analyze ---------------------------------------------------------------------
@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--engine", type=click.Choice(["whisper", "faster-whisper"]), default=None)
@click.option("--model", metavar="NAME|PATH", default=None)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def transcribe(files, engine, model, as_json):
    """Transcribe WAV/FLAC files with the local Whisper model."""
    import json

    from trainer.errors import AudioError
    from trainer.speech.asr import load_transcriber
    from trainer.speech.audio_io import read_audio

    # Read every file first: bad files are reported (one line each) without loading a model.
    audios: list = []
    errors: list[str | None] = []
    for f in files:
        try:
            audios.append(read_audio(f))
            errors.append(None)
        except AudioError as exc:
            audios.append(None)
            errors.append(exc.message)
            _say(f"error: {exc.message}", err=True)
    results: list = [None] * len(files)
    if any(a is not None for a in audios):
        tr = load_transcriber(engine, model, progress=lambda msg: click.echo(msg, err=True))
        for i, (f, audio) in enumerate(zip(files, audios, strict=True)):
            if audio is None:
                continue
            results[i] = t = tr.transcribe(audio)
            if not as_json:
                _say(f"{f}: {t.text}" if len(files) > 1 else t.text)
    if as_json:
        doc = [
            {
                "file": f,
                "text": t.text if t else None,
                "words": [{"text": w.text, "start_s": w.start_s, "end_s": w.end_s}
                          for w in t.words] if t else [],
                "duration_s": t.duration_s if t else None,
                "seconds_taken": t.seconds_taken if t else None,
                "engine": t.engine if t else None,
                "model": t.model if t else None,
                "error": err,
            }
            for f, t, err in zip(files, results, errors, strict=True)
        ]
        click.echo(json.dumps(doc, indent=2))
    return 1 if any(errors) else 0


@cli.command()
@click.argument("transcript", type=click.Path())
@click.option("--me", "me", metavar="NAME", default=None, help="Which speaker is you.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def analyze(transcript, me, as_json):
    """Score a transcript: "Name: words" lines, WebVTT, or a session export."""
    import json

    from rich.console import Console

    from trainer.errors import UsageError
    from trainer.report.scorecard import print_scorecard, render_lines
    from trainer.transcripts import (
        analysis_document,
        load_transcript,
        match_speaker,
        score_transcript,
        speaker_list,
    )

    parsed = load_transcript(transcript)
    speakers = parsed.speakers
    if me:
        user = match_speaker(parsed, me)
    elif parsed.user:
        user = parsed.user
    elif sys.stdin.isatty():
        user = None
        for _ in range(3):
            answer = click.prompt(clean(f"Which speaker are you? ({speaker_list(speakers)})"),
                                  err=True)
            try:
                user = match_speaker(parsed, answer)
                break
            except UsageError as exc:
                _say(exc.message, err=True)
        if user is None:
            raise UsageError("no speaker chosen", hint="pass --me NAME")
    else:
        raise UsageError(f"which speaker are you? speakers: {speaker_list(speakers)}",
                         hint=f"pass --me NAME, e.g. --me {speakers[0].split()[0]}")
    from trainer.meaning import optional_shared

    card = score_transcript(parsed, user, meaning=optional_shared())
    if as_json:
        click.echo(json.dumps(analysis_document(parsed, user, card), indent=2))
        return 0
    console = Console()
    console.print(render_lines(card))
    print_scorecard(card, console)
    return 0


# --- review / history -------------------------------------------------------------------------
@cli.command()
@click.argument("session", required=False)
@click.option("--html", "html_path", type=click.Path(), default=None, help="Write an HTML report.")
@click.option("--json", "as_json", is_flag=True, help="Export the whole session as JSON.")
def review(session, html_path, as_json):
    """Review a session (default: the last one)."""
    import json
    from pathlib import Path

    from trainer.store import Store

    store = Store()
    sid = store.resolve_id(session)
    if as_json and not html_path:
        click.echo(json.dumps(store.export_session(sid), indent=2, ensure_ascii=False))
        return 0
    from trainer.meaning import optional_shared
    from trainer.report.review import build_review, print_review

    record = store.load_session(sid)
    rv = build_review(record, meaning=optional_shared())
    if html_path:
        from trainer.report.html import write_html

        out = write_html(rv, Path(html_path))
        for note in rv.notes:
            _say(f"warning: {note}", err=True)
        # with --json, stdout holds only the JSON document
        click.echo(f"wrote {out}", err=as_json)
        if as_json:
            click.echo(json.dumps(store.export_session(sid), indent=2, ensure_ascii=False))
        return 0
    print_review(rv)
    return 0


# export/import sits next to review: both hand whole sessions around
@cli.group("session")
def session_group():
    """Export, import and delete stored sessions (for a coach or a second device)."""


@session_group.command("export")
@click.argument("session_id", metavar="ID")
@click.argument("path", required=False, type=click.Path())
@click.option("--with-audio", is_flag=True, help="Embed the recordings (base64 WAV).")
def session_export(session_id, path, with_audio):
    """Write a session as JSON to PATH (default: stdout). ID may be a prefix or 'last'."""
    import json
    from pathlib import Path

    from trainer.errors import StoreError
    from trainer.store import Store

    store = Store()
    sid = store.resolve_id(None if session_id == "last" else session_id)
    text = json.dumps(store.export_session(sid, with_audio=with_audio), indent=2,
                      ensure_ascii=False)
    if not path or path == "-":
        click.echo(text)
        return 0
    try:
        Path(path).write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"could not write {path}: {exc.strerror or exc}") from None
    click.echo(f"exported session {sid} to {path}")
    return 0


@session_group.command("import")
@click.argument("file", type=click.Path())
def session_import(file):
    """Store a session exported with `trainer session export` (FILE or - for stdin).

    The whole file is checked first (sizes, types, ids); a bad one is refused with one line
    naming the field, and nothing is stored.
    """
    from trainer.errors import StoreError
    from trainer.store import Store
    from trainer.store_schema import read_export_bytes

    try:
        if file == "-":
            data = read_export_bytes(sys.stdin.buffer, "stdin")
        else:
            with open(file, "rb") as f:
                data = read_export_bytes(f, file)
    except OSError as exc:
        raise StoreError(f"cannot read {file}: {exc.strerror or exc}") from None
    store = Store()
    sid = store.import_session(data, source=file)
    for note in store.notes:
        _say(f"note: {note}", err=True)
    _say(f"imported session {sid}")
    return 0


@session_group.command("delete")
@click.argument("session_id", metavar="ID")
def session_delete(session_id):
    """Remove a session: its turns, scorecard and recordings (ID may be a unique prefix)."""
    from trainer.store import Store

    store = Store()
    sid = store.resolve_id(session_id)
    removed = store.delete_session(sid)
    click.echo(f"deleted session {sid} ({removed} recording{'' if removed == 1 else 's'} "
               "removed)")
    return 0


@cli.command()
@click.option("--fix", is_flag=True, help="Repair what can be repaired (never deletes "
              "recordings).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
def doctor(fix, as_json):
    """Check the session store: damage, unreadable sessions, killed rounds, stray recordings."""
    import json

    from trainer.store_doctor import run_doctor

    report = run_doctor(fix=fix)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return 0 if report.ok else 1
    for f in report.findings:
        if f.fixed:
            click.echo(f"fixed: {f.message}")
            click.echo(f"  done: {f.fix}")
        else:
            click.echo(f"{'note' if f.kind == 'interrupted' else 'problem'}: {f.message}")
            if f.fix:
                click.echo(f"  fix: {f.fix}")
    left = sum(1 for f in report.findings if not f.fixed and f.kind != "interrupted")
    if report.ok:
        click.echo(f"store ok: {report.sessions} session(s) in {report.root}")
    else:
        click.echo(f"{left} problem(s) in {report.root}"
                   + ("" if fix else "; `trainer doctor --fix` repairs what it can"))
    return 0 if report.ok else 1


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--plot", "plot_path", type=click.Path(), default=None, help="Write a trend chart.")
def history(as_json, plot_path):
    """One row per round and the trend of the main metrics."""
    import json
    from pathlib import Path

    from trainer.report.history import history_rows, print_history, trends, write_plot
    from trainer.store import Store

    store = Store()
    rows = history_rows(store.list_sessions(with_scorecards=True))
    for note in store.recovered:
        _say(f"note: {note}", err=True)
    for skipped in store.skipped:
        _say(f"warning: {skipped} (see `trainer doctor`)", err=True)
    if plot_path:
        out = write_plot(rows, Path(plot_path))
        click.echo(f"wrote {out}", err=as_json)
    if as_json:
        doc = {"rounds": [r.to_dict() for r in rows],
               "trends": [t.to_dict() for t in trends(rows)],
               "skipped": [{"id": s.id, "reason": s.reason} for s in store.skipped]}
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    else:
        print_history(rows)
    return 0


# --- devices / check --------------------------------------------------------------------------
@cli.command()
def devices():
    """List audio input and output devices."""
    from trainer.speech.devices import list_devices

    devs = list_devices()
    if not devs:
        click.echo("no audio devices found (practise with --input text)")
        return 1
    for d in devs:
        marks = ("<in " if d.is_default_input else "") + ("out>" if d.is_default_output else "")
        kinds = []
        if d.max_input_channels:
            kinds.append(f"in:{d.max_input_channels}")
        if d.max_output_channels:
            kinds.append(f"out:{d.max_output_channels}")
        _say(f"{d.index:>3} {d.name} ({d.hostapi}; {' '.join(kinds)}; "
                   f"{d.default_samplerate_hz:.0f} Hz) {marks}".rstrip())
    if not any(d.max_input_channels for d in devs):
        click.echo("no microphone found: practise with --input text")
    click.echo("pick one with --device NAME|NUMBER (practice, check)")
    return 0


@cli.command()
@click.option("--device", default=None, help="Audio device (name or index).")
def check(device):
    """Self-test: speaker -> microphone -> transcription."""
    from trainer.speech.selftest import run_check

    def report(step):
        click.echo(f"{step.name}: {'ok' if step.ok else 'FAILED'} - {step.detail}")
        if not step.ok and step.hint:
            click.echo(f"  fix: {step.hint}")

    click.echo("playing a phrase on the speaker while the microphone listens...")
    steps = run_check(device, report=report, say=click.echo,
                      ask_user=sys.stdin.isatty() and sys.stdout.isatty(),
                      progress=lambda msg: click.echo(msg, err=True))
    return 0 if all(s.ok for s in steps) else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn library errors into one-line messages."""
    from trainer.textsafe import survive_any_encoding

    survive_any_encoding()  # an ASCII or Latin-1 terminal must not crash a round (issue 14)
    try:
        rv = cli.main(args=argv, prog_name="trainer", standalone_mode=False)
    except TrainerError as exc:
        _say(f"error: {exc.message}", err=True)
        if exc.hint:
            _say(f"hint: {exc.hint}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    # commands return an int exit code (1 = ran and found a problem) or None for success
    return rv if isinstance(rv, int) else 0


def run() -> None:
    """The process's entry (`trainer`, `python -m trainer`): main(), then exit with its code.

    A failed command can end while a background thread is still inside native code (the
    speech model or the meaning model loading in the background from the start of a round);
    an ordinary interpreter exit then aborts the process ("terminate called without an
    active exception", exit -6) after the one-line error. Everything a round says is stored
    when it is said, so a failed command's process ends at once, with its own code.
    """
    import contextlib
    import os
    import threading

    code = main()
    if code and threading.active_count() > 1:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
