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
    "Um so yeah I'm studying computer science and honestly I've always been really into my own "
    "projects, like, I built my own app last year and my grades are, um, pretty good, and I "
    "think I would be great at basically any job because I work really hard and I learn really "
    "fast, and my friends say I'm, like, the most driven person they know, so yeah, I'm pretty "
    "confident about my chances this year, more than most people in my class for sure.",
    "Yeah well I, uh, I did an internship last summer and I was basically running the whole "
    "dashboard project myself, like, my manager said I was the best intern they ever had, and I "
    "also play guitar in a band and I run my own blog about my coding and my side projects, "
    "and it has, um, quite a lot of readers actually, so I'm basically building my own brand "
    "while I finish my degree, and I post on it every single week without fail.",
    "So, um, my plan is, like, to find a job with lots of freedom, because I'm really "
    "independent and I learn fast, I taught myself three languages and my friends always say "
    "I'm, uh, the smartest person in our group, so I'm basically looking at lots of options "
    "right now, and honestly I think most companies would be lucky to have me on their team, "
    "I just have to pick the right one for me.",
    "Right, um, and I also think my degree is, like, really strong, my professor says my thesis "
    "is, uh, basically publishable and I've been doing a lot of networking on my own and I have, "
    "like, five hundred connections already so I'm kind of a natural at this stuff, and I "
    "think that shows I'm a real people person, which is what everyone is looking for now, "
    "at least that is what I read online.",
    "Yeah, and, um, my goal is a place that sees my potential, because honestly I've always "
    "been, uh, ahead of the others in my year and I get bored easily when the work is, like, too "
    "simple for me, so I need a real challenge, and I think I'd be ready to lead a team pretty "
    "soon, like, within a year or so, because I'm basically a natural leader and I "
    "have always been the one in charge.",
    "Um, and also my last project was, like, a machine learning thing that I did, uh, all by "
    "myself in a weekend, and I'm planning to start my own company one day, I have loads of "
    "ideas and I think I'd be a really good founder, I'm good with people and I'm good with "
    "code, so, like, I'm basically the whole package, that's what my mum says anyway, and my dad "
    "agrees with her on that.",
]


# Questions that build on the partner's last line (the analysis sees the pointer "that").
FOLLOW_UPS = ["What was that like for you?", "How did that come about?",
              "What surprised you most about that?", "Why was that?"]


@dataclass
class Listener:
    """How a scripted user speaks: which replies, at which rate, after how long a pause."""

    name: str
    replies: list[str] = field(default_factory=list)  # what was said (filled by plan_round)
    heard: list[str] = field(default_factory=list)  # what the planning transcriber heard
    rate_wpm: int = 160
    pause_s: float = 0.4  # silence before the speech in each file (the response pause)
    voice: str = "en-us"


class GoodPolicy:
    """A good listener: introduces themself, keeps turns short, asks open questions, follows up
    on every personal detail the persona drops (again, in other words, if the first try was not
    heard as a follow-up), offers help, and ends by asking to meet again."""

    def __init__(self, persona: Persona, turns: int = 9):
        self.persona = persona
        self.turns = turns
        self.topics = list(persona.topics)
        self.follow_ups = list(FOLLOW_UPS)
        self.tried: dict[str, int] = {}
        self.offered = False
        self.said: list[str] = []

    def __call__(self, conv: Conversation) -> str:
        p, first, turn = self.persona, self.persona.first_name, len(self.said)
        open_hooks = [h for h in conv.hooks_dropped
                      if h not in conv.hooks_followed and self.tried.get(h, 0) < 2]
        if turn == 0:
            text = (f"Hello, I'm Sam, nice to meet you, {first}. I study computer science. "
                    f"{self.topics.pop(0).asks[0]}")
        elif turn >= self.turns - 1 or conv.phase == "wrap_up":
            text = (f"This was really great, {first}. Could we grab a coffee next week? "
                    "Can I get your email?")
        elif turn >= 2 and not self.offered:
            self.offered = True
            text = ("Happy to help with your next fair if you need a hand. "
                    "What are you working on next?")
        elif open_hooks:
            hook = p.hook(open_hooks[0])
            self.tried[hook.id] = self.tried.get(hook.id, 0) + 1
            text = (hook.suggestion if self.tried[hook.id] == 1
                    else f"Going back to the {max(hook.cues, key=len)}, how is that going?")
        elif self.said and self.said[-1] not in FOLLOW_UPS and self.follow_ups:
            text = self.follow_ups.pop(0)
        elif self.topics:
            text = self.topics.pop(0).asks[0]
        else:
            text = "What do you enjoy most about your work?"
        self.said.append(text)
        return text


class PoorPolicy:
    """A poor listener: long monologues about themself, with fillers; never asks."""

    def __init__(self):
        self.left = list(POOR_MONOLOGUES)

    def __call__(self, conv: Conversation) -> str:
        return self.left.pop(0)


def good_listener() -> Listener:
    return Listener("good", rate_wpm=140, pause_s=0.5)


def poor_listener() -> Listener:
    # Fast (espeak at 230 wpm is above the 175 wpm target) and hesitant (3 s before speaking).
    return Listener("poor", rate_wpm=230, pause_s=3.0)


def practice_router(persona: Persona):
    """The MeaningRouter `trainer practice` builds for this persona (round_setup.RouterLoader)."""
    from trainer.round_setup import meaning_router

    return meaning_router(persona)


def plan_round(persona: Persona, seed: int, policy, listener: Listener, folder: Path,
               transcriber, max_turns: int = 9) -> list[Path]:
    """Write one WAV per reply, choosing each reply against the real conversation.

    Each planned reply goes through what `trainer practice --input FILE.wav` does with it:
    the same end-of-turn detector (WavFileSource) and the same transcriber, and the persona
    hears that transcript. espeak-ng + tiny.en mishear some words ("Biscuit" -> "this kid"),
    and planning on what the trainer will actually hear keeps the round on the planned path.
    """
    from trainer.speech.sources import WavFileSource

    folder.mkdir(parents=True, exist_ok=True)
    # the same understanding as `trainer practice` (the meaning router), so plan and round agree
    conv = Conversation(persona, seed=seed, router=practice_router(persona))
    conv.start()
    paths: list[Path] = []
    for i in range(max_turns):
        text = policy(conv)
        listener.replies.append(text)
        audio = np.concatenate([silence(listener.pause_s),
                                synth(text, listener.voice, listener.rate_wpm),
                                silence(1.2)])
        path = write_wav(folder / f"{listener.name}-{i:02d}.wav", audio)
        paths.append(path)
        utt = WavFileSource([path]).listen()
        tr = transcriber.transcribe(utt.audio, sample_rate_hz=16_000)
        listener.heard.append(tr.text)
        conv.respond(tr.text, words=tr.words or None, duration_s=utt.duration_s,
                     capped=utt.capped)
        if conv.finished:
            break
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
    """The events in a trace file (see trainer.round_setup.read_trace)."""
    from trainer.round_setup import read_trace as _read

    return _read(trace, event)


def interrupt(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    """Send `sig` to the practice process (its own session, so pytest is not hit)."""
    os.kill(proc.pid, sig)


def load(persona_id: str) -> Persona:
    return load_persona(persona_id)
