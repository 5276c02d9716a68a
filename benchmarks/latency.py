"""Turn latency (end of the user's speech -> first sample of the persona's reply) and
premature cut-offs (the persona starts while the user still had words to say).

Measured through the real audio path on a private PulseAudio (benchmarks/pulse.py): a reply
is spoken into the virtual microphone, the trainer listens with MicSource (sounddevice ->
Silero VAD -> end-of-turn rule), transcribes with the bundled tiny.en, picks the reply with
trainer.conversation.Conversation and its meaning router (the draft's sentence vectors computed
on the draft worker during the silence, as in a round), and synthesises and plays it the way a round does
(practice.Round._feed: piece by piece into a Player's StreamingPlayback).
The truth for "end of speech" is when the reply's last voiced sample was written into the
microphone; "first sample" is when the Player's first sample reaches the speaker (PortAudio's
DAC time; tests/test_mic.py checks it against the speaker's monitor within 0.05 s).

Stages (medians reported): endpoint wait (end of speech -> turn confirmed), transcription
(what is left after the turn was confirmed), reply choice, synthesis, audio out (play call ->
first sample at the speaker).

Two sets of replies, both spoken by espeak-ng (a voice unlike the persona's):
- REPLIES: finished replies (statements and questions): the turn latency figures;
- PAUSED_REPLIES: replies with real silences spliced in mid-reply (0.3-0.9 s after "and",
  "so", "um", between clauses, in a list, between sentences), each after the persona line it
  answers: the cut-off rate (the turn was confirmed before the reply's last word was spoken).

The product (issue 15): adaptive end of turn. Transcription starts speculatively once the user
has been quiet for tail_s (0.1 s) and trainer.turn_end judges the draft: short after a finished
question, longer after a finished sentence, much longer after "and" / "um" / a comma, longer
still after a story prompt (sources.AdaptiveEndOfTurn). Baseline, measured in the same run and
interleaved turn by turn: today's fixed rule -- 0.7 s of silence ends every turn, with the same
speculative transcription. Both speak with espeak-ng (Dana). A third arm, interleaved too,
answers the same finished replies with the product's end of turn (judged against Dana's line,
so only the voice differs) in a neural voice: Marcus (piper), with his lines' first pieces
prepared as in a round (tts.NeuralVoice.prepare).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REPLIES = [
    "I am studying computer science, and I am in my final year.",
    "It is going well, thanks. What brings you to the fair?",
    "I have been building data pipelines in my internship this summer.",
    "That sounds interesting. How did you get into recruiting?",
    "Mostly Python and some SQL, plus a bit of cloud work.",
    "What does a typical week look like for your team?",
    "I would love to hear more about the logistics side.",
    "How is the new puppy settling in?",
    "I ran a half marathon last spring, so I know the feeling.",
    "Is the team hiring graduates this year?",
    "I could send you my portfolio if that helps.",
    "What do you enjoy most about working at Northwind?",
    "Could we grab a coffee next week to talk more?",
    "That makes sense. What skills are you looking for?",
    "I volunteer at a food bank on weekends.",
    "How long have you been with the company?",
    "I mostly work on the back end, but I like front end too.",
    "What was the hardest project you worked on this year?",
    "Thanks, that is really helpful advice.",
    "Would it be all right to connect on LinkedIn?",
    "Do you have any tips for the interview process?",
    "I am curious how your team measures success.",
]


# Replies with natural mid-reply pauses (issue 15), each after the persona line it answers:
# (category, persona line, [segment, pause_s, segment, ...]). A segment that ends on a comma is
# spoken with espeak-ng's continuation intonation (the voice stays up, as before a pause in a
# sentence); the pauses are real silences spliced between the segments. A turn confirmed
# before the last segment has been spoken cut the user off.
PAUSED_REPLIES = [
    ("and", "What do you do?",
     ["I work on data pipelines and,", 0.6, "I really enjoy the puzzle side of it."]),
    ("and", "How is the fair going for you?",
     ["It has been busy and,", 0.8, "I have met some great people."]),
    ("and", "What are you studying?", ["Computer science and,", 0.4, "a minor in statistics."]),
    ("and", "Tell me about your internship.",
     ["I built a dashboard for the sales team and,", 0.9, "they still use it every day."]),
    ("so", "Why did you move here?",
     ["My sister lives nearby, so,", 0.7, "it made sense to come."]),
    ("so", "How did you get into data?",
     ["I liked maths at school, so,", 0.5, "I picked statistics at university."]),
    ("so", "What brings you to the meetup?", ["I am new in town, so,", 0.9, "I want to meet people."]),
    ("so", "Are you enjoying the course?", ["It is hard, so,", 0.3, "I study most evenings."]),
    ("um", "What was the hardest part?", ["I think, um,", 0.7, "the people more than the code."]),
    ("um", "What do you do for fun?", ["Um,", 0.6, "mostly hiking and some climbing."]),
    ("um", "Where did you work before?",
     ["I was at, uh,", 0.8, "a small logistics company downtown."]),
    ("um", "How big is your team?", ["There are, um,", 0.5, "five of us, all engineers."]),
    ("clause", "How did you start volunteering?",
     ["When I started at the food bank,", 0.6, "I had no idea how big it was."]),
    ("clause", "What do you look for in a job?",
     ["If the team is kind,", 0.8, "I can learn almost anything."]),
    ("clause", "How was the move?",
     ["Because the trucks were late,", 0.5, "we slept on the floor for a week."]),
    ("clause", "What changed at work?",
     ["After we moved to the new system,", 0.9, "the deliveries got faster."]),
    ("list", "What tools do you use?", ["Mostly Python,", 0.4, "SQL,", 0.5, "and a bit of Go."]),
    ("list", "What do you do on weekends?", ["I run,", 0.6, "I cook,", 0.4, "and I see friends."]),
    ("list", "Which cities have you lived in?", ["Leeds,", 0.5, "Berlin,", 0.7, "and now Toronto."]),
    ("list", "What did you learn there?",
     ["Planning,", 0.8, "testing,", 0.5, "and how to say no."]),
    ("sentence", "Tell me about your project.",
     ["We built a routing tool for farmers.", 0.7, "It saved them hours every week."]),
    ("sentence", "How did you get into recruiting?",
     ["I started in sales.", 0.6, "Then a friend asked me to help with hiring."]),
    ("sentence", "What do you do?", ["I am a nurse.", 0.6, "I work nights at the city hospital."]),
    ("sentence", "Have you been here before?", ["Yes, last year.", 0.4, "It was smaller then."]),
]
USER_VOICE = ("en-us+m3", 165)
# Arms: the product (adaptive end of turn, Dana's espeak-ng voice), the baseline (fixed 0.7 s
# silence, same voice) and the product with a neural persona voice (Marcus: piper).
ARMS = ("product", "baseline", "neural")
NEURAL_PERSONA = "marcus"
PREPARE_WAIT_S = 120.0  # for the neural voice's prepared first pieces (~20 s on idle cores)  # the "user": a different voice from the persona


def _espeak(text: str, voice: str = USER_VOICE[0], rate_wpm: int = USER_VOICE[1]) -> np.ndarray:
    """espeak-ng speech for `text`, float32 mono at 16 kHz (the CLI: independent of tts.py)."""
    import subprocess
    import tempfile

    import soundfile as sf
    import soxr

    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate_wpm), "-w", str(wav), text],
                       check=True, capture_output=True)
        audio, sr = sf.read(str(wav), dtype="float32")
    return soxr.resample(audio, sr, 16_000).astype(np.float32)


def _voiced(audio: np.ndarray) -> tuple[int, int]:
    """First and last+1 sample of the 10 ms windows above -40 dBFS."""
    fr = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    db = 20 * np.log10(np.sqrt((fr**2).mean(axis=1)) + 1e-9)
    idx = np.where(db > -40)[0]
    return int(idx[0]) * 160, (int(idx[-1]) + 1) * 160


def paused_clip(parts: list) -> tuple[np.ndarray, float, float]:
    """A reply with spliced pauses: (audio at 16 kHz, start of its last segment's speech,
    end of its speech), times in seconds from the clip start. Each segment is trimmed to its
    voiced part, so a pause is exactly the silence spliced in."""
    chunks, t, last_start = [], 0, 0
    for part in parts:
        if isinstance(part, str):
            audio = _espeak(part)
            a, b = _voiced(audio)
            last_start = t
            chunks.append(audio[a:b])
            t += b - a
        else:
            n = int(round(part * 16_000))
            chunks.append(np.zeros(n, np.float32))
            t += n
    return np.concatenate(chunks), last_start / 16_000, t / 16_000


def _speech_end_s(audio: np.ndarray) -> float:
    """Seconds from the clip start to the end of its last 10 ms window above -40 dBFS."""
    fr = audio[: len(audio) // 160 * 160].reshape(-1, 160)
    db = 20 * np.log10(np.sqrt((fr**2).mean(axis=1)) + 1e-9)
    return (np.where(db > -40)[0][-1] + 1) / 100


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(np.floor(k)), int(np.ceil(k))
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class _Persona:
    """The reply choice: a real Conversation with a shipped persona, restarted when it ends,
    and the persona's voice (`neural`: its piper voice, as a round speaks it; else espeak-ng)."""

    def __init__(self, persona_id: str = "dana", neural: bool = False):
        from trainer.conversation import Conversation
        from trainer.personas import load_persona
        from trainer.round_setup import meaning_router
        from trainer.speech.tts import NeuralVoice, Voice

        self._conv_cls = Conversation
        self.persona = load_persona(persona_id)
        # understanding by meaning, as a round has it once loaded (round_setup.RouterLoader)
        self.router = meaning_router(self.persona)
        v = self.persona.voice
        self.voice = (NeuralVoice(v.piper_voice, v.rate_wpm, speaker=v.speaker) if neural
                      else Voice(v.id, v.rate_wpm))
        self._new()

    def prepare(self, wait_s: float) -> float:
        """As a round does once its opener plays: a neural voice synthesises the first pieces
        of the persona's lines in the background (NeuralVoice.prepare). Waits until it is done
        (at most `wait_s`; a round has the opener and the first replies for it, and it goes on
        while the user talks); the seconds it took."""
        from trainer.practice import _spoken_lines

        t0 = time.monotonic()
        if hasattr(self.voice, "prepare"):
            self.voice.prepare(_spoken_lines(self.persona))
            while self.voice._preparer.is_alive() and time.monotonic() - t0 < wait_s:
                time.sleep(0.2)
        return time.monotonic() - t0

    def _new(self):
        self.conv = self._conv_cls(self.persona, seed=len(REPLIES), router=self.router)
        self.last_line = " ".join(line.text for line in self.conv.start())

    def prepare_draft(self, result) -> None:
        """The draft worker's speculative analysis, as in a round (practice.Round
        ._make_speculative): the draft's sentence vectors, computed during the silence."""
        self.conv.prepare(getattr(result, "text", "") or "")

    def next_lines(self, text: str) -> list[str]:
        reply = self.conv.respond(text)
        if not reply.lines or self.conv.finished:
            self._new()
            if not reply.lines:
                reply = self.conv.respond(text)
        self.last_line = reply.lines[0].text  # what the user answers next
        return [line.text for line in reply.lines]


