"""The persona's voice: how soon a reply sounds, how well it is understood, what it costs.

- **Time to first sample** of a persona reply, per engine: a reply is chosen (t0), synthesised
  the way a round does it (Round._feed: sentence by sentence into a StreamingPlayback) and
  played on the virtual speaker (benchmarks/pulse.py); the figure is t0 -> the first sample at
  the speaker (PortAudio's DAC time). This sits inside the turn latency. Engines: the neural
  voice (piper, en_US-joe-medium) streamed; the same with the replies' first pieces prepared
  ahead of time (NeuralVoice.prepare, as a round does with its persona's lines); espeak-ng
  (the baseline, whole line at once, as before); and the neural voice unstreamed (whole reply
  synthesised, then played) to show what streaming saves. Replies are the personas' own
  multi-sentence answers.
- **Intelligibility**: Whisper tiny.en's (faster-whisper, int8) word error rate on the
  personas' own lines (openers, answers, hook mentions) spoken by each engine, at each
  persona's rate; espeak-ng uses the persona file's espeak voice. Baseline: espeak-ng.
- **Load** of each voice, and **peak memory** of a whole round with the neural voice on
  (Marcus, replies from WAVs through the same end-of-turn detector and tiny.en as the
  microphone, the persona heard on the virtual speaker); goal <= 600 MB (issue 15). Launched
  from a small fresh process (see round_memory_fresh). The default persona (Dana, espeak-ng)
  is measured by benchmarks/startup.py.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

GOAL_MB = 600.0
NEURAL = "en_US-joe-medium"


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(np.floor(k)), int(np.ceil(k))
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def persona_lines(per_persona: int) -> dict[str, list[str]]:
    """Each persona's own lines: openers, topic answers, hook mentions (interleaved)."""
    from trainer.personas import list_personas

    out = {}
    for p in list_personas():
        pools = [[o.text for o in p.opener], [t.answers[0].text for t in p.topics],
                 [h.mentions[0] for h in p.hooks]]
        lines: list[str] = []
        i = 0
        while len(lines) < per_persona and any(i < len(pool) for pool in pools):
            lines += [pool[i] for pool in pools if i < len(pool)]
            i += 1
        out[p.id] = lines[:per_persona]
    return out


def replies(n: int) -> list[str]:
    """Multi-sentence persona replies (topic answers with two or more sentences)."""
    from trainer.personas import list_personas
    from trainer.speech.tts import speech_chunks

    out = []
    for p in list_personas():
        out += [a.text for t in p.topics for a in t.answers if len(speech_chunks(a.text)) >= 2]
    return out[:n]


# --- time to first sample ------------------------------------------------------------------------


def _feed(pb, voice, text: str) -> None:
    try:
        for audio, sr in voice.stream(text):
            pb.append(audio, sr)
            if pb.stopped:
                break
    finally:
        pb.end_input()


def first_sample_s(player, voice, text: str, streamed: bool) -> float:
    """Reply chosen -> its first sample at the speaker, in seconds (the reply is then cut)."""
    t0 = time.monotonic()
    if streamed:
        pb = player.start_stream()
        threading.Thread(target=_feed, args=(pb, voice, text), daemon=True).start()
    else:
        audio, sr = voice.synth(text)
        pb = player.start(audio, sr)
    deadline = time.monotonic() + 5
    while pb.first_mono is None and time.monotonic() < deadline:
        time.sleep(0.002)
    first = pb.first_mono
    pb.stop()
    pb.wait()
    if first is None:
        raise RuntimeError("the reply never reached the speaker")
    return first - t0


def measure_first_sample(n: int) -> dict[str, list[float]]:
    from benchmarks.pulse import VirtualAudio
    from trainer.speech.playback import Player, RoundClock
    from trainer.speech.tts import NeuralVoice, Voice

    neural = NeuralVoice(NEURAL, 160)
    prepared = NeuralVoice(NEURAL, 160)  # as in a round: first pieces made ahead of time
    espeak = Voice("en-gb", 160)
    texts = replies(n)
    prepared.prepare(texts)
    deadline = time.monotonic() + 120
    while prepared._preparer.is_alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    runs: dict[str, list[float]] = {"piper": [], "espeak": [], "piper_unstreamed": [],
                                    "piper_prepared": []}
    with VirtualAudio() as va:
        va.activate()
        with Player(clock=RoundClock()) as player:
            first_sample_s(player, neural, texts[0], True)  # warm the stream
            for text in texts:  # interleaved: every engine sees the same machine load
                runs["piper"].append(first_sample_s(player, neural, text, True))
                runs["espeak"].append(first_sample_s(player, espeak, text, True))
                runs["piper_unstreamed"].append(first_sample_s(player, neural, text, False))
                runs["piper_prepared"].append(first_sample_s(player, prepared, text, True))
    return runs


# --- intelligibility -----------------------------------------------------------------------------


