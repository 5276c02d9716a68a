"""Start-up and memory of `trainer practice`, measured on the real command.

- **Command -> first persona audio**: `trainer practice --input mic` runs against a private
  PulseAudio daemon (benchmarks/pulse.py: a null-sink speaker and a FIFO microphone). The
  clock starts just before the process is launched and stops when the first sample of the
  persona's opener reaches the speaker: the practice code logs that moment from PortAudio's DAC
  time (`TRAINER_TRACE`, event `first_audio`), and the speaker's monitor recording confirms it.
  Baseline, in the same run: `--load-model-first`, the sequential way (load the speech model,
  then open the speaker and speak). Then Ctrl-C ends the round. The usual way loads the model
  while the speaker's new PulseAudio stream gets going (~1-2 s here), so the two overlap.
- **Peak memory of a long round**: 20 spoken replies (espeak-ng WAVs, through the same
  end-of-turn detector and tiny.en as the microphone) offered to `trainer practice --input
  FILE.wav ... --max-turns 20`; the persona ends the round when it has run its course. Peak RSS
  of the process tree, sampled from /proc every 50 ms, and the main process's own maximum from
  wait4(). Goal (issue 7): <= 600 MB with tiny.en.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PERSONA = "dana"
GOAL_MB = 600.0


def _practice(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "trainer", "practice", *args], cwd=ROOT,
                            env={**os.environ, **env}, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def _events(trace: Path, name: str) -> list[dict]:
    from trainer.round_setup import read_trace

    return read_trace(trace, name)


def _first_sound_mono(va, start_mono: float, end_mono: float, floor_db: float = -45.0):
    """Monotonic time of the first 10 ms on the virtual speaker louder than `floor_db`."""
    audio, t0 = va.speaker_audio(start_mono, end_mono)
    n = len(audio) // 160 * 160
    if not n:
        return None
    frames = audio[:n].reshape(-1, 160)
    db = 20 * np.log10(np.sqrt((frames**2).mean(axis=1)) + 1e-9)
    loud = np.where(db > floor_db)[0]
    return None if not len(loud) else t0 + loud[0] / 100.0


def first_audio_s(va, sequential: bool) -> tuple[float, float | None, float | None]:
    """One launch: (seconds to first audio by the trace, by the speaker, to model ready)."""
    with tempfile.TemporaryDirectory(prefix="trainer-bench-") as tmp:
        trace = Path(tmp) / "trace.jsonl"
        args = ["--persona", PERSONA, "--seed", "1", "--input", "mic"]
        if sequential:
            args.append("--load-model-first")
        env = {**va.env(), "TRAINER_HOME": str(Path(tmp) / "home"), "TRAINER_TRACE": str(trace)}
        t_wall, t_mono = time.time(), time.monotonic()
        proc = _practice(args, env)
        try:
            deadline = time.monotonic() + 120
            while not _events(trace, "first_audio"):
                if proc.poll() is not None:
                    raise RuntimeError(f"practice exited early: {proc.stderr.read()[-500:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError("no first_audio event within 120 s")
                time.sleep(0.05)
            heard = _events(trace, "first_audio")[0]["t_heard"]
            ready = _events(trace, "model_ready")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)  # Ctrl-C: the round ends as interrupted
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        speaker = _first_sound_mono(va, t_mono, t_mono + (heard - t_wall) + 2.0)
        return (heard - t_wall,
                None if speaker is None else speaker - t_mono,
                ready[0]["t"] - t_wall if ready else None)


def _replies() -> list[str]:
    """20 replies a curious listener might give: the persona's topics, then follow-ups."""
    from trainer.personas import load_persona

    persona = load_persona(PERSONA)
    asks = [t.asks[i] for i in range(2) for t in persona.topics if len(t.asks) > i]
    follow = ["What was that like for you?", "How did that come about?",
              "What surprised you most about that?", "Why was that?"]
    out = [f"Hello, I'm Sam, nice to meet you, {persona.first_name}. {asks[0]}"]
    i = 1
    while len(out) < 20:
        out.append(follow[len(out) % len(follow)] if len(out) % 2 == 0 else asks[i % len(asks)])
        i += 1
    return out


