"""History of rounds: one row per round, the trend of the main metrics, a PNG chart.

Rows come from `Store.list_sessions(with_scorecards=True)`: key figures are read from each
stored scorecard dict (no re-analysis, so 1,000 rounds stay fast); a round without a
scorecard (interrupted early) still shows its talk share from the turn timings. The store
leaves out (and names) sessions that fail its schema, so one bad session never takes the
history of the others down.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from trainer.errors import TrainerError, UsageError
from trainer.store import SessionSummary
from trainer.textsafe import clean


@dataclass
class HistoryRow:
    """One round in the history."""

    round: int  # 1 = the first round stored
    id: str
    started_at: str
    persona_id: str
    persona: str
    difficulty: str
    status: str  # completed | interrupted | in_progress
    duration_s: float
    user_turns: int
    talk_share: float | None = None  # percent of speaking time
    questions: int | None = None
    follow_ups: int | None = None
    hook_uptake: float | None = None  # percent of dropped hooks taken up
    hooks_taken: int | None = None
    hooks_dropped: int | None = None
    longest_monologue_s: float | None = None
    filler_rate: float | None = None  # percent of words
    recall: float | None = None  # percent right
    targets_met: int | None = None
    targets_measured: int | None = None
    scored: bool = False  # has a stored scorecard

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TrendSpec:
    key: str
    label: str
    unit: str  # "%" or ""
    higher_is_better: bool
    target: float | None  # drawn on the chart
    steady_within: float  # a change smaller than this is "steady"


TRENDS = (
    TrendSpec("talk_share", "Talk share", "%", False, 45.0, 3.0),
    TrendSpec("questions", "Questions", "", True, None, 0.5),
    TrendSpec("follow_ups", "Follow-up questions", "", True, 2.0, 0.5),
    TrendSpec("hook_uptake", "Hooks taken up", "%", True, 50.0, 5.0),
    TrendSpec("recall", "Recall check", "%", True, 50.0, 5.0),
)


@dataclass
class Trend:
    """How one metric moved: the recent rounds against the ones before."""

    key: str
    label: str
    unit: str
    rounds: int  # rounds with a value
    first: float | None
    last: float | None
    earlier_mean: float | None  # rounds before the recent ones
    recent_mean: float | None  # the last (up to) 3 rounds
    change: float | None  # recent_mean - earlier_mean
    direction: str  # better | worse | steady | too few rounds

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def history_rows(sessions: list[SessionSummary]) -> list[HistoryRow]:
    """One row per listed session (oldest first), key figures from its scorecard dict."""
    rows = []
    for n, s in enumerate(sessions, 1):
        row = HistoryRow(
            round=n, id=s.id, started_at=s.started_at, persona_id=s.persona_id,
            persona=s.persona_name, difficulty=s.difficulty, status=s.state,
            duration_s=round(s.duration_s, 1), user_turns=s.user_turns,
            # a round where the user never spoke has no meaningful talk share
            talk_share=(round(100 * s.talk_share, 1)
                        if s.talk_share is not None and s.user_turns else None),
        )
        card = s.scorecard
        if isinstance(card, dict):
            try:
                _fill_from_card(row, card)
            except (TypeError, ValueError, OverflowError, AttributeError):
                # The store checks scorecards against its schema, so this is a last guard:
                # one odd card costs its own figures, never the history of every round.
                row = HistoryRow(**{**asdict(row), **_CARD_FIELDS_UNSET})
        rows.append(row)
    return rows


# the figures a scorecard fills in, back to "not measured"
_CARD_FIELDS_UNSET = {"questions": None, "follow_ups": None, "hook_uptake": None,
                      "hooks_taken": None, "hooks_dropped": None, "longest_monologue_s": None,
                      "filler_rate": None, "recall": None, "targets_met": None,
                      "targets_measured": None, "scored": False}


def _fill_from_card(row: HistoryRow, card: dict[str, Any]) -> None:
    metrics = {m.get("key"): m for m in card.get("metrics") or [] if isinstance(m, dict)}

    def value(key: str) -> Any:
        m = metrics.get(key)
        return None if m is None else m.get("value")

    row.scored = True
    if value("talk_share") is not None:
        row.talk_share = float(value("talk_share"))
    row.questions = _int(value("questions_total"))
    row.follow_ups = _int(value("follow_ups"))
    row.hook_uptake = _float(value("hook_uptake"))
    hooks = [h for h in card.get("hooks") or [] if isinstance(h, dict)]
    if hooks:
        row.hooks_dropped = len(hooks)
        row.hooks_taken = sum(1 for h in hooks if h.get("taken_up"))
    row.longest_monologue_s = _float(value("longest_monologue"))
    row.filler_rate = _float(value("filler_rate"))
    row.recall = _float(value("recall"))
    passed = [m.get("passed") for m in metrics.values()]
    row.targets_measured = sum(1 for p in passed if p is not None)
    row.targets_met = sum(1 for p in passed if p is True)


def _int(v: Any) -> int | None:
    return None if v is None or isinstance(v, bool) else int(v)


def _float(v: Any) -> float | None:
    return None if v is None or isinstance(v, bool) else float(v)


def trends(rows: list[HistoryRow], recent: int = 3) -> list[Trend]:
    """The main metrics' movement: mean of the last `recent` rounds vs the rounds before."""
    out = []
    for spec in TRENDS:
        values = [getattr(r, spec.key) for r in rows if getattr(r, spec.key) is not None]
        values = [float(v) for v in values]
        if len(values) < 2:
            out.append(Trend(spec.key, spec.label, spec.unit, len(values),
                             values[0] if values else None, values[-1] if values else None,
                             None, None, None, "too few rounds"))
            continue
        k = min(recent, len(values) // 2)
        later, before = values[-k:], values[:-k]
        recent_mean, earlier_mean = statistics.fmean(later), statistics.fmean(before)
        change = recent_mean - earlier_mean
        if abs(change) < spec.steady_within:
            direction = "steady"
        else:
            direction = "better" if (change > 0) == spec.higher_is_better else "worse"
        out.append(Trend(spec.key, spec.label, spec.unit, len(values), values[0], values[-1],
                         round(earlier_mean, 2), round(recent_mean, 2), round(change, 2),
                         direction))
    return out


# --- terminal -----------------------------------------------------------------------------------
def _fmt(v: float | int | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "%":
        return f"{v:.0f}%"
    if isinstance(v, float):
        return f"{v:.1f}".rstrip("0").rstrip(".")
    return str(v)


def print_history(rows: list[HistoryRow], console: Console | None = None) -> None:
    """The table of rounds and the trend lines."""
    console = console or Console()
    if not rows:
        console.print("No rounds yet: run `trainer practice` to have your first conversation.")
        return
    # Plain fixed-width columns in one Text: rich's Table took ~1 s for 1,000 rounds.
    # Narrow headers so the table fits 80 columns.
    cols = (("#", ">"), ("date", "<"), ("persona", "<"), ("level", "<"), ("status", "<"),
            ("talk", ">"), ("Qs", ">"), ("f-ups", ">"), ("hooks", ">"), ("recall", ">"),
            ("met", ">"))
    cells = []
    for r in rows:
        hooks = (f"{r.hooks_taken}/{r.hooks_dropped}" if r.hooks_dropped
                 else _fmt(r.hook_uptake, "%"))
        targets = f"{r.targets_met}/{r.targets_measured}" if r.targets_measured else "-"
        # stored (maybe imported) names are data: no terminal escapes (issue 14)
        cells.append(tuple(clean(c) for c in (
            str(r.round), r.started_at[:10], r.persona, r.difficulty, r.status,
            _fmt(r.talk_share, "%"), _fmt(r.questions), _fmt(r.follow_ups), hooks,
            _fmt(r.recall, "%"), targets)))
    widths = [max(len(name), *(len(c[i]) for c in cells)) for i, (name, _) in enumerate(cols)]
    out = Text(" ".join(f"{name:{al}{w}}" for (name, al), w in zip(cols, widths, strict=True)),
               style="bold")
    for row in cells:
        out.append("\n")
        for i, ((_, al), w, cell) in enumerate(zip(cols, widths, row, strict=True)):
            style = ({"completed": "green", "interrupted": "yellow"}.get(cell, "cyan")
                     if i == 4 else "")
            out.append(("" if i == 0 else " ") + f"{cell:{al}{w}}", style=style)
    console.print(out, no_wrap=True, overflow="ignore", crop=False)
    console.print()
    console.print(Text("Trend (last rounds vs the ones before)", style="bold"))
    for t in trends(rows):
        line = Text(f"  {t.label:<20} ")
        if t.direction == "too few rounds":
            line.append("too few rounds yet", style="dim")
        else:
            line.append(f"{_fmt(t.earlier_mean, t.unit)} -> {_fmt(t.recent_mean, t.unit)}  ")
            style = {"better": "green", "worse": "red"}.get(t.direction, "dim")
            line.append(t.direction, style=style)
        console.print(line)


# --- chart --------------------------------------------------------------------------------------
def write_plot(rows: list[HistoryRow], path: Path) -> Path:
    """A PNG (or .svg/.pdf) chart of the main metrics per round, with their targets."""
    if not rows:
        raise TrainerError("no rounds stored yet: nothing to plot",
                           hint="run `trainer practice` first")
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    if fmt not in ("png", "svg", "pdf"):
        raise UsageError(f"cannot write a chart as .{fmt}", hint="use a .png, .svg or .pdf path")
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    you, them, grey = "#2f7d78", "#8a6db1", "#6a717b"
    x = [r.round for r in rows]
    panels = [
        ("Talk share (%)", [("talk_share", "you", you)], 45.0, "target ≤ 45%"),
        ("Questions per round", [("questions", "questions", you),
                                 ("follow_ups", "follow-ups", them)], 2.0, "follow-ups ≥ 2"),
        ("Hooks taken up (%)", [("hook_uptake", "hooks", you)], 50.0, "target ≥ 50%"),
        ("Recall check (%)", [("recall", "right", you)], 50.0, "target ≥ 50%"),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.2), sharex=True)
    fig.patch.set_facecolor("#fbfaf7")
    for ax, (title, series, target, target_label) in zip(axes.flat, panels, strict=True):
        ax.set_facecolor("#ffffff")
        # the target goes in the title: a label on the dashed line would sit on the data
        ax.set_title(title, loc="left", fontsize=11, color="#1f2328")
        ax.set_title(f"- - {target_label}", loc="right", fontsize=9, color=grey)
        for key, label, color in series:
            pts = [(r.round, getattr(r, key), r.status == "completed") for r in rows
                   if getattr(r, key) is not None]
            if not pts:
                continue
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            ax.plot(xs, ys, color=color, linewidth=1.8, label=label, zorder=2)
            done = [(a, b) for a, b, c in pts if c]
            cut = [(a, b) for a, b, c in pts if not c]
            if done:
                ax.scatter(*zip(*done, strict=True), color=color, s=22, zorder=3)
            if cut:  # interrupted rounds: hollow markers
                ax.scatter(*zip(*cut, strict=True), facecolor="white", edgecolor=color, s=26,
                           zorder=3)
        ax.axhline(target, color=grey, linestyle="--", linewidth=1, zorder=1)
        if title.endswith("(%)"):
            ax.set_ylim(-4, 104)  # room for markers at 0 and 100
        else:
            ax.set_ylim(bottom=0)
        if len(series) > 1:
            ax.legend(frameon=False, fontsize=8, loc="upper left")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.grid(axis="y", color="#eeeeee", linewidth=0.8)
        ax.tick_params(labelsize=8, colors="#454a52")
    for ax in axes[1]:
        ax.set_xlabel("round", fontsize=9, color="#454a52")
        step = max(1, len(x) // 12)
        ax.set_xticks(x[::step])
    first, last = rows[0].started_at[:10], rows[-1].started_at[:10]
    span = first if first == last else f"{first} to {last}"
    fig.suptitle(f"Your rounds, {span} ({len(rows)} rounds; hollow marker = interrupted)",
                 x=0.01, ha="left", fontsize=12, color="#1f2328")
    fig.tight_layout()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format=fmt, dpi=120, facecolor=fig.get_facecolor())
    except OSError as exc:
        raise TrainerError(f"could not write the chart {path}: {exc.strerror or exc}",
                           hint="choose a folder you can write to") from None
    finally:
        plt.close(fig)
    return path