def measure_wer(per_persona: int) -> dict:
    """WER per engine over every persona's lines, and per persona; plus synthesis speed."""
    import soxr

    from trainer.personas import load_persona
    from trainer.speech.asr import load_transcriber
    from trainer.speech.tts import NeuralVoice, Voice

    sys.path.insert(0, str(ROOT / "tests"))
    from speech_helpers import word_error_rate

    tr = load_transcriber("faster-whisper")
    lines = persona_lines(per_persona)
    refs: dict[str, list[str]] = {"piper": [], "espeak": []}
    hyps: dict[str, list[str]] = {"piper": [], "espeak": []}
    per: dict[str, dict[str, float]] = {}
    rtf: dict[str, list[float]] = {"piper": [], "espeak": []}
    for pid, texts in lines.items():
        p = load_persona(pid)
        voices = {"piper": NeuralVoice(NEURAL, p.voice.rate_wpm),
                  "espeak": Voice(p.voice.id, p.voice.rate_wpm)}
        per[pid] = {}
        for engine, voice in voices.items():
            heard = []
            for text in texts:
                t = time.perf_counter()
                audio, sr = voice.synth(text)
                rtf[engine].append((time.perf_counter() - t) / (len(audio) / sr))
                audio16 = soxr.resample(audio, sr, 16_000).astype(np.float32)
                heard.append(tr.transcribe(audio16, sample_rate_hz=16_000).text)
            refs[engine] += texts
            hyps[engine] += heard
            per[pid][engine] = word_error_rate(texts, heard)
        per[pid]["product"] = per[pid][p.voice.engine]
    return {"wer": {e: word_error_rate(refs[e], hyps[e]) for e in refs}, "per": per,
            "rtf": {e: statistics.median(v) for e, v in rtf.items()},
            "lines": sum(len(t) for t in lines.values())}


def measure_load(repeats: int = 3) -> dict[str, float]:
    """Seconds to a voice that has spoken its first word, in a fresh process each."""
    code = ("import time,sys; t=time.perf_counter(); from trainer.speech.tts import {cls}; "
            "{cls}({arg}); print(time.perf_counter()-t)")
    out = {}
    for engine, cls, arg in (("piper", "NeuralVoice", repr(NEURAL)),
                             ("espeak", "Voice", "'en-gb'")):
        runs = []
        for _ in range(repeats):
            res = subprocess.run([sys.executable, "-c", code.format(cls=cls, arg=arg)],
                                 cwd=ROOT, capture_output=True, text=True, check=True)
            runs.append(float(res.stdout.split()[-1]))
        out[engine] = statistics.median(runs)
    return out


# --- memory of a round with the neural voice -------------------------------------------------


def _marcus_replies(n: int) -> list[str]:
    from trainer.personas import load_persona

    p = load_persona("marcus")
    asks = [t.asks[0] for t in p.topics]
    follow = ["What was that like for you?", "How did that come about?",
              "What surprised you most about that?"]
    out = [f"Morning, I'm Sam, nice to meet you, Marcus. {asks[0]}"]
    i = 1
    while len(out) < n:
        out.append(follow[len(out) % len(follow)] if len(out) % 2 == 0 else asks[i % len(asks)])
        i += 1
    return out


def round_memory_neural(n_replies: int, voice: str = "persona") -> tuple:
    """A Marcus round with the voice on (`voice`: --voice): (peak tree RSS MB, user turns,
    turns, seconds, engine used, main process max MB, when the sampled peak was)."""
    import soundfile as sf

    from benchmarks.pulse import VirtualAudio
    from benchmarks.startup import _tree_rss_kb
    from trainer.store import Store

    with tempfile.TemporaryDirectory(prefix="trainer-bench-") as tmp, VirtualAudio() as va:
        folder = Path(tmp)
        paths = []
        for i, text in enumerate(_marcus_replies(n_replies)):
            raw = folder / f"raw-{i:02d}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(raw), text],
                           check=True, capture_output=True)
            audio, sr = sf.read(raw, dtype="float32")
            pad = np.zeros(int(0.5 * sr), np.float32)
            path = folder / f"reply-{i:02d}.wav"
            sf.write(path, np.concatenate([pad, audio, pad, pad]), sr, subtype="PCM_16")
            paths.append(str(path))
        home = folder / "home"
        trace = folder / "trace.jsonl"
        env = {**os.environ, **va.env(), "TRAINER_HOME": str(home), "TRAINER_TRACE": str(trace)}
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "trainer", "practice", "--persona", "marcus", "--seed", "1",
             "--max-turns", str(n_replies), "--voice", voice, "--input", *paths], cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        peak_kb, peak_wall = 0, 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            kb = _tree_rss_kb(proc.pid)
            if kb > peak_kb:
                peak_kb, peak_wall = kb, time.time()
            time.sleep(0.05)
        seconds = time.monotonic() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"practice failed: {proc.stderr.read()[-500:]}")
        rec = Store(home).list_sessions()[-1]
        engine = Store(home).load_session(rec.id).meta.get("voice_engine", "?")
        from trainer.round_setup import read_trace

        events = read_trace(trace)
        before = [e for e in events if e["t"] <= peak_wall]
        when = (f"sampled peak {peak_kb / 1024:.0f} MB {peak_wall - events[0]['t']:.1f} s in, "
                f"after {before[-1]['event']}" if before and events else "")
        return (max(peak_kb, usage.ru_maxrss) / 1024, rec.user_turns, rec.turns, seconds,
                engine, usage.ru_maxrss / 1024, when)


