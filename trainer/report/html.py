"""The review of a round as ONE self-contained HTML file: no network, inline CSS/JS, audio inside.

Sections: the scorecard, a timeline of who spoke when (inline SVG + talk/listen balance), the
transcript with a player per user turn (WAVs embedded as data: URIs), missed hooks with the
suggested better line, and the recall check. Markup is built here from a `SessionReview`;
report.html / report.css / report.js next to this file hold the page frame, style and script.
"""

from __future__ import annotations

import base64
from html import escape
from importlib import resources
from pathlib import Path
from string import Template

from trainer import __version__
from trainer.errors import StoreError
from trainer.report.review import AnnotatedTurn, SessionReview, clock, when
from trainer.report.scorecard import headline
from trainer.scoring import Metric

TALK_SHARE_TARGET = 0.45  # ARCHITECTURE.md anchors: top performers talk ~43%, target <= 45%


def render_html(review: SessionReview) -> str:
    """The whole page as a string."""
    rec = review.record
    body = "\n".join([
        _header(review),
        _scorecard(review),
        _timeline(review),
        _transcript(review),
        _hooks(review),
        _recall(review),
        f'<footer>Session {escape(rec.id)} · networking-trainer {escape(__version__)} · '
        "this file works offline; the recordings are inside it.</footer>",
    ])
    frame = Template(_asset("report.html"))
    return frame.substitute(
        title=escape(f"Round with {rec.persona_name} · {when(rec.started_at)}"),
        version=escape(__version__),
        css=_asset("report.css"),
        js=_asset("report.js"),
        body=body,
    )


def write_html(review: SessionReview, path: Path) -> Path:
    """Write the page to `path` (folders created); returns the path."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(review), encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"could not write the HTML report {path}: {exc.strerror or exc}",
                         hint="choose a folder you can write to") from None
    return path


def _asset(name: str) -> str:
    return resources.files("trainer.report").joinpath(name).read_text(encoding="utf-8")


# --- sections -----------------------------------------------------------------------------------
def _header(review: SessionReview) -> str:
    rec = review.record
    state = rec.state
    notes = "".join(f"<p>{escape(n)}</p>" for n in review.notes)
    users = [t for t in review.turns if t.turn.speaker == "user"]
    return (
        "<header>"
        f"<h1>Round with {escape(rec.persona_name)}"
        f'<span class="badge {escape(state)}">{escape(state.replace("_", " "))}</span></h1>'
        f'<p class="sub">{escape(rec.setting)} · {escape(rec.difficulty)} · '
        f"{escape(when(rec.started_at))} · {clock(review.duration_s)} · "
        f"{len(users)} of your turns</p>"
        + (f'<div class="notes">{notes}</div>' if notes else "")
        + "</header>"
    )


def _scorecard(review: SessionReview) -> str:
    card = review.scorecard
    if card is None:
        return ('<section id="scorecard"><h2>Scorecard</h2>'
                '<p class="muted">No scorecard: you did not speak in this round.</p></section>')
    parts = ['<section id="scorecard"><h2>Scorecard</h2>',
             f'<p class="headline">{escape(headline(card))} {card.passed_count} of '
             f"{card.measured_count} targets met{escape(_headline_extra(card))}.</p>"]
    main = [m for k in MAIN_METRICS for m in card.metrics if m.key == k]
    checks = [m for m in card.metrics if isinstance(m.value, bool) or m.unit == "" and
              m.target == "yes"]
    rest = [m for m in card.metrics if m not in main and m not in checks]
    parts.append('<div class="metrics main">' + "".join(_tile(m) for m in main) + "</div>")
    if checks:
        parts.append('<div class="checks">' + "".join(
            f'<span class="check {_status(m)}" title="{escape(m.anchor)}">'
            f'{_CHECK_MARK[m.passed]} {escape(m.label)}</span>' for m in checks) + "</div>")
    if rest:
        parts.append('<div class="metrics more">' + "".join(_tile(m) for m in rest) + "</div>")
    if card.keep or card.start or card.stop:
        parts.append('<div class="verdict">')
        for cls, title, items in (("keep", "Keep", card.keep), ("start", "Start", card.start),
                                  ("stop", "Stop", card.stop)):
            lis = "".join(f"<li>{escape(i)}</li>" for i in items) or '<li class="muted">-</li>'
            parts.append(f'<div class="{cls}"><h3>{title}</h3><ul>{lis}</ul></div>')
        parts.append("</div>")
    if card.tips:
        parts.append('<ul class="tips">')
        for t in card.tips:
            body = escape(t.message)
            if t.quote:
                body += f' You said: <q>{escape(t.quote)}</q>'
            if t.suggestion:
                body += f' Try: <q class="suggest">{escape(t.suggestion)}</q>'
            parts.append(f"<li>{body}</li>")
        parts.append("</ul>")
    notes = list(card.notes)
    if review.rescored:
        notes.append("Scored when this report was made, from the stored turns.")
    parts.extend(f'<p class="rescored">{escape(n)}</p>' for n in notes)
    parts.append("</section>")
    return "".join(parts)


MAIN_METRICS = ("talk_share", "questions_total", "follow_ups", "hook_uptake",
                "longest_monologue", "recall")
_CHECK_MARK = {True: "\u2713", False: "\u2717", None: "\u2013"}


def _status(m: Metric) -> str:
    return {True: "ok", False: "miss", None: "na"}[m.passed]


def _tile(m: Metric) -> str:
    detail = f" · {m.detail}" if m.detail else ""
    return (f'<div class="metric {_status(m)}" title="{escape(m.anchor)}">'
            f'<div class="label">{escape(m.label)}</div>'
            f'<div class="value">{escape(metric_value(m))}</div>'
            f'<div class="target">target {escape(_pretty(m.target))}{escape(detail)}</div></div>')


def _pretty(target: str) -> str:
    return target.replace("<=", "\u2264").replace(">=", "\u2265")


def _headline_extra(card) -> str:
    missed = [m.label[:1].lower() + m.label[1:] for m in card.metrics if m.passed is False][:3]
    return f"; work on: {', '.join(missed)}" if missed else ""


def metric_value(m: Metric) -> str:
    """A metric's value with its unit, e.g. '48%', '0.9 per min', 'yes', '-' (not measured)."""
    v = m.value
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if m.unit == "%":
        return f"{v:.0f}%"
    if m.unit == "s":
        return f"{v:.1f} s" if v < 10 else f"{v:.0f} s"
    if isinstance(v, float):
        text = f"{v:.2f}".rstrip("0").rstrip(".") if v < 10 else f"{v:.0f}"
    else:
        text = str(v)
    return f"{text} {m.unit}".strip()