def _speak(player, voice, lines: list[str]):
    """Start saying a reply the way a round does (practice.Round._feed: synthesised piece by
    piece into a StreamingPlayback, in a thread): (playback, when its first audio was
    appended, a dict filled by the feeder)."""
    import threading

    pb = player.start_stream()
    first: dict[str, float] = {}

    def feed():
        try:
            for i, text in enumerate(lines):
                if i:
                    pb.append(np.zeros(int(0.3 * pb.sample_rate_hz), np.float32),
                              pb.sample_rate_hz)
                for audio, sr in voice.stream(text):
                    pb.append(audio, sr)
                    first.setdefault("t", time.monotonic())
                    if pb.stopped:
                        return
        finally:
            pb.end_input()

    threading.Thread(target=feed, name="bench-voice-feed", daemon=True).start()
    return pb, first


def _turn(va, src, clip, truth_end_s, transcribe, persona, player, context: str,
          adaptive: bool) -> dict:
    """One reply into the microphone and the persona's answer; raw stage times.

    `truth_end_s`: where the reply's speech ends in `clip`. A turn confirmed before then is a
    cut-off: no reply is played for it, and the rest of the clip is let out first.
    """
    from trainer.speech.sources import (
        RECHECK_BEAM_SIZE,
        AdaptiveEndOfTurn,
        SpeculativeTranscriber,
    )
    from trainer.turn_end import draft_judge

    drafts: list[tuple[float, float]] = []  # (started, finished) of each transcription

    def timed(audio):
        t0 = time.monotonic()
        try:
            return transcribe(audio)
        finally:
            drafts.append((t0, time.monotonic()))

    spec = SpeculativeTranscriber(timed, analyse_fn=persona.prepare_draft)
    policy = AdaptiveEndOfTurn(
        spec, draft_judge(context),
        recheck=lambda audio: transcribe(audio, beam_size=RECHECK_BEAM_SIZE)) if adaptive else None
    spoken = va.say(clip, at_mono=time.monotonic() + 0.4)
    try:
        # As a round listens (practice.Round._listen): the policy starts each pause's draft;
        # the fixed rule has no policy, so the pause callback starts it. Both at once would
        # draft every pause twice, the second waiting for the first on the one draft worker.
        utt = src.listen(on_pause=None if adaptive else spec.on_pause, end_of_turn=policy)
        t_end = time.monotonic()
        if utt.timed_out or spoken.start_mono is None:
            raise RuntimeError(f"the benchmark reply was not heard ({utt})")
        truth_end = spoken.start_mono + truth_end_s
        if t_end < truth_end:  # the persona would have started while the user was speaking
            spoken.wait(len(clip) / 16_000 + 5)
            time.sleep(0.3)
            return {"cut": True, "verdicts": [(r.text if r else "", round(w, 2))
                                              for r, w in policy.verdicts] if policy else []}
        text = spec.transcribe(utt.audio).text
        t_asr = time.monotonic()
    finally:
        spec.close()
    lines = persona.next_lines(text)
    t_choice = time.monotonic()
    pb, fed = _speak(player, persona.voice, lines)
    deadline = time.monotonic() + 3
    while pb.first_mono is None and time.monotonic() < deadline:
        time.sleep(0.002)
    first = pb.first_mono
    pb.stop()
    pb.wait()
    if first is None:
        raise RuntimeError("the persona's reply never reached the speaker")
    t_synth = fed.get("t", first)
    return {
        "cut": False,
        "total": first - truth_end,
        "endpoint": t_end - truth_end,
        "transcription": t_asr - t_end,
        "choice": t_choice - t_asr,
        "synthesis": t_synth - t_choice,
        "audio_out": first - t_synth,
        "draft_used": bool(spec.last_reused),
        # the last transcription: when it finished after the end of speech, and its length
        "draft_ready": drafts[-1][1] - truth_end if drafts else None,
        "draft_s": drafts[-1][1] - drafts[-1][0] if drafts else None,
        # every transcription of the turn, (start, end) from the end of speech, and where the
        # endpointer put the end of speech (its VAD's view through the microphone)
        "drafts": [(round(a - truth_end, 3), round(b - truth_end, 3)) for a, b in drafts],
        "detected_end": round(utt.end_s - src.clock.from_mono(truth_end), 3),
        "verdicts": [(r.text if r else "", round(w, 2)) for r, w in policy.verdicts]
        if policy else [],
    }


