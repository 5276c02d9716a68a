"""The review of a round as ONE self-contained HTML file: no network, inline CSS/JS, audio inside.

Sections: the scorecard, a timeline of who spoke when (inline SVG + talk/listen balance), the
transcript with a player per user turn (WAVs embedded as data: URIs), missed hooks with the
suggested better line, and the recall check. Markup is built here from a `SessionReview`;
report.html / report.css / report.js next to this file hold the page frame, style and script.

Everything from the session is data, perhaps imported from someone else (issue 14): every value
that reaches the page, text or attribute, goes through `escape` (`_a` for attributes), and the
page carries a Content-Security-Policy that allows only its own inline script and style (by
hash), recordings as data: URIs and nothing else, so injected markup cannot run even if an
escape were missed. No inline style attributes, which that policy would block.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from importlib import resources
from pathlib import Path
from string import Template

from trainer import __version__
from trainer.errors import StoreError
from trainer.report.review import AnnotatedTurn, SessionReview, clock, when
from trainer.report.scorecard import headline
from trainer.scoring import TYPICAL_WPM, Metric
from trainer.types import Turn

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
    # the exact text inside <style> and <script>: the policy allows these bytes and no others
    css = "\n" + _asset("report.css") + "\n"
    js = "\n" + _asset("report.js") + "\n"
    return frame.substitute(
        csp=_a(content_security_policy(css, js)),
        title=escape(f"Round with {rec.persona_name} · {when(rec.started_at)}"),
        version=_a(__version__),
        css=css,
        js=js,
        body=body,
    )


def content_security_policy(css: str, js: str) -> str:
    """Only this page's own style and script run; recordings load from data: URIs; no network."""
    return ("default-src 'none'; "
            f"script-src {_sha256(js)}; style-src {_sha256(css)}; "
            "media-src data:; base-uri 'none'; form-action 'none'")