def _timeline(review: SessionReview) -> str:
    """Who spoke when: two lanes of bars on the round's clock, hooks marked on the partner's."""
    turns = [t.turn for t in review.turns]
    end = max(review.duration_s, 1.0)
    width, left, right = 820, 64, 12
    lane_y = {"persona": 22, "user": 62}
    lane_h = 26
    scale = (width - left - right) / end
    step = _tick_step(end)
    out = [f'<svg viewBox="0 0 {width} 116" role="img" aria-label="Who spoke when">']
    t = 0.0
    while t <= end + 1e-6:
        x = left + t * scale
        out.append(f'<line class="grid" x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="94"/>'
                   f'<text class="tick" x="{x:.1f}" y="110" text-anchor="middle">{clock(t)}'
                   "</text>")
        t += step
    out.append(f'<text class="lane-label" x="0" y="{lane_y["persona"] + 17}">'
               f"{escape(review.partner)}</text>"
               f'<text class="lane-label" x="0" y="{lane_y["user"] + 17}">You</text>')
    for turn in turns:
        x = left + turn.start_s * scale
        w = max(2.0, turn.duration_s * scale)
        cls = "you" if turn.speaker == "user" else "them"
        tip = escape(f"{clock(turn.start_s)} {turn.text[:90]}")
        rect = (f'<rect class="{cls}" x="{x:.1f}" y="{lane_y[turn.speaker]}" width="{w:.1f}" '
                f'height="{lane_h}" rx="4"><title>{tip}</title></rect>')
        out.append(f'<a href="#turn-{turn.index}" data-turn="{turn.index}">{rect}</a>')
    for h in review.hooks:
        if h.dropped_at_s is None:
            continue
        x = left + h.dropped_at_s * scale
        cls = "hookmark taken" if h.taken_up else "hookmark"
        state = "taken up" if h.taken_up else "missed"
        out.append(f'<circle class="{cls}" cx="{x + 5:.1f}" cy="{lane_y["persona"] - 5}" r="4">'
                   f"<title>{escape(f'hook: {h.label} ({state})')}</title></circle>")
    out.append("</svg>")
    you = sum(t.duration_s for t in turns if t.speaker == "user")
    them = sum(t.duration_s for t in turns if t.speaker == "persona")
    share = you / (you + them) if you + them > 0 else 0.0
    balance = (
        '<div class="balance">'
        f'<span>You {share:.0%}</span><div class="bar" title="share of speaking time">'
        f'<div class="you" style="width:{share * 100:.1f}%"></div>'
        f'<div class="them" style="width:{(1 - share) * 100:.1f}%"></div>'
        f'<div class="target" style="left:{TALK_SHARE_TARGET * 100:.0f}%" '
        f'title="target: you at most {TALK_SHARE_TARGET:.0%}"></div></div>'
        f"<span>{escape(review.partner)} {1 - share:.0%}</span></div>"
        '<div class="legend"><span><i style="background:var(--you)"></i>you speaking</span>'
        f'<span><i style="background:var(--them)"></i>{escape(review.partner)} speaking</span>'
        '<span><i style="background:var(--good);border-radius:50%"></i>hook taken up</span>'
        '<span><i style="background:var(--warn);border-radius:50%"></i>hook missed</span>'
        '<span><i style="background:var(--ink);width:2px;opacity:.55"></i>'
        f"your target: at most {TALK_SHARE_TARGET:.0%} of the talking</span></div>"
    )
    return ('<section id="timeline" class="timeline"><h2>Who spoke when</h2><div class="card">'
            '<div class="tl-scroll">' + "".join(out) + "</div>" + balance + "</div></section>")