def measure(turns: int, paused: list[int], neural: bool = True
            ) -> dict[str, dict[str, list[dict]]]:
    """`turns` finished replies and the PAUSED_REPLIES at indexes `paused`, each heard by the
    product and by the baseline (and the finished ones by the neural arm), interleaved turn
    by turn; raw stage times per arm and set."""
    from benchmarks.pulse import VirtualAudio
    from trainer.speech.asr import load_transcriber
    from trainer.speech.endpoint import EndpointOptions
    from trainer.speech.playback import Player, RoundClock
    from trainer.speech.sources import MicSource

    tr = load_transcriber("faster-whisper")

    def transcribe(audio, beam_size=None):
        return tr.transcribe(audio, sample_rate_hz=16_000, beam_size=beam_size)

    finished = []
    for text in REPLIES:
        clip = _espeak(text)
        finished.append((clip, _speech_end_s(clip)))
    pauses = [paused_clip(parts) for _, _, parts in PAUSED_REPLIES]
    personas = {"product": _Persona(), "baseline": None, "neural": None}
    if neural:
        personas["neural"] = _Persona(NEURAL_PERSONA, neural=True)
    personas["baseline"] = personas["product"]  # the same conversation, turn by turn
    prepare_s = personas["neural"].prepare(PREPARE_WAIT_S) if neural else 0.0
    transcribe(finished[0][0])  # warm the model up outside the measurement
    out: dict[str, dict[str, list[dict]]] = {
        arm: {"finished": [], "paused": []} for arm in ARMS}
    with VirtualAudio() as va:
        va.activate()
        clock = RoundClock()
        player = Player(clock=clock)
        player.open()
        src = MicSource(clock=clock, options=EndpointOptions(no_reply_timeout_s=5.0))
        try:
            for i in range(max(turns, len(paused))):
                jobs = []
                if i < turns:
                    clip, end = finished[i % len(finished)]
                    # every arm judges the end of the turn against the same persona line
                    # (Dana's), so the neural arm differs from the product by its voice only
                    context = personas["product"].last_line
                    for arm in ("product", "baseline", "neural") if neural else ARMS[:2]:
                        jobs.append((arm, "finished", i, clip, end, context))
                if i < len(paused):  # the cut-offs are the end of turn's, whatever the voice
                    k = paused[i]
                    clip, _, end = pauses[k]
                    for arm in ("product", "baseline"):
                        jobs.append((arm, "paused", k, clip, end, PAUSED_REPLIES[k][1]))
                for arm, kind, case, clip, end, context in jobs:
                    persona = personas[arm]
                    row = _turn(va, src, clip, end, transcribe, persona, player, context,
                                adaptive=arm != "baseline")
                    row["case"] = case
                    out[arm][kind].append(row)
                    src.close()  # one open microphone at a time; nothing left over
        finally:
            src.close()
            player.close()
    if neural:
        v = personas["neural"].voice
        out["neural"]["prepared"] = [{"pieces": v.prepared(), "used": v.prepared_used,
                                      "seconds": prepare_s}]
    return out


