"""The benchmark harness behind scripts/bench.

Each module in benchmarks/ that defines `figures(quick: bool) -> list[dict]` contributes figures
({"name", "value", "unit", "baseline", "ratio", "note"}); baselines are measured in the same run
because these machines are shared and noisy. Prints one table and writes bench-results.json with
stable keys: figure name -> {value, unit, baseline, ratio, note}.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORDER = ["analysis", "routing", "store", "transcription", "latency", "startup", "voice"]


def machine() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def discover() -> list[str]:
    names = [p.stem for p in (ROOT / "benchmarks").glob("*.py")
             if p.stem not in {"__init__", "run"} and not p.stem.startswith("_")]
    found = []
    for name in names:
        text = (ROOT / "benchmarks" / f"{name}.py").read_text()
        if "def figures(" in text:
            found.append(name)
    return sorted(found, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v == 0:
            return "0"
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        return f"{v:.3g}"
    return str(v)


README_START, README_END = "<!-- bench-table -->", "<!-- /bench-table -->"


def markdown_table(doc: dict) -> str:
    """The README's Performance table: every figure with its same-run baseline and ratio."""
    m = doc["machine"]
    lines = [
        f"Measured {doc['generated_at'][:10]} ({'quick' if doc['quick'] else 'full'} run) on "
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}; "
        "baselines measured in the same run.",
        "",
        "| figure | value | unit | baseline | ratio |",
        "| --- | ---: | --- | ---: | ---: |",
    ]
    for name, r in doc["figures"].items():
        lines.append(f"| {name} | {fmt(r['value'])} | {r['unit']} | {fmt(r['baseline'])} | "
                     f"{fmt(r['ratio'])} |")
    return "\n".join(lines)


def write_readme_table(results: Path, readme: Path) -> None:
    """Replace the table between the bench-table markers in README.md."""
    doc = json.loads(results.read_text())
    text = readme.read_text()
    start = text.index(README_START) + len(README_START)
    end = text.find(README_END)
    tail = text[end:] if end >= 0 else "\n" + README_END + "\n"
    readme.write_text(text[:start] + "\n" + markdown_table(doc) + "\n" + tail)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats; under 2 minutes")
    ap.add_argument("--only", action="append", default=[], help="run only these modules")
    ap.add_argument("--out", default=str(ROOT / "bench-results.json"), help="JSON output path")
    ap.add_argument("--readme", action="store_true",
                    help="only rewrite README's Performance table from the JSON (no measuring)")
    args = ap.parse_args(argv)
    if args.readme:
        write_readme_table(Path(args.out), ROOT / "README.md")
        return 0

    sys.path.insert(0, str(ROOT))
    modules = args.only or discover()
    results: dict[str, dict] = {}
    failures: list[str] = []
    timings: dict[str, float] = {}
    for name in modules:
        t0 = time.perf_counter()
        print(f"== {name} ...", file=sys.stderr, flush=True)
        try:
            mod = importlib.import_module(f"benchmarks.{name}")
            for fig in mod.figures(quick=args.quick):
                value, baseline = fig.get("value"), fig.get("baseline")
                ratio = fig.get("ratio")
                if ratio is None and isinstance(value, int | float) and baseline:
                    ratio = value / baseline
                results[fig["name"]] = {
                    "value": value,
                    "unit": fig.get("unit", ""),
                    "baseline": baseline,
                    "ratio": ratio,
                    "note": fig.get("note", ""),
                    "module": name,
                }
        except Exception as exc:  # one broken module must not hide the others' figures
            failures.append(f"{name}: {exc}")
            traceback.print_exc()
        timings[name] = time.perf_counter() - t0
        print(f"   {name} took {timings[name]:.1f} s", file=sys.stderr, flush=True)

    doc = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine(),
        "module_seconds": {k: round(v, 1) for k, v in timings.items()},
        "failures": failures,
        "figures": results,
    }
    Path(args.out).write_text(json.dumps(doc, indent=2) + "\n")

    rows = [("figure", "value", "unit", "baseline", "ratio", "note")]
    for k, r in results.items():
        rows.append((k, fmt(r["value"]), r["unit"], fmt(r["baseline"]), fmt(r["ratio"]),
                     r["note"]))
    widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
    m = doc["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, "
          f"Python {m['python']}, {m['system']}")
    for i, row in enumerate(rows):
        cells = [str(c).ljust(widths[j]) if j == 0 else str(c).rjust(widths[j])
                 for j, c in enumerate(row[:5])]
        print("  ".join(cells) + ("  " + row[5] if row[5] else ""))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"wrote {args.out}", file=sys.stderr)
    if failures:
        print("failed: " + "; ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
