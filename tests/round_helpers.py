"""Scripted listeners for whole-round tests: what a good and a poor listener say, as WAV files.

A WAV round is fixed in advance, but the persona's lines depend on the replies. So the script is
planned by running the real (pure) conversation with the same seed and a listener *policy*:
the good listener introduces themself, answers briefly, asks open questions, follows up on each
personal detail (hook) the persona drops with the hook's own suggested line, offers help and
asks to meet again; the poor listener talks about themself at length, with fillers, and never
asks. The planned replies are then spoken by espeak-ng into WAV files and the real round runs
through `trainer practice --input FILE.wav ...`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from speech_helpers import silence, synth, write_wav

from trainer.conversation import Conversation
from trainer.personas import Persona, load_persona

ROOT = Path(__file__).resolve().parent.parent

POOR_MONOLOGUES = [
    "Um so yeah I'm Sam and I'm, like, studying computer science and honestly I've always been "
    "really into my own projects, you know, I built my own app last year and my grades are, um, "
    "pretty good and I think I would be great at basically any job because I work really hard.",
    "Yeah well I, uh, I did an internship last summer and I was basically running the whole "
    "dashboard project myself, like, my manager said I was the best intern they ever had, and "
    "I also, um, play guitar and I run my own blog about my coding and my side projects.",
    "So, um, my plan is, like, I want a job where I can, you know, do my own thing, I'm really "
    "independent and I learn fast, I taught myself three languages and my friends always say "
    "I'm, uh, the smartest person in our group, so yeah, I'm sort of looking at lots of options.",
    "Right, um, and I also think my degree is, like, really strong, my professor says my thesis "
    "is, uh, basically publishable and I've been, you know, doing a lot of networking on my own "
    "and I have, like, five hundred connections already so I'm kind of a natural at this stuff.",
    "Yeah, and, um, I guess I just, like, really want to find a place that, you know, sees my "
    "potential, because honestly I've always been, uh, ahead of the others in my year and I get "
    "bored easily when the work is, like, too simple for me, so I need a real challenge.",
    "Um, and also my last project was, like, a machine learning thing that I did, uh, all by "
    "myself in a weekend, and I'm, you know, planning to start my own company one day, I have "
    "loads of ideas and I think I'd be a really good founder, I'm good with people I think.",
]


# Questions that build on the partner's last line (the analysis sees the pointer "that").
FOLLOW_UPS = ["What was that like for you?", "How did that come about?",
              "What surprised you most about that?", "Why was that?"]


@dataclass
class Listener:
    """How a scripted user speaks: which replies, at which rate, after how long a pause."""

    name: str
    replies: list[str] = field(default_factory=list)
    rate_wpm: int = 160
    pause_s: float = 0.4  # silence before the speech in each file (the response pause)
    voice: str = "en-us"


def plan_good(persona: Persona, seed: int, max_turns: int = 9) -> list[str]:
    """The good listener's replies, planned against the real conversation."""
    conv = Conversation(persona, seed=seed)
    lines = conv.start()
    first = persona.first_name
    topics = [t for t in persona.topics]
    followed: set[str] = set()
    replies: list[str] = []
    offered = False
    follow_ups = list(FOLLOW_UPS)
    for turn in range(max_turns):
        dropped = [h for ln in lines for h in ln.hooks if h not in followed]
        if turn == 0:
            text = f"Hi {first}, I'm Sam, I study computer science. {topics[0].asks[0]}"
            topics = topics[1:]
        elif turn == max_turns - 1 or conv.phase == "wrap_up":
            text = (f"This was really great, {first}. Could we grab a coffee next week? "
                    "Can I get your email?")
        elif dropped:
            hook = persona.hook(dropped[0])
            followed.add(hook.id)
            text = hook.suggestion
        elif turn >= 4 and not offered:
            offered = True
            text = ("I could send you a route planning tool I built, if that helps your team. "
                    f"What are you working on next, {first}?")
        elif replies and not replies[-1].startswith(tuple(FOLLOW_UPS)) and follow_ups:
            text = follow_ups.pop(0)
        elif topics:
            text = topics[0].asks[0]
            topics = topics[1:]
        else:
            text = "What do you enjoy most about it?"
        replies.append(text)
        reply = conv.respond(text)
        lines = reply.lines
        if conv.finished:
            break
    return replies


def plan_poor(n: int = 6) -> list[str]:
    return POOR_MONOLOGUES[:n]


def good_listener(persona: Persona, seed: int) -> Listener:
    return Listener("good", plan_good(persona, seed), rate_wpm=155, pause_s=0.5)


def poor_listener(n: int = 6) -> Listener:
    # Fast (espeak at 230 wpm is above the 175 wpm target) and hesitant (3 s before speaking).
    return Listener("poor", plan_poor(n), rate_wpm=230, pause_s=3.0)


def write_replies(folder: Path, listener: Listener, trailing_s: float = 1.2) -> list[Path]:
    """Each reply as one WAV: `pause_s` of silence, the speech, then silence to end the turn."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, text in enumerate(listener.replies):
        audio = np.concatenate([silence(listener.pause_s),
                                synth(text, listener.voice, listener.rate_wpm),
                                silence(trailing_s)])
        paths.append(write_wav(folder / f"{listener.name}-{i:02d}.wav", audio))
    return paths


def recall_answers(persona: Persona, right: bool) -> list[str]:
    """--recall-answer options for every hook: the right answer, or a wrong one."""
    out = []
    for h in persona.hooks:
        out += ["--recall-answer", f"{h.id}={h.recall.answers[0] if right else 'no idea'}"]
    return out


def practice_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "trainer", "practice", *args]


def popen_practice(*args: str, env: dict | None = None, stdin=subprocess.DEVNULL):
    """Start `trainer practice ARGS` in a subprocess with stdout/stderr piped (text)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.Popen(practice_cmd(*args), cwd=ROOT, env=full_env, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def wait_for_events(trace: Path, event: str, count: int, timeout_s: float = 120.0,
                    proc: subprocess.Popen | None = None) -> list[dict]:
    """Block until TRAINER_TRACE holds `count` events named `event`; returns them."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = read_trace(trace, event)
        if len(found) >= count:
            return found
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"practice ended early ({proc.returncode}):\n{out}\n{err}")
        time.sleep(0.05)
    raise AssertionError(f"no {count} x {event} in {trace} after {timeout_s} s")


def read_trace(trace: Path, event: str | None = None) -> list[dict]:
    if not trace.exists():
        return []
    out = []
    for line in trace.read_text().splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
        if event is None or rec.get("event") == event:
            out.append(rec)
    return out


def interrupt(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    """Send `sig` to the practice process (its own session, so pytest is not hit)."""
    os.kill(proc.pid, sig)


def load(persona_id: str) -> Persona:
    return load_persona(persona_id)
