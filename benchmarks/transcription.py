"""Transcription speed, accuracy and memory per engine, against plain openai-whisper.

For each engine (and the baseline: openai-whisper's own `model.transcribe()` with its defaults
on the same converted tiny.en) a fresh subprocess loads the model, transcribes 2 s / 5 s / 15 s
replies synthesised with espeak-ng (two voices, two texts each; one text with --quick) `repeats` times, and reports
median seconds, real-time factor (seconds / audio seconds), WER (jiwer, Whisper's English
normaliser), load time and peak resident memory (getrusage ru_maxrss of that subprocess).
The machine is shared, so the baseline runs in the same session and ratio = ours / baseline.

    .venv/bin/python -m benchmarks.transcription [--quick]     # or scripts/bench
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Replies of about 2, 5 and 15 seconds at these voices and rates.
TEXTS = {
    "2s": ["Nice to meet you too.", "Is your team hiring?"],
    "5s": [
        "I'd love to hear more about the mentoring program you mentioned earlier.",
        "Could we grab a coffee next week to continue this conversation?",
    ],
    "15s": [
        "I work on data pipelines at a logistics company. Most of my day goes into making "
        "sure the warehouse numbers arrive on time, and lately I have been helping our "
        "drivers with a new routing app. How did you get into climate work?",
        "Thanks for explaining the volunteer program. I have a free Saturday every month "
        "and some experience with spreadsheets, so I could help with the donation records. "
        "Who should I talk to if I want to sign up for the next shift?",
    ],
}
VOICES = [("en-us", 160), ("en-gb-x-rp", 150)]
WORKERS = ("faster-whisper", "whisper", "baseline")


def _clips(quick: bool):
    """(length, text, audio) for every text and voice; quick takes the first text per length."""
    sys.path.insert(0, str(ROOT / "tests"))
    from speech_helpers import synth

    return [(length, text, synth(text, voice, rate))
            for length, texts in TEXTS.items() for text in texts[: 1 if quick else None]
            for voice, rate in VOICES]


def _median(values: list[float]) -> float:
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def worker(kind: str, repeats: int, quick: bool) -> dict:
    """Runs in its own process: load, transcribe every clip `repeats` times, report."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from speech_helpers import word_error_rate

    clips = _clips(quick)
    started = time.perf_counter()
    if kind == "baseline":
        import whisper

        from trainer.speech.convert import converted_checkpoint
        from trainer.speech.models import bundled_model_dir

        model = whisper.load_model(str(converted_checkpoint(bundled_model_dir(), "tiny.en")),
                                   device="cpu")

        def run(audio):
            # openai-whisper's defaults; fp16=False only silences its "FP16 is not supported
            # on CPU" warning (it falls back to fp32 anyway).
            return model.transcribe(audio, fp16=False)["text"]
    else:
        from trainer.speech.asr import load_transcriber

        transcriber = load_transcriber(kind)

        def run(audio):
            return transcriber.transcribe(audio).text
    load_s = time.perf_counter() - started

    seconds: dict[str, list[float]] = {length: [] for length in TEXTS}
    durations: dict[str, list[float]] = {length: [] for length in TEXTS}
    refs, hyps = [], []
    for rep in range(repeats):
        for length, text, audio in clips:
            t0 = time.perf_counter()
            hyp = run(audio)
            seconds[length].append(time.perf_counter() - t0)
            if rep == 0:
                durations[length].append(len(audio) / 16000)
                refs.append(text)
                hyps.append(hyp)
    return {
        "load_s": load_s,
        "per_length": {
            length: {"median_s": _median(seconds[length]),
                     "audio_s": _median(durations[length])}
            for length in TEXTS
        },
        "wer": word_error_rate(refs, hyps),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "repeats": repeats,
        "clips": len(clips),
    }


def _run_worker(kind: str, repeats: int, quick: bool, home: str) -> dict:
    env = dict(os.environ, TRAINER_HOME=home, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.transcription", "--worker", kind,
         "--repeats", str(repeats), *(["--quick"] if quick else [])],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} worker failed: {out.stderr.strip()[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def figures(quick: bool) -> list[dict]:
    """Per engine: median s and RTF for 2/5/15 s replies, WER, load time, peak memory."""
    from trainer.speech.asr import DEFAULT_ENGINE

    repeats = 1 if quick else 7  # quick: one pass, so scripts/bench --quick stays under 2 min
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as home:
        # convert once up front, so no load time below includes the one-off conversion
        subprocess.run([sys.executable, "-c",
                        "from trainer.speech.convert import converted_checkpoint;"
                        "from trainer.speech.models import bundled_model_dir;"
                        "converted_checkpoint(bundled_model_dir(), 'tiny.en')"],
                       env=dict(os.environ, TRAINER_HOME=home), cwd=ROOT, check=True)
        results = {kind: _run_worker(kind, repeats, quick, home) for kind in WORKERS}
    load_after = os.getloadavg()[0]
    base = results["baseline"]
    per_length = len(VOICES) * (1 if quick else 2)
    note_base = (f"median of {repeats} runs x {per_length} clips; baseline: openai-whisper "
                 f"model.transcribe() defaults; load avg {load_before:.1f}->{load_after:.1f}")
    figs: list[dict] = []

    def fig(name, value, unit, baseline, note=note_base):
        ratio = value / baseline if isinstance(value, float) and baseline else None
        figs.append({"name": name, "value": round(value, 4) if isinstance(value, float)
                     else value, "unit": unit,
                     "baseline": round(baseline, 4) if baseline is not None else None,
                     "ratio": round(ratio, 3) if ratio is not None else None, "note": note})

    for engine in ("faster-whisper", "whisper"):
        r = results[engine]
        for length in TEXTS:
            ours, theirs = r["per_length"][length], base["per_length"][length]
            fig(f"transcription.{engine}.{length}.median_s", ours["median_s"], "s",
                theirs["median_s"])
            fig(f"transcription.{engine}.{length}.rtf", ours["median_s"] / ours["audio_s"],
                "x", theirs["median_s"] / theirs["audio_s"],
                note=f"audio {ours['audio_s']:.1f} s; seconds per second of audio")
        fig(f"transcription.{engine}.wer", r["wer"], "fraction", base["wer"],
            note=f"{r['clips']} clips, jiwer after Whisper's English normaliser")
        fig(f"transcription.{engine}.load_s", r["load_s"], "s", base["load_s"],
            note="load + warm-up (ours) vs whisper.load_model (baseline); conversion cached")
        fig(f"transcription.{engine}.peak_rss_mb", r["peak_rss_mb"], "MiB",
            base["peak_rss_mb"], note="ru_maxrss of a subprocess that loads and transcribes")
    fw5 = results["faster-whisper"]["per_length"]["5s"]["median_s"]
    ow5 = results["whisper"]["per_length"]["5s"]["median_s"]
    fig("transcription.whisper_over_faster_whisper.5s", ow5 / fw5, "x", None,
        note="goal <= 1.5")
    figs.append({"name": "transcription.default_engine", "value": DEFAULT_ENGINE, "unit": "",
                 "baseline": None, "ratio": None,
                 "note": "faster engine on the 5 s reply: "
                 + ("faster-whisper" if fw5 <= ow5 else "whisper")})
    return figs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--worker", choices=WORKERS)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.repeats, args.quick)))
        return 0
    for f in figures(args.quick):
        ratio = f"  ratio {f['ratio']}" if f["ratio"] is not None else ""
        print(f"{f['name']:<52} {f['value']!s:>10} {f['unit']:<8} base {f['baseline']}{ratio}"
              f"  ({f['note']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