def round_memory_fresh(n_replies: int, voice: str = "persona") -> tuple:
    """round_memory_neural, run from a small fresh process.

    The practice process's wait4() maximum RSS counts the process it was forked from as it
    was at the fork (Linux carries the old memory's high-water mark over exec): launched from
    this benchmark process, which by now holds Whisper, torch and a voice, it read 730-960 MB
    for rounds whose sampled peak was ~530 MB.
    """
    import json

    code = ("import json, sys; sys.path.insert(0, '.'); from benchmarks.voice import "
            f"round_memory_neural; print(json.dumps(round_memory_neural({int(n_replies)}, "
            f"{voice!r})))")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return tuple(json.loads(res.stdout.strip().splitlines()[-1]))


def figures(quick: bool = False) -> list[dict]:
    """Voice figures (see the module docstring). Full: about 4 min. Quick (~40 s): fewer
    replies and lines, and no round (its memory is the full run's)."""
    n_replies = 3 if quick else 16
    per_persona = 1 if quick else 8
    figs: list[dict] = []

    runs = measure_first_sample(n_replies)
    note = (f"{n_replies} multi-sentence persona replies, reply chosen -> first sample at the "
            "virtual speaker; baseline espeak-ng (whole line, ~10 ms to synthesise)")
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        figs.append({"name": f"voice.first_sample_{label}.piper_streamed", "unit": "s",
                     "value": round(_pct(runs["piper"], q), 3),
                     "baseline": round(_pct(runs["espeak"], q), 3), "note": note})
    for q, label in ((0.5, "p50"), (0.95, "p95")):
        figs.append({"name": f"voice.first_sample_{label}.piper_prepared", "unit": "s",
                     "value": round(_pct(runs["piper_prepared"], q), 3),
                     "baseline": round(_pct(runs["espeak"], q), 3),
                     "note": "the same replies with their first pieces prepared ahead of time "
                             "(NeuralVoice.prepare, as a round does with the persona's lines); "
                             "baseline espeak-ng"})
    figs.append({"name": "voice.first_sample_p50.piper_unstreamed", "unit": "s",
                 "value": round(_pct(runs["piper_unstreamed"], 0.5), 3),
                 "baseline": round(_pct(runs["piper"], 0.5), 3),
                 "note": "the whole reply synthesised before it plays; baseline: streamed"})

    w = measure_wer(per_persona)
    figs.append({"name": "voice.wer.piper", "unit": "fraction",
                 "value": round(w["wer"]["piper"], 4), "baseline": round(w["wer"]["espeak"], 4),
                 "note": f"Whisper tiny.en on {w['lines']} persona lines per engine, each "
                         "at its persona's rate; baseline espeak-ng (persona's espeak voice)"})
    per_note = "; ".join(f"{pid} {v['piper']:.0%}/{v['espeak']:.0%}"
                         for pid, v in w["per"].items())
    figs.append({"name": "voice.wer.product_voices", "unit": "fraction",
                 "value": round(statistics.mean(v["product"] for v in w["per"].values()), 4),
                 "baseline": round(statistics.mean(v["espeak"] for v in w["per"].values()), 4),
                 "note": f"mean over personas, each in its own voice; piper/espeak: {per_note}"})
    figs.append({"name": "voice.synthesis_rtf.piper", "unit": "x",
                 "value": round(w["rtf"]["piper"], 3), "baseline": round(w["rtf"]["espeak"], 3),
                 "note": "synthesis time / audio length, median line; baseline espeak-ng"})

    load = measure_load(1 if quick else 3)
    figs.append({"name": "voice.load_s.piper", "unit": "s", "value": round(load["piper"], 2),
                 "baseline": round(load["espeak"], 2),
                 "note": "fresh process -> voice loaded and warm (in the background in a "
                         "round); baseline espeak-ng worker"})

    if quick:
        return _ratios(figs)
    peak, user_turns, turns, secs, engine, main_mb, when = round_memory_fresh(8)
    base = round_memory_fresh(8, "espeak")
    figs.append({"name": "voice.round_peak_rss_mb.piper", "unit": "MB", "value": round(peak, 1),
                 "baseline": round(base[0], 1),
                 "note": f"Marcus ({engine}), voice on, {user_turns} replies / {turns} turns "
                         f"from WAVs in {secs:.0f} s, faster-whisper tiny.en; {when}; "
                         f"baseline the same round with --voice espeak ({base[4]}); goal <= "
                         f"{GOAL_MB:.0f} MB"})
    return _ratios(figs)


def _ratios(figs: list[dict]) -> list[dict]:
    for f in figs:
        if f["baseline"]:
            f["ratio"] = round(f["value"] / f["baseline"], 3)
    return figs


if __name__ == "__main__":
    import json

    print(json.dumps(figures(quick="--quick" in sys.argv), indent=2))