def _write_reply_wavs(folder: Path) -> list[Path]:
    import soundfile as sf

    paths = []
    for i, text in enumerate(_replies()):
        raw = folder / f"raw-{i:02d}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(raw), text],
                       check=True, capture_output=True)
        audio, sr = sf.read(raw, dtype="float32")
        pad = np.zeros(int(0.5 * sr), np.float32)
        path = folder / f"reply-{i:02d}.wav"
        sf.write(path, np.concatenate([pad, audio, pad, pad]), sr, subtype="PCM_16")
        paths.append(path)
    return paths


def _tree_rss_kb(pid: int) -> int:
    """RSS of a process and all its descendants, in kB (from /proc)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return total


def round_memory(engine: str | None = None) -> tuple[float, float, int, int, float]:
    """A long WAV round: (peak tree RSS MB, main process max RSS MB, replies, turns, seconds)."""
    with tempfile.TemporaryDirectory(prefix="trainer-bench-") as tmp:
        tmpdir = Path(tmp)
        paths = _write_reply_wavs(tmpdir)
        home = tmpdir / "home"
        args = ["--persona", PERSONA, "--seed", "1", "--no-voice", "--max-turns", "20",
                "--input", *map(str, paths)]
        if engine:
            args += ["--engine", engine]
        t0 = time.monotonic()
        proc = _practice(args, {"TRAINER_HOME": str(home)})
        peak_kb = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak_kb = max(peak_kb, _tree_rss_kb(proc.pid))
            time.sleep(0.05)
        seconds = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise RuntimeError(f"practice failed ({proc.returncode}): "
                               f"{proc.stderr.read()[-500:]}")
        from trainer.store import Store

        rec = Store(home).list_sessions()[-1]
        main_kb = usage.ru_maxrss  # Linux: kilobytes
        return (max(peak_kb, main_kb) / 1024, main_kb / 1024, rec.user_turns, rec.turns, seconds)


def round_memory_fresh(engine: str | None = None) -> tuple[float, float, int, int, float]:
    """round_memory, launched from a small fresh process: the round's wait4() maximum RSS
    carries over the high-water mark of the process it was forked from (Linux keeps it across
    exec), and by now this benchmark process holds models of its own (a full run read 725 MB
    for a round that peaks near 450 MB launched fresh; see benchmarks/voice.py)."""
    import json

    code = ("import json, sys; sys.path.insert(0, '.'); from benchmarks.startup import "
            f"round_memory; print(json.dumps(round_memory({engine!r})))")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return tuple(json.loads(res.stdout.strip().splitlines()[-1]))


def figures(quick: bool) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from benchmarks.pulse import VirtualAudio

    repeats = 1 if quick else 3
    out: list[dict] = []
    with VirtualAudio() as va:
        runs = {False: [], True: []}
        # One launch of each first, not counted: the first run after an install or an edit
        # compiles .pyc files and reads the libraries from disk (measured ~2 s more).
        for sequential in (False, True):
            first_audio_s(va, sequential)
        for _ in range(repeats):
            for sequential in (False, True):  # interleaved: both see the same machine load
                runs[sequential].append(first_audio_s(va, sequential))
    par = statistics.median(r[0] for r in runs[False])
    seq = statistics.median(r[0] for r in runs[True])
    spk = [r[1] for r in runs[False] if r[1] is not None]
    ready = [r[2] for r in runs[False] if r[2] is not None]
    out.append({
        "name": "startup.first_persona_audio_s", "value": round(par, 2), "unit": "s",
        "baseline": round(seq, 2),
        "note": f"command -> first sample at the (virtual) speaker, median of {repeats}; "
                f"speaker monitor says {statistics.median(spk):.2f} s" if spk else "",
    })
    if ready:
        out.append({
            "name": "startup.model_ready_s", "value": round(statistics.median(ready), 2),
            "unit": "s", "baseline": None,
            "note": "command -> tiny.en loaded and warm (in the background while the speaker "
                    "gets going)",
        })
    engines = [None] if quick else [None, "whisper"]
    for engine in engines:
        peak_mb, main_mb, replies, turns, secs = round_memory_fresh(engine)
        name = "startup.round_peak_rss_mb" + ("" if engine is None else f".{engine}")
        out.append({
            "name": name, "value": round(peak_mb, 1), "unit": "MB", "baseline": None,
            "note": f"{engine or 'faster-whisper'} tiny.en, {replies} replies / {turns} turns "
                    f"from WAVs in {secs:.0f} s; main process {main_mb:.0f} MB; "
                    f"goal <= {GOAL_MB:.0f} MB",
        })
    return out


if __name__ == "__main__":
    for fig in figures(quick="--quick" in sys.argv):
        print(fig)
