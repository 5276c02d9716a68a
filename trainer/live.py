"""The terminal face of a practice round: briefing, the persona's lines, a listening indicator
with the input level, the user's transcript, the phase, at most one nudge, and the ending.

Deliberately quiet: research on live feedback (ARCHITECTURE.md anchors) says a busy dashboard
hurts, so the screen shows the conversation and nothing else until the round is over. On a
terminal the listening line is redrawn in place; when output is piped (tests, logs) it becomes
plain lines with no cursor tricks.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, fields, replace

from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.text import Text

from trainer.textsafe import clean

METER_FLOOR_DB = -60.0  # the meter's empty end; speech into a laptop mic sits around -30..-10
METER_WIDTH = 20


@dataclass(frozen=True)
class Briefing:
    """What the user reads before the persona speaks."""

    partner: str  # "Dana Whitfield, recruiter at Northwind"
    setting: str  # "career fair, university sports hall"
    difficulty: str
    goal: str  # one goal for this round
    opener_tip: str
    why: str = ""  # why this persona was picked ("your first round: an easy one")
    how: str = ""  # how to reply: speak / type / files


def meter(dbfs: float, width: int = METER_WIDTH) -> str:
    """A bar for the input level in dBFS, e.g. '▮▮▮▮▮▯▯▯▯▯' (empty at METER_FLOOR_DB)."""
    frac = (max(dbfs, METER_FLOOR_DB) - METER_FLOOR_DB) / -METER_FLOOR_DB
    n = round(max(0.0, min(1.0, frac)) * width)
    return "▮" * n + "▯" * (width - n)


def phase_label(phase: str) -> str:
    return phase.replace("_", " ").replace("-", " ").strip()


class Screen:
    """Everything the round shows. Safe to call `level()` from an audio thread."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(highlight=False)
        self._live: Live | None = None
        self._lock = threading.Lock()
        self._listen_started = 0.0
        self._last_phase = ""
        self._status_shown = ""

    @property
    def interactive(self) -> bool:
        return self.console.is_terminal

    # --- before the round ---------------------------------------------------------------------
    def notice(self, message: str) -> None:
        """A one-line message outside the conversation (no microphone found, model ready...)."""
        self._print(Text(clean(message), style="yellow"))

    def info(self, message: str) -> None:
        self._print(Text(clean(message), style="dim"))

    def briefing(self, b: Briefing) -> None:
        # persona files and history are data: no terminal escapes reach the screen (issue 14)
        b = replace(b, **{f.name: clean(getattr(b, f.name)) for f in fields(b)})
        body = Text()
        body.append("You'll meet ", style="dim")
        body.append(b.partner, style="bold")
        body.append("\nWhere: ", style="dim")
        body.append(b.setting)
        body.append(f"   ({b.difficulty})", style="dim")
        body.append("\nYour goal this round: ", style="dim")
        body.append(b.goal, style="bold green")
        body.append("\nOpener tip: ", style="dim")
        body.append(b.opener_tip)
        if b.why:
            body.append(f"\n{b.why}", style="dim italic")
        if b.how:
            body.append(f"\n{b.how}", style="cyan")
        if self.interactive:
            self._print(Panel(body, title="Briefing", title_align="left", expand=False))
        else:
            self._print("== Briefing ==")
            self._print(body)
            self._print()

    def progress(self, what: str, fraction: float | None = None) -> None:
        """Model loading and similar waits: redrawn in place on a terminal, printed once when
        piped (a log full of percentages helps nobody)."""
        pct = "" if fraction is None else f" {fraction * 100:.0f}%"
        if self.interactive:
            self._show_live(Text(f"… {clean(what)}{pct}", style="dim"))
        elif what != self._status_shown:
            self._status_shown = what
            self._print(Text(f"… {clean(what)}", style="dim"))

    # --- during the round ---------------------------------------------------------------------
    def persona_line(self, name: str, text: str, phase: str = "") -> None:
        line = Text()
        if phase and phase != self._last_phase:
            self._last_phase = phase
            line.append(f"[{clean(phase_label(phase))}] ", style="dim")
        line.append(f"{clean(name)}: ", style="bold magenta")
        line.append(clean(text))
        self._print(line)

    def listening(self, hint: str = "") -> None:
        """The user's turn begins (microphone or files)."""
        self._listen_started = time.monotonic()
        if self.interactive:
            self._show_live(self._listen_text(METER_FLOOR_DB, hint))
        self._hint = hint

    def level(self, dbfs: float, speaking: bool = False, partner_talking: str = "") -> None:
        """Update the input meter (called ~31 times a second while listening).

        `partner_talking`: the persona's name while its line is still playing (the user may
        cut in, but the clock of their turn has not started)."""
        if self.interactive and self._live is not None:
            now = time.monotonic()
            if now - self._last_draw < 0.08:  # the terminal redraws 12 times a second anyway
                return
            self._last_draw = now
            if partner_talking:
                self._listen_started = now
            self._show_live(self._listen_text(dbfs, self._hint, speaking, partner_talking))

    def _listen_text(self, dbfs: float, hint: str, speaking: bool = False,
                     partner_talking: str = "") -> Text:
        t = Text()
        t.append("● ", style="bold red" if speaking else "red")
        if partner_talking and not speaking:
            t.append(f"{clean(partner_talking)} is talking ", style="dim")
        else:
            t.append("listening " if not speaking else "hearing you ", style="bold")
        t.append(meter(dbfs), style="green" if speaking else "dim green")
        if not partner_talking:
            t.append(f" {time.monotonic() - self._listen_started:4.0f}s", style="dim")
        if hint:
            t.append(f"  {clean(hint)}", style="dim")
        return t

    def transcribing(self) -> None:
        if self.interactive:
            self._show_live(Text("… transcribing", style="dim"))

    def user_line(self, text: str, note: str = "") -> None:
        line = Text()
        line.append("You: ", style="bold cyan")
        line.append(clean(text) if text else "(nothing heard)", style="" if text else "dim")
        if note:
            line.append(f"  ({clean(note)})", style="dim")
        self._print(line)

    def nudge(self, text: str) -> None:
        """The round's one optional live tip."""
        self._print(Text(f"  tip: {clean(text)}", style="italic yellow"))

    def round_over(self, reason: str) -> None:
        self._print(Text(f"— {clean(reason)} —", style="dim"))
        self._print()

    # --- after the round ----------------------------------------------------------------------
    def heading(self, title: str) -> None:
        self._print(Text(clean(title), style="bold underline"))

    def recall_result(self, question: str, given: str, correct: bool, answer: str) -> None:
        mark = Text("✓ ", style="green") if correct else Text("✗ ", style="red")
        line = mark + Text(clean(question) + " ")
        line.append(clean(given) or "(no answer)", style="bold" if given else "dim")
        if not correct:
            line.append(f"  (it was: {clean(answer)})", style="dim")
        self._print(line)

    def saved(self, session_id: str, status: str = "completed") -> None:
        label = "Saved" if status == "completed" else f"Saved ({status})"
        self._print(Text.assemble(
            (f"{label} as session {session_id}. ", "bold"),
            ("Review it: ", "dim"),
            (f"trainer review {session_id}", "cyan"),
        ))

    def close(self) -> None:
        self._stop_live()

    def _print(self, *objects) -> None:
        self._stop_live()  # a permanent line replaces the redrawn one
        # Piped output (logs, tests) keeps each line whole instead of wrapping at 80 columns.
        self.console.print(*objects, soft_wrap=not self.interactive)

    # --- the redrawn line ---------------------------------------------------------------------
    def _show_live(self, renderable) -> None:
        with self._lock:
            if self._live is None:
                self._live = Live(renderable, console=self.console, transient=True,
                                  auto_refresh=True, refresh_per_second=12)
                self._live.start()
            else:
                self._live.update(renderable)

    def _stop_live(self) -> None:
        with self._lock:
            if self._live is not None:
                self._live.stop()
                self._live = None

    _hint = ""
    _last_draw = 0.0
