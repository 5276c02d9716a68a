"""Text from persona files, typed replies, transcripts and the store, made safe to show.

One sanitiser for every string that reaches the terminal (issue 14, probe 4): terminal escape
sequences (CSI such as screen clear or "erase the line above", OSC such as the window title
or an OSC 52 clipboard write, DCS/APC strings), C0 and C1 control characters (BEL, backspace,
a bare carriage return that redraws the line) and the bidirectional overrides that reorder
what is shown are removed, and the result is a `rich.text.Text`, which rich never reads as
markup, so "[bold]" or "[link=...]" in the data is printed as typed.

Also here: `control_chars` (what `trainer persona check` reports) and the streams set up so
that output survives any terminal encoding (issue 14, probe 9).
"""

from __future__ import annotations

import codecs
import contextlib
import io
import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.text import Text

# A whole escape sequence goes, not just its ESC: "[2J" or "]0;title" left behind is noise.
_ESCAPES = re.compile(
    r"""
      \x1b\[ [0-?]* [ -/]* [@-~]?                 # CSI ... final byte (ESC [)
    | \x9b [0-?]* [ -/]* [@-~]?                   # CSI as one C1 byte
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d-\x9f])        # OSC, DCS, SOS, PM, APC (7- or 8-bit) ...
      [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)?      # ... up to BEL or the string terminator
    | \x1b [ -/]* [0-~]?                          # any other ESC sequence (ESC c resets)
    """,
    re.VERBOSE,
)
# C0 controls but tab and newline, DEL, C1 controls, and the bidi embeddings, overrides and
# isolates (they reorder how a line is drawn: "Trojan source").
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NEWLINES = re.compile(r"\r\n|[\n\r\x0b\x0c\x85\u2028\u2029]")


def clean(text: object, multiline: bool = False) -> str:
    """`text` without escape sequences or control characters, for the terminal.

    Line breaks become spaces unless `multiline` (a persona name must not start a fake line);
    tabs become spaces. Everything printable, accents and emoji included, is kept.
    """
    s = text if isinstance(text, str) else str(text)
    if s.isprintable():
        return s  # the common case, in C
    s = _ESCAPES.sub("", s)
    s = _NEWLINES.sub("\n" if multiline else " ", s).replace("\t", " ")
    s = _CONTROLS.sub("", s)
    # lone surrogates (undecodable bytes kept by surrogateescape) cannot be printed
    return s.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(s) else s


def term(text: object, style: str = "", multiline: bool = False) -> Text:
    """`clean(text)` as a rich Text: printed as it reads, never parsed as rich markup."""
    from rich.text import Text

    return Text(clean(text, multiline), style=style)


def markup(text: object) -> str:
    """`clean(text)` escaped for a rich markup string (a title, a table cell given as str)."""
    from rich.markup import escape

    return escape(clean(text))


def control_chars(text: str) -> list[str]:
    """The control characters in `text` as readable names ("ESC", "U+0007"), first 3 kinds.

    Tab and newline are allowed (YAML block text has them); everything `clean` removes is not.
    """
    found: dict[str, None] = {}
    for ch in text:
        if ch in "\t\n" or not (_CONTROLS.match(ch) or ch in "\x85\u2028\u2029"):
            continue
        found[_NAMES.get(ch, f"U+{ord(ch):04X}")] = None
        if len(found) == 3:
            break
    return list(found)


_NAMES = {"\x1b": "ESC", "\x07": "BEL", "\x08": "backspace", "\r": "carriage return",
          "\x00": "NUL", "\x7f": "DEL", "\x9b": "CSI"}


def _has_surrogate(s: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in s)


# --- streams ------------------------------------------------------------------------------------
def survive_any_encoding() -> None:
    """Make stdout/stderr/stdin work on an ASCII or Latin-1 terminal (LANG=C, PYTHONIOENCODING).

    Output: a character the terminal's encoding lacks ("—", "✓", "ë") is written as "?" instead
    of raising UnicodeEncodeError at the end of a round. Input: a typed line is read as UTF-8
    when its bytes are UTF-8 (a UTF-8 terminal behind a wrong LANG), else in the declared
    encoding, byte by byte; it never fails and never yields lone surrogates for the store.
    """
    for stream in (sys.stdout, sys.stderr):
        # strict (PYTHONIOENCODING=ascii) and surrogateescape (LANG=C) both raise on "ë"
        if isinstance(stream, io.TextIOWrapper) and stream.errors in ("strict",
                                                                     "surrogateescape"):
            with contextlib.suppress(ValueError, io.UnsupportedOperation):
                stream.reconfigure(errors="replace")
    stdin = sys.stdin
    if not isinstance(stdin, io.TextIOWrapper):
        return
    declared = _codec_name(stdin.encoding)
    if declared == "utf-8" and stdin.errors == "strict":
        return
    # read as UTF-8; bytes that are not UTF-8 are decoded one by one in the declared encoding
    _register_fallback(declared if declared != "utf-8" else "latin-1")
    with contextlib.suppress(ValueError, io.UnsupportedOperation):  # already read from
        stdin.reconfigure(encoding="utf-8", errors=_FALLBACK)


_FALLBACK = "trainer-typed-fallback"
_fallback_codec = ["latin-1"]


def _register_fallback(codec: str) -> None:
    _fallback_codec[0] = codec

    def fallback(exc: UnicodeError) -> tuple[str, int]:
        if not isinstance(exc, UnicodeDecodeError):
            raise exc
        bad = exc.object[exc.start:exc.end]
        return bytes(bad).decode(_fallback_codec[0], errors="replace"), exc.end

    codecs.register_error(_FALLBACK, fallback)


def _codec_name(encoding: str | None) -> str:
    try:
        return codecs.lookup(encoding or "ascii").name
    except LookupError:
        return "ascii"
