"""The scorecard in the terminal (after a practice round, in `trainer analyze` and in review).

Calm and personal on purpose: a 2022 study found a personalised report after the round helps
and a busy live dashboard does not. So: one sentence about the round, the metrics in one quiet
table, Keep / Start / Stop, and at most three tips that quote the user's own words.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from trainer.scoring import Metric, Scorecard
from trainer.textsafe import clean, markup, term

MAX_TIPS = 3
MAX_LIST = 4


def _fmt_value(m: Metric) -> str:
    if m.value is None:
        return "-"
    if isinstance(m.value, bool):
        return "yes" if m.value else "no"
    if m.unit == "%":
        return f"{m.value:.0f}%"
    if m.unit == "s":
        return f"{m.value:.1f} s"
    if m.unit == "wpm":
        return f"{m.value:.0f} wpm"
    if m.unit == "per min":
        return f"{m.value:.1f}/min"
    return str(m.value)


def _mark(m: Metric) -> Text:
    if m.passed is None:
        return Text("·", style="dim")
    return Text("✓", style="green") if m.passed else Text("○", style="yellow")


def headline(card: Scorecard) -> str:
    """One sentence about the round, in the user's terms."""
    name = card.partner_name or "your partner"
    parts: list[str] = []
    q = card.metric("questions_total")
    if q is not None:
        n = int(q.value or 0)
        f = card.metric("follow_ups")
        fu = int(f.value or 0) if f else 0
        parts.append("asked no questions" if n == 0 else
                     f"asked {n} question{'s' if n != 1 else ''}"
                     + (f" ({fu} follow-up{'s' if fu != 1 else ''})" if fu else ""))
    if card.hooks:
        taken = sum(1 for h in card.hooks if h.taken_up)
        parts.append(f"took up {taken} of {len(card.hooks)} details {name} mentioned")
    share = card.metric("talk_share")
    if share is not None and share.value is not None:
        parts.append(f"talked {share.value:.0f}% of the time")
    if not parts:
        return "Nothing to score yet."
    if len(parts) == 1:
        return f"You {parts[0]}."
    return "You " + ", ".join(parts[:-1]) + " and " + parts[-1] + "."


class _ScorecardView:
    """Lays the scorecard out for the console's width (details only when there is room)."""

    def __init__(self, card: Scorecard, title: str | None):
        self.card = card
        self.title = title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _panel(self.card, self.title, wide=options.max_width >= 110)


def render_scorecard(card: Scorecard, title: str | None = None) -> RenderableType:
    """A rich renderable of the scorecard."""
    return _ScorecardView(card, title)


def _panel(card: Scorecard, title: str | None, wide: bool) -> Panel:
    name = card.partner_name
    minutes = card.duration_s / 60.0
    heading = title or (f"Your round with {name}" if name else "Your round")
    heading = markup(heading)  # a panel title is rich markup; the name is data
    if card.duration_s:
        heading += f" · {minutes:.1f} min" if minutes >= 1 else f" · {card.duration_s:.0f} s"

    # Every string from the card goes through `term`/`clean`: a scorecard may come from an
    # imported session or a transcript, so it is data (no escapes, no rich markup; issue 14).
    parts: list[RenderableType] = [term(headline(card), style="bold"), Text("")]

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    table.add_column("", width=1)
    table.add_column("Listening and asking")
    table.add_column("you", justify="right", no_wrap=True)
    table.add_column("target", justify="right", style="dim", no_wrap=True)
    if wide:
        table.add_column("", style="dim")
    unmeasured = []
    for m in card.metrics:
        if m.passed is None:
            unmeasured.append(m.label.lower())
            continue
        row = [_mark(m), term(m.label), term(_fmt_value(m)), term(m.target)]
        table.add_row(*(row + [term(m.detail)] if wide else row))
    parts.append(table)
    if unmeasured:
        parts.append(term("Not measured this round: " + ", ".join(unmeasured) + ".",
                          style="dim"))

    for label, items, style in (("Keep", card.keep, "green"), ("Start", card.start, "cyan"),
                                ("Stop", card.stop, "yellow")):
        if not items:
            continue
        parts.append(Text(""))
        parts.append(Text(label, style=f"bold {style}"))
        for item in items[:MAX_LIST]:
            parts.append(Text(f"  • {clean(item)}"))
        if len(items) > MAX_LIST:
            parts.append(Text(f"  • ... and {len(items) - MAX_LIST} more", style="dim"))

    if card.tips:
        parts.append(Text(""))
        parts.append(Text("Try next time", style="bold"))
        tips = Table.grid(padding=(0, 1))
        tips.add_column(justify="right", width=4)
        tips.add_column(ratio=1)
        for i, tip in enumerate(card.tips[:MAX_TIPS], 1):
            # A grid keeps wrapped lines under the tip's own column (hanging indent).
            line = term(tip.message)
            if tip.quote:
                line.append("\nYou said: ", style="dim")
                line.append(f"'{clean(tip.quote)}'", style="italic")
            if tip.suggestion:
                line.append("\nTry: ", style="dim")
                line.append(f"'{clean(tip.suggestion)}'", style="bold")
            tips.add_row(f"{i}.", line)
        parts.append(tips)

    if card.recall:
        parts.append(Text(""))
        parts.append(Text("Recall check", style="bold"))
        for r in card.recall:
            mark = "✓" if r.correct else "○"
            expect = "" if r.correct else f" (it was: {', '.join(r.expected[:1])})"
            parts.append(term(f"  {mark} {r.question} - you said '{r.given}'{expect}"))

    for note in card.notes:
        parts.append(term(note, style="dim"))
    return Panel(Group(*parts), title=heading, title_align="left", box=box.ROUNDED,
                 padding=(1, 2))


def render_lines(card: Scorecard) -> RenderableType:
    """The user's lines with what each did (question kind, follow-up, fillers...)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("you said")
    table.add_column("what it did", style="cyan")
    for ln in card.lines:  # Text cells: the user's words are not rich markup
        table.add_row(str(ln.index), term(ln.text), term(describe_labels(ln.labels)))
    return table


def describe_labels(labels: dict) -> str:
    """A short human description of one line's labels ("open follow-up question (hook)")."""
    bits: list[str] = []
    if labels.get("is_question"):
        openness = "open" if labels.get("is_open") else "closed"
        kind = (labels.get("question_kind") or "question").replace("_", "-")
        text = f"{openness} {kind} question"
        fu = labels.get("follow_up") or ""
        if fu.startswith("hook:"):
            text += f" (takes up {fu[5:]})"
        bits.append(text)
    for key, text in (("is_opener", "introduction"), ("is_offer", "offer to help"),
                      ("is_ask", "asks to follow up"), ("is_backchannel", "back-channel"),
                      ("is_goodbye", "goodbye"), ("uses_name", "uses their name")):
        if labels.get(key):
            bits.append(text)
    if labels.get("fillers"):
        bits.append("fillers: " + ", ".join(labels["fillers"]))
    return "; ".join(bits) or "statement"


def print_scorecard(card: Scorecard, console: Console | None = None,
                    title: str | None = None) -> None:
    """Print the scorecard to `console` (default: stdout)."""
    (console or Console()).print(render_scorecard(card, title=title))