def _sha256(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def _a(value: object) -> str:
    """A value for inside a double-quoted attribute (quotes escaped too)."""
    return escape(str(value), quote=True)


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
        f'<span class="badge {_a(state)}">{escape(state.replace("_", " "))}</span></h1>'
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
            f'<span class="check {_status(m)}" title="{_a(m.anchor)}">'
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
    return (f'<div class="metric {_status(m)}" title="{_a(m.anchor)}">'
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
    spans, estimated = spoken_spans(review)
    turns = [t for t, _, _ in spans]
    end = max(max((a + d for _, a, d in spans), default=0.0),
              0.0 if estimated else review.duration_s, 1.0)
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
    for turn, start_s, dur_s in spans:
        x = left + start_s * scale
        w = max(2.0, dur_s * scale)
        lane = "user" if turn.speaker == "user" else "persona"
        cls = "you" if lane == "user" else "them"
        tip = escape(f"{clock(start_s)} {turn.text[:90]}")
        rect = (f'<rect class="{cls}" x="{x:.1f}" y="{lane_y[lane]}" width="{w:.1f}" '
                f'height="{lane_h}" rx="4"><title>{tip}</title></rect>')
        out.append(f'<a href="#{_a(_turn_id(turn))}" data-turn="{_a(turn.index)}">{rect}</a>')
    start_of = {id(t): a for t, a, _ in spans}
    by_index = {str(t.index): t for t in turns}
    for h in review.hooks:
        if h.dropped_at_s is None:
            continue
        dropped = by_index.get(str(h.dropped_turn))
        at = start_of[id(dropped)] if dropped is not None else h.dropped_at_s
        x = left + at * scale
        cls = "hookmark taken" if h.taken_up else "hookmark"
        state = "taken up" if h.taken_up else "missed"
        out.append(f'<circle class="{cls}" cx="{x + 5:.1f}" cy="{lane_y["persona"] - 5}" r="4">'
                   f"<title>{escape(f'hook: {h.label} ({state})')}</title></circle>")
    out.append("</svg>")
    share = _talk_share(review, spans)
    note = " (estimated)" if estimated else ""
    # the bar is SVG geometry, not inline style: the page's CSP allows no style attributes
    bar_w = 1000
    balance = (
        '<div class="balance">'
        f'<span>You {share:.0%}{note}</span>'
        f'<svg class="bar" viewBox="0 0 {bar_w} 18" preserveAspectRatio="none" role="img" '
        f'aria-label="share of speaking time{note}"><title>share of speaking time{note}</title>'
        '<clipPath id="balance-clip"><rect y="3" width="1000" height="12" rx="10" ry="6"/>'
        '</clipPath><g clip-path="url(#balance-clip)">'
        f'<rect class="you" x="0" y="3" width="{share * bar_w:.1f}" height="12"/>'
        f'<rect class="them" x="{share * bar_w:.1f}" y="3" width="{(1 - share) * bar_w:.1f}" '
        'height="12"/></g>'
        f'<rect class="target" x="{TALK_SHARE_TARGET * bar_w - 1:.1f}" y="0" width="2" '
        f'height="18"><title>target: you at most {TALK_SHARE_TARGET:.0%}</title></rect></svg>'
        f"<span>{escape(review.partner)} {1 - share:.0%}</span></div>"
        '<div class="legend"><span><i class="you"></i>you speaking</span>'
        f'<span><i class="them"></i>{escape(review.partner)} speaking</span>'
        '<span><i class="taken"></i>hook taken up</span>'
        '<span><i class="missed"></i>hook missed</span>'
        '<span><i class="target"></i>'
        f"your target: at most {TALK_SHARE_TARGET:.0%} of the talking</span></div>"
    )
    if estimated:
        balance += ('<p class="muted estimated">Estimated: typed replies (and transcripts '
                    f"without times) have no timings, so each turn is drawn at {TYPICAL_WPM:.0f}"
                    " words per minute, as the scorecard counts it.</p>")
    return ('<section id="timeline" class="timeline"><h2>Who spoke when</h2><div class="card">'
            '<div class="tl-scroll">' + "".join(out) + "</div>" + balance + "</div></section>")


def spoken_spans(review: SessionReview) -> tuple[list[tuple[Turn, float, float]], bool]:
    """(turn, start_s, duration_s) per turn for the timeline, and whether they are estimated.

    A typed round has no speaking times (a typed reply takes no time on the clock), so the
    scorecard estimates them from word counts (issue 14: the timeline said "You 0%" next to a
    scorecard's 38%). Then the timeline uses the same estimate, turns laid end to end.
    """
    turns = [at.turn for at in review.turns]
    card = review.scorecard
    if card is not None:
        estimated = card.timing_estimated
    else:  # the scorecard's own rule: every spoken turn has a time span
        spoken = [t for t in turns if t.text.strip()]
        estimated = bool(spoken) and not all(t.end_s > t.start_s for t in spoken)
    if not estimated:
        return [(t, t.start_s, t.duration_s) for t in turns], False
    spans, at = [], 0.0
    for t in turns:
        dur = len(t.text.split()) / TYPICAL_WPM * 60.0
        spans.append((t, at, dur))
        at += dur
    return spans, True


def _talk_share(review: SessionReview, spans: list[tuple[Turn, float, float]]) -> float:
    """The user's share of speaking time: the scorecard's figure when there is one."""
    card = review.scorecard
    metric = card.metric("talk_share") if card is not None else None
    if metric is not None and isinstance(metric.value, (int, float)) \
            and not isinstance(metric.value, bool):
        return min(1.0, max(0.0, float(metric.value) / 100.0))
    you = sum(d for t, _, d in spans if t.speaker == "user")
    them = sum(d for t, _, d in spans if t.speaker != "user")
    return you / (you + them) if you + them > 0 else 0.0


def _turn_id(turn: Turn) -> str:
    return f"turn-{turn.index}"


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
            extra += (f'<audio controls preload="metadata" data-turn="{_a(t.index)}" '
                      f'src="{uri}"></audio>')
    inner = f'<div class="who">{escape(who)}</div><p class="text">{text}</p>'
    if chips:
        inner += '<div class="chips">' + "".join(chips) + "</div>"
    if t.speaker == "user":
        inner = f'<div class="bubble">{inner}</div>'
    lane = "user" if t.speaker == "user" else "persona"
    return (f'<div class="turn {lane}" id="{_a(_turn_id(t))}">'
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
    """The recording as a data: URI; None unless the file is a WAV (RIFF....WAVE)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None  # the report embeds recordings, never any other file a path points at
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
