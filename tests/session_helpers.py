"""Realistic stored rounds for the store, review, HTML and history tests.

A career-fair chat with Dana Reyes: her lines drop hooks (a rescue puppy, a marathon, a move to
Denver), the user's replies take some up and miss others, with fillers, an offer and an ask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from trainer.store import Store
from trainer.types import Turn, Word

HOOKS = [
    {"id": "puppy", "cues": ["puppy", "biscuit", "dog", "rescue"],
     "label": "rescue puppy Biscuit", "suggestion": "How long have you had Biscuit?"},
    {"id": "marathon", "cues": ["marathon", "race", "running", "training"],
     "label": "first marathon", "suggestion": "Which marathon are you training for?"},
    {"id": "denver", "cues": ["denver", "move", "moving", "colorado"],
     "label": "moving to Denver", "suggestion": "What's taking you to Denver?"},
]

# (speaker, text, hooks dropped, phase, seconds spoken)
DIALOGUE: list[tuple[str, str, tuple[str, ...], str, float]] = [
    ("persona", "Hi there, I'm Dana Reyes, I run the data team at Northwind. Sorry, I'm a bit "
     "tired, our new rescue puppy Biscuit had us up all night.", ("puppy",), "opening", 9.0),
    ("user", "Hi Dana, I'm Sam. Oh no, how old is Biscuit?", (), "opening", 4.0),
    ("persona", "Four months, and she chews everything. So what brings you to the fair today?",
     (), "small_talk", 5.5),
    ("user", "Um, well, I'm finishing my master's in statistics and I'm, like, looking for a "
     "role in analytics, you know, something with real data and a team I can learn from, and I "
     "did an internship last summer where I built dashboards.", (), "small_talk", 17.0),
    ("persona", "Nice. Our team is growing. I'll admit my head is half on my first marathon in "
     "October, training takes most of my evenings.", ("marathon",), "small_talk", 9.0),
    ("user", "What does the data team work on day to day?", (), "business", 4.0),
    ("persona", "Mostly forecasting demand for our stores. We're also opening an office in "
     "Denver, I'm moving there in the spring.", ("denver",), "business", 8.0),
    ("user", "I could send you a forecasting notebook I wrote, it might help with the stores.",
     (), "business", 6.0),
    ("persona", "That would be lovely.", (), "closing", 1.5),
    ("user", "Would you be open to a coffee next week? Can I get your email?", (), "closing", 5.0),
    ("persona", "Sure, here's my card. Good luck, Sam!", (), "closing", 3.0),
]


# Other replies for some user turns: WEAK ones miss everything, STRONG ones take up every hook.
WEAK = {1: "Hi, I'm Sam. I study statistics.", 5: "I did a dashboards internship last summer.",
        7: "Okay, cool.", 9: "Well, nice meeting you."}
STRONG = {5: "Which marathon are you training for?",
          7: "What's taking you to Denver? I could send you a forecasting notebook I wrote."}


def realistic_turns(n: int | None = None, pause_s: float = 0.6,
                    replies: dict[int, str] | None = None) -> list[Turn]:
    """The dialogue as Turns on the round's clock; `replies` swaps user lines by turn index."""
    turns: list[Turn] = []
    t = 0.0
    for i, (speaker, text, hooks, phase, dur) in enumerate(DIALOGUE[:n]):
        if replies and i in replies:
            text = replies[i]
            dur = round(len(text.split()) / 2.5, 1)  # ~150 words per minute
        start = t + (pause_s if i else 0.0)
        words = []
        if speaker == "user":
            toks = text.split()
            step = dur / len(toks)
            words = [Word(w, round(k * step, 3), round((k + 0.8) * step, 3))
                     for k, w in enumerate(toks)]
        turns.append(Turn(
            index=i, speaker=speaker, text=text, start_s=round(start, 3),
            end_s=round(start + dur, 3), phase=phase, hooks=hooks,
            kind="hook" if hooks else ("opener" if i == 0 else "answer"),
            words=words, pause_before_s=pause_s if speaker == "user" else None,
            meta={"engine": "faster-whisper"} if speaker == "user" else {},
        ))
        t = start + dur
    return turns


