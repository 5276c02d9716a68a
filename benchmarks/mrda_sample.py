"""Build benchmarks/data/mrda_questions.tsv (local, gitignored) from the ICSI Meeting Recorder
Dialog Act corpus (MRDA) as the snapshot of github:NathanDuran/MRDA-Corpus holds it.

The corpus text is never committed (it came through the workplace's repository snapshot tool):
this script is, so that anyone with the snapshot builds the same file.

    python -m benchmarks.mrda_sample [--source /work/.mirror/NathanDuran+MRDA-Corpus/repo]

`--source` is the snapshot's git directory (read with `git show HEAD:...`) or a checkout of the
repository. It reads `mrda_archive/transcripts/<meeting>.trans` (segment id, text, original
text) and `mrda_archive/database/<meeting>.dadb` (times, segment id, DA label in column 6,
speaker in column 8), the corpus's own files, not the repository's processed splits (those keep
only the first specific tag of a label and drop what a question needs: "qy^d^g" is a tag
question, "qy^bh" a back-channel).

What "question" means (the Switchboard-DAMSL convention that MRDA follows, and ours):
- a segment's label may hold several acts ("b|qy^rt"): the segment is a question when any of
  its acts is one;
- of an act, only what the speaker says counts: the part after ":" (a quoted act) is dropped
  ("s:qy", a statement quoting a question, is no question);
- a disruption form (".%-" interrupted, ".%--" abandoned) keeps the act's tag: a question broken
  off is still a question (our convention for AMI and chat);
- an act is a question when its general tag is qy (yes/no), qw (wh), qo (open), qr (or), qrr
  (or-clause), qh (rhetorical), or when its specific tags hold d (declarative question), g (tag
  question) or br (signal of non-understanding: "what", "sorry": repair requests are questions
  in our convention);
- but an act tagged bh (a back-channel in question form: "is that right", "really") is no
  question (our convention, as Switchboard's "bh"), nor is s^bu (an understanding check the
  labellers heard as a statement) or anything else.

Sampling: the 75 meetings sorted, shuffled with random.Random(13), alternately dev and test
(whole meetings: no meeting is in both splits; the same regular speakers recur in meetings of
one series, Bmr, Bro, Bed..., in both). From each meeting PER_MEETING segments drawn with
random.Random(13 + index) among the labelled ones (not "z", unlabelled; not "x", non-verbal;
not a task read aloud in capitals) with two words or more left after cleaning (see `_usable`):
the natural share of questions among them. Each with `partner`, the last segment said before it
(by start time) by another speaker, cleaned the same way.

Cleaning, as an ASR transcript would look: lower-case, punctuation gone ("?" too), MRDA's
disfluency marks gone ("-" restarts, "==" breaks, "|" act boundaries, "@..@" marks,
"BLEEPED"), broken-off word fragments ("th-", "i-") dropped, the words otherwise as transcribed
(repeated words, fillers "uh", "um" stay).
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "data" / "mrda_questions.tsv"
DEFAULT_SOURCE = Path("/work/.mirror/NathanDuran+MRDA-Corpus/repo")
PER_MEETING = 80
MIN_WORDS = 2  # as the AMI sample (2-30 words): see `_usable`

QUESTION_GENERAL = frozenset({"qy", "qw", "qo", "qr", "qrr", "qh"})
QUESTION_SPECIFIC = frozenset({"d", "g", "br"})
NOT_QUESTION_SPECIFIC = frozenset({"bh"})


def act_is_question(act: str) -> bool:
    """Is one MRDA act label ("qy^d^g^rt", "qw.%--", "s:qy", "qy^bh") a question?"""
    act = act.split(":")[0].split(".")[0].strip()
    tags = act.split("^")
    general, specific = tags[0], set(tags[1:])
    if specific & NOT_QUESTION_SPECIFIC:
        return False
    return general in QUESTION_GENERAL or bool(specific & QUESTION_SPECIFIC)


def label_is_question(label: str) -> bool:
    """A segment's label, possibly several acts ("fh|qy^rt"): a question if any act is."""
    return any(act_is_question(a) for a in label.split("|"))


def clean(text: str) -> str:
    """MRDA transcript text as an ASR transcript gives it: lower-case, no punctuation, no
    disfluency marks, no broken-off fragments."""
    words = []
    for tok in text.split():
        if "@" in tok or tok in ("BLEEPED",) or tok.endswith("-"):
            continue
        tok = re.sub(r"[^a-z0-9' -]+", "", tok.lower())
        if tok.strip("-'"):
            words.append(tok.strip("-"))
    return " ".join(words)


def _read(source: Path, rel: str) -> str:
    if (source / rel).exists():
        return (source / rel).read_text(encoding="utf-8", errors="replace")
    return subprocess.run(["git", "--git-dir", str(source), "show", f"HEAD:{rel}"],
                          capture_output=True, text=True, check=True).stdout


def _meetings(source: Path) -> list[str]:
    folder = "mrda_archive/database"
    if (source / folder).is_dir():
        names = [p.name for p in (source / folder).iterdir()]
    else:
        names = subprocess.run(["git", "--git-dir", str(source), "ls-tree", "--name-only",
                                f"HEAD:{folder}"], capture_output=True, text=True,
                               check=True).stdout.split()
    return sorted(n[:-len(".dadb")] for n in names if n.endswith(".dadb"))