def figures(quick: bool = False) -> list[dict]:
    """Turn-latency and cut-off figures (see the module docstring); quick: 4 finished and 6
    paused replies (one of each kind), else all of both sets (22 and 24).

    Quick keeps `scripts/bench --quick` under 2 minutes (5 turns took 55 s of its 111 s).
    """
    turns = 4 if quick else len(REPLIES)
    kinds = list(dict.fromkeys(kind for kind, _, _ in PAUSED_REPLIES))
    paused = ([next(i for i, r in enumerate(PAUSED_REPLIES) if r[0] == k) for k in kinds]
              if quick else list(range(len(PAUSED_REPLIES))))
    raw = measure(turns, paused)
    if os.environ.get("TRAINER_BENCH_RAW"):  # every turn's stage times, for a closer look
        Path(os.environ["TRAINER_BENCH_RAW"]).write_text(json.dumps(raw, indent=1))

    def ok(arm, kind):
        return [r for r in raw[arm][kind] if not r["cut"]]

    def stage(rows, key, q=0.5):
        return _pct([r[key] for r in rows], q) if rows else float("nan")

    def slowest(rows, k=2):
        """The k slowest turns, each with the draft that ended it and its wait: what p95 is."""
        top = sorted(rows, key=lambda r: -r["total"])[:k]
        return "; ".join(f"{r['total']:.2f} s after "
                         f"{(r['verdicts'][-1][0] if r.get('verdicts') else '')!r} (waits "
                         f"{[w for _, w in r.get('verdicts') or []]})" for r in top)

    p, b = ok("product", "finished"), ok("baseline", "finished")
    note = (f"{turns} finished replies, each heard by both, through the virtual mic; "
            "baseline: today's fixed 0.7 s silence (same speculative tiny.en)")
    figs = [
        {"name": "turn latency p50 (end of speech -> persona audio)", "unit": "s",
         "value": round(stage(p, "total"), 3), "baseline": round(stage(b, "total"), 3),
         "note": note + "; goal <= 0.6 s"},
        {"name": "turn latency p95 (end of speech -> persona audio)", "unit": "s",
         "value": round(stage(p, "total", 0.95), 3),
         "baseline": round(stage(b, "total", 0.95), 3),
         "note": note + f"; goal <= 0.8 s; slowest: {slowest(p)}"},
    ]
    for key, label in [("endpoint", "endpoint wait"), ("transcription", "transcription after "
                       "the endpoint"), ("choice", "reply choice"), ("synthesis", "synthesis"),
                       ("audio_out", "audio out (play -> first sample)")]:
        figs.append({"name": f"turn latency stage: {label}, p50", "unit": "s",
                     "value": round(stage(p, key), 3), "baseline": round(stage(b, key), 3),
                     "note": "product vs baseline, same turns"})
    n = ok("neural", "finished")
    if n:
        prep = raw["neural"]["prepared"][0]
        nnote = (f"{len(n)} of the same finished replies, adaptive end of turn, answered by "
                 f"{NEURAL_PERSONA} in the neural voice (piper, streamed as a round does; "
                 f"{prep['pieces']} first pieces prepared in {prep['seconds']:.0f} s, "
                 f"{prep['used']} replies started from one); baseline: the product with "
                 "espeak-ng (Dana), same run")
        for q, label, goal in ((0.5, "p50", 0.6), (0.95, "p95", 0.8)):
            figs.append({"name": f"turn latency {label}, neural voice", "unit": "s",
                         "value": round(stage(n, "total", q), 3),
                         "baseline": round(stage(p, "total", q), 3),
                         "note": f"{nnote}; goal <= {goal} s"
                                 + (f"; slowest: {slowest(n)}" if q > 0.5 else "")})
        figs.append({"name": "turn latency stage: endpoint wait, neural voice, p50",
                     "unit": "s", "value": round(stage(n, "endpoint"), 3),
                     "baseline": round(stage(p, "endpoint"), 3),
                     "note": "the same end of turn as the product (same replies and persona "
                             "line): differences are the machine's load"})
        for q, label in ((0.5, "p50"), (0.95, "p95")):
            figs.append({"name": f"turn latency stage: synthesis, neural voice, {label}",
                         "unit": "s", "value": round(stage(n, "synthesis", q), 3),
                         "baseline": round(stage(p, "synthesis", q), 3),
                         "note": "reply chosen -> first audio appended (the first piece); "
                                 "baseline espeak-ng"})
    used = sum(r["draft_used"] for r in p)
    figs.append({"name": "turn latency: speculative transcripts used", "unit": "%",
                 "value": round(100 * used / max(1, len(p)), 1), "baseline": None,
                 "note": "drafts started in the silence and kept when the turn ended there"})
    # premature cut-offs on the replies with mid-reply pauses
    cuts = {arm: [r["cut"] for r in raw[arm]["paused"]] for arm in ("product", "baseline")}
    by_kind: dict[str, list[int]] = {}
    for arm_i, arm in enumerate(("product", "baseline")):
        for r in raw[arm]["paused"]:
            kind = PAUSED_REPLIES[r["case"]][0]
            by_kind.setdefault(kind, [0, 0])[arm_i] += int(r["cut"])
    per_kind = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in by_kind.items())
    cut_cases = "; ".join(f"{PAUSED_REPLIES[r['case']][2][0]!r} heard as "
                          f"{r['verdicts'][-1][0]!r}" if r.get("verdicts") else
                          repr(PAUSED_REPLIES[r["case"]][2][0])
                          for r in raw["product"]["paused"] if r["cut"])
    figs.append({"name": "premature cut-offs (replies with mid-reply pauses)", "unit": "%",
                 "value": round(100 * sum(cuts["product"]) / len(paused), 1),
                 "baseline": round(100 * sum(cuts["baseline"]) / len(paused), 1),
                 "note": f"{sum(cuts['product'])} vs {sum(cuts['baseline'])} of {len(paused)} "
                         f"replies cut before their last word (product/baseline by kind: "
                         f"{per_kind}); must not rise; side by side with turn latency p50 "
                         f"{stage(p, 'total'):.3f} vs {stage(b, 'total'):.3f} s; product "
                         f"cut: {cut_cases or 'none'}"})
    pp, pb_ = ok("product", "paused"), ok("baseline", "paused")
    figs.append({"name": "turn latency p50, replies with mid-reply pauses", "unit": "s",
                 "value": round(stage(pp, "total"), 3), "baseline": round(stage(pb_, "total"), 3),
                 "note": f"from the reply's real end, turns not cut off ({len(pp)} vs "
                         f"{len(pb_)})"})
    for f in figs:
        if f["baseline"]:
            f["ratio"] = round(f["value"] / f["baseline"], 3)
    return figs


if __name__ == "__main__":
    print(json.dumps(figures(quick="--quick" in sys.argv), indent=2))