def tone(seconds: float, freq_hz: float = 220.0, sr: int = 16_000) -> np.ndarray:
    """A soft tone standing in for speech where the words do not matter."""
    x = np.arange(int(seconds * sr), dtype=np.float32) / sr
    return (0.2 * np.sin(2 * np.pi * freq_hz * x)).astype(np.float32)


def write_round(
    store: Store,
    *,
    speech: bool = False,
    finish: str | None = "completed",
    scorecard: dict | None = None,
    recall: list[dict] | None = None,
    n: int | None = None,
    persona: tuple[str, str, str, str] = ("dana", "Dana Reyes", "career fair", "easy"),
    replies: dict[int, str] | None = None,
    score: bool = False,
) -> str:
    """Store one round; user turns get audio (espeak speech if `speech`, else a tone).

    `score` stores the real scorecard of the round, as `trainer practice` does.
    """
    sid = store.start_session(*persona, hooks=HOOKS, meta={"seed": 7, "engine": "faster-whisper"})
    turns = realistic_turns(n, replies=replies)
    if score:
        from trainer.report.review import hook_cues, recall_items
        from trainer.scoring import score_round

        scorecard = score_round(turns, hook_cues(HOOKS), persona[1].split()[0],
                                recall_items(recall)).to_dict()
    for turn in turns:
        audio = None
        if turn.speaker == "user":
            if speech:
                from speech_helpers import synth

                audio = synth(turn.text)
            else:
                audio = tone(turn.duration_s)
        store.add_turn(sid, turn, audio=audio)
    if finish:
        store.finish_session(sid, finish, scorecard=scorecard, recall=recall)
    return sid


# as the scorecard stores recall answers (trainer.scoring.RecallItem fields)
RECALL = [
    {"question": "What is Dana's puppy called?", "expected": ["biscuit"], "given": "Biscuit",
     "correct": True},
    {"question": "Where is Dana moving in the spring?", "expected": ["denver"],
     "given": "Boulder", "correct": False},
]


def db_path(home: Path) -> Path:
    return home / "trainer.db"


# --- hostile data (issue 14) -------------------------------------------------------------------
# Markup that runs if any value reaches the page unescaped; each payload sets window.__pwned.
XSS = '"><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
XSS_ATTR = """" onmouseover="window.__pwned=3" x="'><svg onload="window.__pwned=4">"""
# What a terminal obeys: clear screen, window title, OSC 52 clipboard write, erase the line
# above, C1 CSI, a bare CR that redraws the line, BEL; and rich markup (a hyperlink).
ESCAPES = ("\x1b[2J\x1b]0;pwned title\x07\x1b]52;c;cHduZWQ=\x07\x1b[1A\x1b[2K\x9b31m"
           "\rfake\x08\x07 [link=https://evil.example]click[/link] [bold]bold[/bold]")


def write_hostile_round(store: Store, payload: str, audio: bool = True) -> str:
    """A stored round whose every text field carries `payload` (names, hooks, lines, recall)."""
    hooks = [{"id": "puppy", "cues": ["puppy", "biscuit"], "label": f"puppy {payload}",
              "suggestion": f"How is Biscuit? {payload}"}]
    sid = store.start_session("dana", f"Dana {payload}", f"fair {payload}", f"easy{payload}",
                              hooks=hooks)
    for turn in realistic_turns(4):
        turn.text = f"{turn.text} {payload}"
        turn.error = f"note {payload}" if turn.index == 3 else None
        store.add_turn(sid, turn, audio=tone(turn.duration_s) if audio and turn.speaker == "user"
                       else None)
    recall = [{"question": f"What is the puppy called? {payload}", "expected": [payload],
               "given": payload, "correct": False}]
    store.finish_session(sid, "completed", recall=recall)
    return sid