def meeting_segments(source: Path, meeting: str) -> list[dict]:
    """The meeting's segments in start-time order: start, speaker, label, raw and clean text."""
    texts = {}
    for ln in _read(source, f"mrda_archive/transcripts/{meeting}.trans").splitlines():
        parts = ln.split(",")
        if len(parts) >= 2:
            texts[parts[0]] = parts[1]
    segs = []
    for ln in _read(source, f"mrda_archive/database/{meeting}.dadb").splitlines():
        f = ln.split(",")
        if len(f) < 8 or f[2] not in texts:
            continue
        raw = texts[f[2]]
        segs.append({"start": float(f[0]), "id": f[2], "label": f[5], "speaker": f[7],
                     "raw": raw, "text": "" if raw.isupper() else clean(raw)})
    segs.sort(key=lambda s: s["start"])
    return segs


def _usable(seg: dict) -> bool:
    """Labelled, not non-verbal, and of MIN_WORDS words or more after cleaning. One-word
    segments are left out (as in the AMI sample): MRDA cuts a tag ("right", "huh", "okay") off
    the speaker's own statement as a segment of its own, a question there and an agreement or
    a back-channel when said alone; the product hears a tag with its statement, in one turn."""
    label = seg["label"]
    return (len(seg["text"].split()) >= MIN_WORDS and label not in ("z", "x")
            and not label.startswith(("z", "x")))


def split_of(meetings: list[str]) -> dict[str, str]:
    """dev or test per meeting: the sorted meetings shuffled with Random(13), alternating."""
    order = meetings[:]
    random.Random(13).shuffle(order)
    return {m: ("dev" if i % 2 == 0 else "test") for i, m in enumerate(order)}


def _candidates(segs: list[dict]) -> list[tuple[dict, str]]:
    """The usable segments of a meeting, each with the last line of another speaker before."""
    out = []
    for i, seg in enumerate(segs):
        if not _usable(seg):
            continue
        partner = ""
        for prev in reversed(segs[:i]):
            if prev["speaker"] != seg["speaker"] and prev["text"]:
                partner = prev["text"]
                break
        out.append((seg, partner))
    return out


def dev_pool(source: Path = DEFAULT_SOURCE) -> list[tuple[str, str, bool]]:
    """Every usable segment of the dev meetings (text, partner, is_question): a larger pool to
    read misses from during development. The test meetings are never read here."""
    meetings = _meetings(source)
    split = split_of(meetings)
    return [(seg["text"], partner, label_is_question(seg["label"]))
            for m in meetings if split[m] == "dev"
            for seg, partner in _candidates(meeting_segments(source, m))]


def sample(source: Path, per_meeting: int = PER_MEETING) -> list[tuple]:
    meetings = _meetings(source)
    split = split_of(meetings)
    rows = []
    for index, meeting in enumerate(meetings):
        candidates = _candidates(meeting_segments(source, meeting))
        rng = random.Random(13 + index)
        chosen = rng.sample(candidates, min(per_meeting, len(candidates)))
        chosen.sort(key=lambda c: c[0]["start"])
        for seg, partner in chosen:
            rows.append((seg["id"], meeting, split[meeting],
                         "1" if label_is_question(seg["label"]) else "0", seg["text"], partner,
                         seg["label"]))
    return rows


HEADER = """# MRDA (ICSI Meeting Recorder Dialog Act corpus) segments, built by benchmarks/mrda_sample.py
# from the snapshot of github:NathanDuran/MRDA-Corpus. NOT committed (snapshot material).
# ICSI Meeting Corpus transcripts and MRDA annotations: see benchmarks/data/README.md (licence).
# label: 1 = a question by the MRDA dialogue-act tags (mapping in benchmarks/mrda_sample.py).
# text and partner: lower-case, no punctuation or disfluency marks (as an ASR transcript).
"""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--per-meeting", type=int, default=PER_MEETING)
    ap.add_argument("--dev-pool", action="store_true",
                    help="only print the rules' question P/R/F1 on every dev-meeting segment")
    args = ap.parse_args(argv)
    if args.dev_pool:
        from benchmarks.analysis import prf, strip_text
        from trainer.analysis import TurnContext, analyze_utterance

        pool = dev_pool(args.source)
        pred = [analyze_utterance(strip_text(t), TurnContext(strip_text(p))).is_question
                for t, p, _ in pool]
        p, r, f = prf(pred, [g for *_, g in pool])
        print(f"dev pool: {len(pool)} segments, {sum(g for *_, g in pool)} questions: "
              f"P {p:.3f}  R {r:.3f}  F1 {f:.3f}")
        return
    rows = sample(args.source, args.per_meeting)
    with args.out.open("w", encoding="utf-8") as f:
        f.write(HEADER)
        f.write("id\tmeeting\tsplit\tlabel\ttext\tpartner\tda\n")
        for row in rows:
            f.write("\t".join(row) + "\n")
    for split in ("dev", "test"):
        part = [r for r in rows if r[2] == split]
        print(f"{split}: {len(part)} segments, {sum(r[3] == '1' for r in part)} questions, "
              f"{len({r[1] for r in part})} meetings")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