def _tick_step(end_s: float) -> float:
    for step in (10, 15, 30, 60, 120, 300, 600):
        if end_s / step <= 10:
            return float(step)
    return 1200.0


def _transcript(review: SessionReview) -> str:
    rows = [_turn_row(review, at) for at in review.turns]
    if not rows:
        rows = ['<p class="muted">No turns were stored for this round.</p>']
    return ('<section id="transcript"><h2>Transcript</h2><div class="card">' + "".join(rows)
            + "</div></section>")


def _turn_row(review: SessionReview, at: AnnotatedTurn) -> str:
    t = at.turn
    who = "You" if t.speaker == "user" else review.partner
    text = "".join(f'<mark class="filler">{escape(p)}</mark>' if f else escape(p)
                   for p, f in at.segments)
    chips = [f'<span class="chip {_chip_class(tag)}">{escape(tag)}</span>' for tag in at.tags]
    for h in at.hooks:
        state = "taken" if h.taken_up else "missed"
        chips.append(f'<span class="chip hook {state}" title="hook {state}">'
                     f"hook: {escape(h.label)}</span>")
    extra = ""
    missed = [h for h in at.hooks if not h.taken_up and h.suggestion]
    for h in missed:
        extra += (f'<div class="missed-callout"><b>Missed hook:</b> {escape(h.label)}. '
                  f'Try: <span class="suggest">\u201c{escape(h.suggestion)}\u201d</span></div>')
    if t.speaker == "user" and t.audio_path:
        uri = _wav_data_uri(Path(t.audio_path))
        if uri:
            extra += (f'<audio controls preload="metadata" data-turn="{t.index}" src="{uri}">'
                      "</audio>")
    inner = f'<div class="who">{escape(who)}</div><p class="text">{text}</p>'
    if chips:
        inner += '<div class="chips">' + "".join(chips) + "</div>"
    if t.speaker == "user":
        inner = f'<div class="bubble">{inner}</div>'
    return (f'<div class="turn {t.speaker}" id="turn-{t.index}">'
            f'<div class="time">{clock(t.start_s)}</div><div>{inner}{extra}</div></div>')


def _chip_class(tag: str) -> str:
    if tag.startswith("follow-up"):
        return "fu"
    if "question" in tag or tag == "topic switch":
        return "q"
    if tag == "offer to help":
        return "offer"
    if tag == "ask to follow up":
        return "ask"
    if "filler" in tag:
        return "fill"
    return ""


def _wav_data_uri(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return "data:audio/wav;base64," + base64.b64encode(data).decode("ascii")


def _hooks(review: SessionReview) -> str:
    if not review.hooks:
        return ""
    rows = []
    for h in review.hooks:
        if h.taken_up:
            state = f'<span class="yes">taken up</span> at {clock(h.taken_up_at_s)}'
            better = '<span class="muted">-</span>'
        else:
            state = '<span class="no">missed</span>'
            better = (f'<span class="suggest">\u201c{escape(h.suggestion)}\u201d</span>'
                      if h.suggestion else '<span class="muted">-</span>')
        rows.append(f"<tr><td>{escape(h.label)}</td><td>{clock(h.dropped_at_s)}</td>"
                    f"<td>{state}</td><td>{better}</td></tr>")
    taken = sum(h.taken_up for h in review.hooks)
    return (f'<section id="hooks"><h2>Hooks {escape(review.partner)} dropped · {taken} of '
            f'{len(review.hooks)} taken up</h2><div class="card"><table><thead><tr><th>hook</th>'
            "<th>dropped</th><th>you</th><th>a better line</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div></section>")


def _recall(review: SessionReview) -> str:
    if not review.recall:
        return ('<section id="recall"><h2>Recall check</h2><p class="muted">No recall check in '
                "this round.</p></section>")
    rows = []
    for r in review.recall:
        mark = '<span class="yes">right</span>' if r.correct else '<span class="no">wrong</span>'
        expected = escape(", ".join(r.expected)) if r.expected else "-"
        rows.append(f"<tr><td>{escape(r.question)}</td><td>{escape(r.given or '(no answer)')}"
                    f"</td><td>{mark}</td><td>{expected}</td></tr>")
    right = sum(1 for r in review.recall if r.correct)
    return (f'<section id="recall"><h2>Recall check · {right} of {len(review.recall)} right</h2>'
            '<div class="card"><table><thead><tr><th>question</th><th>your answer</th><th></th>'
            "<th>accepted</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table></div></section>")
