"""Read a conversation the user brings, for `trainer analyze`.

Formats:
- "Name: words" lines, optionally with [mm:ss] / [hh:mm:ss] stamps ("[01:02] Dana: hi",
  "Dana [01:02]: hi", "Dana (1:02): hi"); a line without a speaker continues the previous one.
  Also the "Name  0:02" header-then-text layout some note takers export.
- WebVTT as meeting tools export it: cue times, speaker from `<v Name>` or "Name:".
- A session export (`trainer review --json`): {"format": "networking-trainer-session", ...}.

Pure parsing: text in, `ParsedTranscript` out; `TranscriptError` names the file and the line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trainer.analysis import HookCue
from trainer.errors import TranscriptError, UsageError
from trainer.types import Turn, turn_from_dict

SESSION_FORMAT = "networking-trainer-session"
# Speaker names that say "this is the user" without --me.
SELF_NAMES = frozenset({"me", "you", "user", "myself", "i"})
MAX_SPEAKER_CHARS = 40
# Bounds against hostile or mistaken input (issue 14): a day-long meeting transcript is a few
# MB; /dev/zero or a video passed by mistake must be refused at once, not read until memory
# runs out.
MAX_TRANSCRIPT_BYTES = 32 * 1024 * 1024
# Per-utterance analysis compares each question with the words around it, so an absurdly long
# turn (a whole book on one line: 400 KB took 88 s) is scored in chunks of consecutive turns
# of the same speaker. 1,500 words is ten minutes of talk; no real turn comes near it.
MAX_TURN_WORDS = 1500
CHUNK_WORDS = 250


@dataclass
class TranscriptLine:
    """One utterance: who, what, and when (seconds from the start; None when unknown)."""

    speaker: str
    text: str
    start_s: float | None = None
    end_s: float | None = None


@dataclass
class ParsedTranscript:
    """A transcript as read from a file, before deciding which speaker is the user."""

    kind: str  # "lines" | "webvtt" | "session"
    lines: list[TranscriptLine]
    source: str = ""
    user: str | None = None  # known from the file (session exports, "Me:" lines)
    partner_name: str | None = None
    hooks: tuple[HookCue, ...] = ()
    turns: list[Turn] | None = None  # session exports keep their turns as stored
    scorecard: dict[str, Any] | None = None  # session exports may carry one
    recall: list[dict[str, Any]] = field(default_factory=list)  # ... and recall answers
    session: dict[str, Any] = field(default_factory=dict)

    @property
    def speakers(self) -> list[str]:
        """Speaker names in order of first appearance."""
        # a dict, not a list: 100k speakers took minutes with `in` on a list (issue 14)
        return list(dict.fromkeys(ln.speaker for ln in self.lines))

    @property
    def has_times(self) -> bool:
        return bool(self.lines) and all(ln.start_s is not None for ln in self.lines)


# --- entry points -------------------------------------------------------------------------------


def load_transcript(path: str | Path) -> ParsedTranscript:
    """Read and parse a transcript file (format detected from the content)."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            raw = f.read(MAX_TRANSCRIPT_BYTES + 1)  # bounded: /dev/zero never ends
    except FileNotFoundError:
        raise TranscriptError(f"{p}: no such file", hint="check the path") from None
    except IsADirectoryError:
        raise TranscriptError(f"{p}: a folder, not a transcript file",
                              hint="pass the transcript file itself") from None
    except OSError as exc:
        raise TranscriptError(f"{p}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_TRANSCRIPT_BYTES:
        raise TranscriptError(f"{p}: larger than {MAX_TRANSCRIPT_BYTES // 2**20} MB, too big "
                              "for a conversation transcript",
                              hint="pass the transcript of one conversation")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise TranscriptError(f"{p}: not a text file (not UTF-8)",
                              hint="export the transcript as .txt, .vtt or .json") from None
    return parse_transcript(text, source=str(p))


def parse_transcript(text: str, source: str = "<text>") -> ParsedTranscript:
    """Parse transcript text in any supported format."""
    stripped = text.lstrip()
    if not stripped:
        raise TranscriptError(f"{source}: the file is empty",
                              hint='expected "Name: words" lines, WebVTT or a session export')
    if stripped.startswith("{"):
        return parse_session_export(text, source)
    if stripped.startswith("WEBVTT"):
        return parse_webvtt(text, source)
    return parse_lines(text, source)


# --- "Name: words" lines ------------------------------------------------------------------------

_STAMP = r"[\[(]?(?P<{n}>\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:[.,]\d+)?)[\])]?"
_LINE_RES = [
    # [01:02] Dana: hi
    re.compile(r"^\s*" + _STAMP.format(n="t") + r"\s*[-\u2013]?\s*(?P<name>[^:\[\]()]{1,40}?)"
               r"\s*:\s+(?P<text>.*)$"),
    # Dana [01:02]: hi   /   Dana (1:02): hi
    re.compile(r"^\s*(?P<name>[^:\[\]()]{1,40}?)\s*" + _STAMP.format(n="t")
               + r"\s*:\s*(?P<text>.*)$"),
    # Dana: [01:02] hi   /   Dana: hi
    re.compile(r"^\s*(?P<name>[^:\[\]()\d][^:\[\]()]{0,39}?)\s*:\s+(?:"
               + _STAMP.format(n="t") + r"\s+)?(?P<text>.*)$"),
]
# "Dana  0:02" alone on a line, the words on the following lines (Otter-style exports).
_HEADER_RE = re.compile(r"^\s*(?P<name>[A-Za-z][\w .'-]{0,39}?)\s{2,}(?P<t>\d{1,2}:\d{2}"
                        r"(?::\d{2})?)\s*$")


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


def _clean_name(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip().strip("*_").strip())


def _looks_like_name(name: str) -> bool:
    # A speaker label is short and has no sentence punctuation ("Note: the...", "So: ..." aside).
    words = name.split()
    return 0 < len(words) <= 4 and len(name) <= MAX_SPEAKER_CHARS and not re.search(
        r"[?!,;\"]|https?$", name)


def parse_lines(text: str, source: str = "<text>") -> ParsedTranscript:
    """Parse "Name: words" lines (with optional stamps) or "Name  0:02" header blocks."""
    lines: list[TranscriptLine] = []
    more: dict[int, list[str]] = {}  # id(line) -> its text pieces, joined once at the end
    pending_header: TranscriptLine | None = None
    unattributed = 0
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        header = _HEADER_RE.match(line)
        if header:
            pending_header = TranscriptLine(_clean_name(header["name"]), "",
                                            _seconds(header["t"]))
            lines.append(pending_header)
            continue
        match = None
        for rx in _LINE_RES:
            m = rx.match(line)
            if m and _looks_like_name(_clean_name(m["name"])):
                match = m
                break
        if match:
            pending_header = None
            t = match.groupdict().get("t")
            lines.append(TranscriptLine(_clean_name(match["name"]), match["text"].strip(),
                                        _seconds(t) if t else None))
        elif lines:
            # A continuation of the previous utterance (wrapped line or header block text).
            more.setdefault(id(lines[-1]), [lines[-1].text]).append(line)
        else:
            unattributed += 1
            if unattributed >= 1:
                raise TranscriptError(
                    f"{source}:{lineno}: no speaker on this line: '{line[:60]}'",
                    hint='expected "Name: words" lines (optionally "[mm:ss] Name: words"), '
                         "WebVTT, or a session export")
    for ln in lines:
        if id(ln) in more:
            ln.text = " ".join(more[id(ln)]).strip()
    lines = [ln for ln in lines if ln.text.strip()]
    if not lines:
        raise TranscriptError(f"{source}: no utterances found",
                              hint='expected "Name: words" lines, WebVTT or a session export')
    _fill_ends(lines)
    return _finish(ParsedTranscript(kind="lines", lines=_merge(lines), source=source))


def _fill_ends(lines: list[TranscriptLine]) -> None:
    """Stamps give start times only: a line ends where the next one starts."""
    nxt: float | None = None  # the next stamped start, walking backwards (one pass)
    for ln in reversed(lines):
        if ln.start_s is None:
            continue
        if ln.end_s is None:
            if nxt is not None and nxt > ln.start_s:
                ln.end_s = nxt
            else:
                # The last line (or a stamp that goes backwards): a typical pace from its words.
                ln.end_s = ln.start_s + max(1.0, len(ln.text.split()) / 150.0 * 60.0)
        nxt = ln.start_s


# --- WebVTT -------------------------------------------------------------------------------------

_VTT_TIME = re.compile(
    r"^\s*(?P<a>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s+-->\s+(?P<b>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)
_VOICE = re.compile(r"<v(?:\.[\w.-]+)*\s+(?P<name>[^>]+)>(?P<text>.*?)(?:</v>|$)", re.S)
_TAG = re.compile(r"</?[^>]+>")


def parse_webvtt(text: str, source: str = "<text>") -> ParsedTranscript:
    """Parse WebVTT cues; the speaker comes from `<v Name>` or a leading "Name:"."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines: list[TranscriptLine] = []
    cues = 0
    for block in blocks[1:] if blocks and blocks[0].lstrip().startswith("WEBVTT") else blocks:
        rows = [r for r in block.split("\n") if r.strip()]
        if not rows or rows[0].startswith(("NOTE", "STYLE", "REGION")):
            continue
        ti = next((i for i, r in enumerate(rows) if _VTT_TIME.match(r)), None)
        if ti is None:
            continue
        cues += 1
        m = _VTT_TIME.match(rows[ti])
        assert m is not None  # matched just above
        start, end = _seconds(m["a"]), _seconds(m["b"])
        body = "\n".join(rows[ti + 1:]).strip()
        if not body:
            continue
        for speaker, words in _cue_speakers(body):
            lines.append(TranscriptLine(speaker or "", words, start, end))
    if not cues:
        raise TranscriptError(f"{source}: WebVTT without any cue ('00:00:01.000 --> ...')",
                              hint="export the meeting transcript again")
    # Cues without a name continue the previous speaker.
    for i, ln in enumerate(lines):
        if not ln.speaker:
            if i == 0 or not lines[i - 1].speaker:
                raise TranscriptError(
                    f"{source}: the WebVTT cues have no speaker names",
                    hint="export with speaker names (<v Name> or 'Name: ...'), or use "
                         '"Name: words" lines')
            ln.speaker = lines[i - 1].speaker
    lines = [ln for ln in lines if ln.text.strip()]
    if not lines:
        raise TranscriptError(f"{source}: no utterances found in the WebVTT cues")
    return _finish(ParsedTranscript(kind="webvtt", lines=_merge(lines), source=source))


def _cue_speakers(body: str) -> list[tuple[str | None, str]]:
    voices = list(_VOICE.finditer(body))
    if voices:
        return [(_clean_name(v["name"]), _plain(v["text"])) for v in voices
                if _plain(v["text"])]
    text = _plain(body)
    m = re.match(r"^(?P<name>[^:]{1,40}?):\s+(?P<text>.*)$", text, re.S)
    if m and _looks_like_name(_clean_name(m["name"])):
        return [(_clean_name(m["name"]), m["text"].strip())]
    return [(None, text)]


def _plain(s: str) -> str:
    return re.sub(r"\s+", " ", _TAG.sub("", s)).replace("&amp;", "&").replace(
        "&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ").strip()


# --- session export -----------------------------------------------------------------------------


def parse_session_export(text: str, source: str = "<text>") -> ParsedTranscript:
    """Read a `networking-trainer-session` JSON export."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"{source}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    except RecursionError:
        raise TranscriptError(f"{source}: JSON nested too deeply to be a session export",
                              hint="export the session again with `trainer session export`") \
            from None
    if not isinstance(doc, dict) or doc.get("format") != SESSION_FORMAT:
        raise TranscriptError(f"{source}: JSON but not a session export",
                              hint=f'expected "format": "{SESSION_FORMAT}"')
    session = doc.get("session") or {}
    if not isinstance(session, dict) or not isinstance(doc.get("turns"), list):
        raise TranscriptError(f"{source}: session export without 'session' or 'turns'")
    try:
        turns = [turn_from_dict(t) for t in doc["turns"]]
        hooks = tuple(
            HookCue(id=str(h["id"]), cues=tuple(str(c).lower() for c in h.get("cues") or ()),
                    label=str(h.get("label") or ""), suggestion=str(h.get("suggestion") or ""))
            for h in session.get("hooks") or [])
    except (TypeError, KeyError, ValueError) as exc:
        raise TranscriptError(f"{source}: a turn or hook is malformed ({exc})") from None
    partner = session.get("persona_name") or None
    lines = [TranscriptLine("user" if t.speaker == "user" else (partner or "persona"), t.text,
                            t.start_s, t.end_s) for t in turns if t.text.strip()]
    card = doc.get("scorecard")
    recall = [r for r in doc.get("recall") or [] if isinstance(r, dict)]
    return ParsedTranscript(kind="session", lines=lines, source=source, user="user",
                            partner_name=partner, hooks=hooks, turns=turns,
                            scorecard=card if isinstance(card, dict) else None, session=session,
                            recall=recall)


# --- helpers ------------------------------------------------------------------------------------


def _merge(lines: list[TranscriptLine]) -> list[TranscriptLine]:
    """Consecutive lines of one speaker are one turn (meeting tools split at every pause)."""
    out: list[TranscriptLine] = []
    texts: list[list[str]] = []  # joined once: `+=` per line was quadratic in a long turn
    for ln in lines:
        if out and out[-1].speaker == ln.speaker:
            texts[-1].append(ln.text)
            if ln.end_s is not None:
                out[-1].end_s = ln.end_s
        else:
            out.append(TranscriptLine(ln.speaker, ln.text, ln.start_s, ln.end_s))
            texts.append([ln.text])
    for ln, parts in zip(out, texts, strict=True):
        if len(parts) > 1:
            ln.text = " ".join(parts).strip()
    return out


def _finish(parsed: ParsedTranscript) -> ParsedTranscript:
    selfish = [s for s in parsed.speakers if s.lower() in SELF_NAMES]
    if len(selfish) == 1:
        parsed.user = selfish[0]
    others = [s for s in parsed.speakers if s != parsed.user]
    if parsed.user and len(others) == 1:
        parsed.partner_name = others[0]
    return parsed


def match_speaker(parsed: ParsedTranscript, me: str) -> str:
    """The speaker `--me` names (case-insensitive; a unique prefix or first name is enough)."""
    speakers = parsed.speakers
    want = me.strip().lower()
    exact = [s for s in speakers if s.lower() == want]
    if exact:
        return exact[0]
    partial = [s for s in speakers if s.lower().startswith(want) or
               s.lower().split(" ")[0] == want]
    if len(partial) == 1:
        return partial[0]
    raise UsageError(f"no speaker '{me}' in the transcript; speakers: {speaker_list(speakers)}",
                     hint="pass --me with one of these names")


def speaker_list(speakers: list[str], limit: int = 8) -> str:
    """Speaker names for a message: the first `limit`, then how many more (one short line)."""
    shown = ", ".join(speakers[:limit])
    return shown + (f" and {len(speakers) - limit} more" if len(speakers) > limit else "")


def to_turns(parsed: ParsedTranscript, user: str) -> list[Turn]:
    """Turns for scoring: the user's lines are speaker "user", everyone else is the partner.

    Times stay 0 when the transcript has none, so scoring estimates them (and says so).
    A turn over MAX_TURN_WORDS words becomes consecutive turns of CHUNK_WORDS words (scoring
    counts consecutive user turns as one monologue); a session export's turns are split the
    same way.
    """
    if parsed.turns is not None:
        return _split_long_turns(parsed.turns)
    timed = parsed.has_times
    turns: list[Turn] = []
    prev_end: float | None = None
    for i, ln in enumerate(parsed.lines):
        speaker = "user" if ln.speaker == user else "persona"
        start = ln.start_s if timed and ln.start_s is not None else 0.0
        end = ln.end_s if timed and ln.end_s is not None else 0.0
        pause = None
        interrupted = False
        if timed and speaker == "user" and prev_end is not None and turns \
                and turns[-1].speaker == "persona" and parsed.kind == "webvtt":
            # Only cue times are precise enough for pauses; [mm:ss] stamps are not.
            gap = start - prev_end
            pause = max(0.0, gap)
            interrupted = gap < -0.3
        turns.append(Turn(index=i, speaker=speaker, text=ln.text, start_s=start, end_s=end,
                          pause_before_s=pause, interrupted=interrupted,
                          meta={"name": ln.speaker}))
        prev_end = end if timed else None
    return _split_long_turns(turns)


def long_turns(texts: Iterable[str]) -> int:
    """How many of the texts are longer than MAX_TURN_WORDS words (scored in chunks)."""
    return sum(1 for text in texts if _more_words_than(text, MAX_TURN_WORDS))


def _more_words_than(text: str, n: int) -> bool:
    # cheap test first: a turn of n words has at least 2n - 1 characters
    return len(text) >= 2 * n and len(text.split()) > n


def _split_long_turns(turns: list[Turn]) -> list[Turn]:
    """Cut each turn over MAX_TURN_WORDS words into consecutive turns of about CHUNK_WORDS.

    The pieces end at a sentence end where one is near, share the turn's time span in
    proportion to their words, and take fresh indexes (the order is kept).
    """
    if not any(_more_words_than(t.text, MAX_TURN_WORDS) for t in turns):
        return turns
    out: list[Turn] = []
    for t in turns:
        pieces = _chunks(t.text) if _more_words_than(t.text, MAX_TURN_WORDS) else [t.text]
        total = sum(len(p.split()) for p in pieces)
        span = t.end_s - t.start_s
        at = t.start_s
        for k, piece in enumerate(pieces):
            end = at + span * len(piece.split()) / total if total else at
            out.append(replace(t, index=len(out), text=piece, start_s=at,
                               end_s=t.end_s if k == len(pieces) - 1 else end,
                               words=[] if len(pieces) > 1 else t.words,
                               pause_before_s=t.pause_before_s if k == 0 else None,
                               interrupted=t.interrupted and k == 0))
            at = end
    return out


_SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")


def _chunks(text: str) -> list[str]:
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        j = min(i + CHUNK_WORDS, len(words))
        if j < len(words):
            # end the piece after the last sentence end in its second half, if there is one
            for k in range(j, i + CHUNK_WORDS // 2, -1):
                if _SENTENCE_END.search(words[k - 1]):
                    j = k
                    break
        out.append(" ".join(words[i:j]))
        i = j
    return out


def partner_of(parsed: ParsedTranscript, user: str) -> str | None:
    """The partner's name when there is exactly one other speaker."""
    if parsed.partner_name and parsed.partner_name != user:
        return parsed.partner_name
    others = [s for s in parsed.speakers if s != user]
    return others[0] if len(others) == 1 else None


# --- scoring an imported transcript ---------------------------------------------------------------


def score_transcript(parsed: ParsedTranscript, user: str, meaning=None):
    """The scorecard of a transcript with `user` as the user (imported lazily: pure core).

    `meaning`: a sentence embedder for follow-ups and hooks by meaning (None: by words).
    """
    from trainer.scoring import RecallItem, Scorecard, score_round

    turns = to_turns(parsed, user)
    long = long_turns(t.text for t in parsed.turns) if parsed.turns is not None \
        else long_turns(ln.text for ln in parsed.lines)
    recall = None
    try:
        if parsed.scorecard:
            recall = Scorecard.from_dict(parsed.scorecard).recall or None
        if recall is None and parsed.recall:
            recall = [RecallItem(question=str(r["question"]),
                                 expected=tuple(r.get("answers") or r.get("expected") or ()),
                                 given=str(r.get("given") or ""), correct=bool(r.get("correct")))
                      for r in parsed.recall]
    except (TypeError, KeyError, ValueError, AttributeError):
        recall = None  # an old or hand-edited export: score without the recall check
    card = score_round(turns, hooks=parsed.hooks, partner_name=partner_of(parsed, user),
                       recall=recall, meaning=meaning)
    if long:
        card.notes.append(f"{long} turn{'s' if long > 1 else ''} of over {MAX_TURN_WORDS} words "
                          f"scored in parts of about {CHUNK_WORDS} words.")
    return card


def analysis_document(parsed: ParsedTranscript, user: str, card) -> dict[str, Any]:
    """The `trainer analyze --json` document: per-utterance labels and the round metrics."""
    labels = {ln.index: ln.labels for ln in card.lines}
    turns = to_turns(parsed, user)
    utterances = []
    for t in turns:
        utterances.append({
            "index": t.index,
            "speaker": "user" if t.speaker == "user" else "partner",
            "name": t.meta.get("name") if t.meta else (user if t.speaker == "user" else None),
            "text": t.text,
            "start_s": t.start_s if not card.timing_estimated else None,
            "end_s": t.end_s if not card.timing_estimated else None,
            "labels": labels.get(t.index),
        })
    return {
        "source": parsed.source,
        "format": parsed.kind,
        "me": user,
        "partner": partner_of(parsed, user),
        "speakers": parsed.speakers,
        "timing_estimated": card.timing_estimated,
        "notes": card.notes,
        "utterances": utterances,
        "metrics": {m.key: {"label": m.label, "value": m.value, "unit": m.unit,
                            "target": m.target, "passed": m.passed, "detail": m.detail}
                    for m in card.metrics},
        "scorecard": card.to_dict(),
    }
