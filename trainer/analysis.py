"""Per-utterance features from text (+ word timings): questions, follow-ups, fillers, focus...

Pure: no devices, no models. Everything must also work on text with no punctuation and no
capitals (Whisper's punctuation is unreliable), so question detection reads word patterns
(wh-word + auxiliary, auxiliary + subject, tags like "right", "so you...", "I wonder...") and
uses "?" only as extra evidence. Rule-based on purpose: it is fast, explainable in a tip, and
measured on a labelled set (benchmarks/analysis.py).

Question kinds follow Brooks (2025) / Huang et al. (2017): introductory, mirror ("and you?"),
topic_switch, follow_up (builds on the partner's last line or on a hook they dropped). Whether a
question takes up a hook is one rule, `hook_followed`: the conversation reacts to it and the
scorecard counts it, so the two always agree.

The words and phrase patterns live in trainer/lexicon.py; whether a clause is a question, and
of which grammatical form, in trainer/questions.py. This module puts them together in context.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from trainer.lexicon import (
    ASK_RE,
    AUX,
    BACKCHANNEL_WORDS,
    CONTRACTIONS,
    FILLER_WORDS,
    FOLLOW_PHRASE_RE,
    GOODBYE_RE,
    GREETING_RE,
    I_WORDS,
    INTRO_RE,
    LEAD,
    NOT_NAME,
    OFFER_RE,
    PRON_SUBJ,
    STOPWORDS,
    SUBJ,
    TOKEN_RE,
    WH,
    YOU_WORDS,
    content_stems,
    expand,
    stem,
    tokens,
    word_set,
    words_with_marks,
)
from trainer.questions import (
    SPEAKER_WORDS,
    Clause,
    choice_form,
    clauses,
    is_past_verb,
    question_form,
    question_is_open,
    strip_lead,
)
from trainer.types import Word

# Word lists moved to trainer/lexicon.py; these names stay importable from here.
__all__ = [
    "AUX", "BACKCHANNEL_WORDS", "CONTRACTIONS", "I_WORDS", "LEAD", "PRON_SUBJ", "STOPWORDS",
    "SUBJ", "WH", "YOU_WORDS", "HookCue", "TurnContext", "UtteranceFeatures",
    "analyze_utterance", "hook_followed", "hooks_named", "hooks_said",
    "sentences_saying", "stem",
]


class Embedder(Protocol):
    """A sentence embedder, handed in by the edge (trainer.meaning.shared()): unit-length rows,
    so a dot product is the cosine similarity. The core never loads a model itself."""

    def embed(self, texts: Sequence[str]) -> Any:  # (len(texts), d) float32 array
        ...


# Thresholds on the cosine similarity of all-MiniLM-L6-v2 (trainer.meaning), chosen on the
# dev dialogues (benchmarks/analysis.py) and kept away from the edge of what they separate:
# int8 inference differs slightly between CPUs.
FOLLOW_SIM = 0.45  # a question builds on the partner's line by meaning, on its own
FOLLOW_SIM_NEAR = 0.30  # ... or this close, and FOLLOW_MARGIN closer than to a stock question
FOLLOW_MARGIN = 0.10
# Questions anyone asks anyone at a networking event: a question closer to these than to the
# partner's line is not built on it.
_STOCK_QUESTIONS = (
    "what do you do", "where are you from", "what brings you here", "are you hiring",
    "how is your evening going", "what roles are you hiring for", "do you come here often",
    "what do you do for fun", "are you here with friends", "where are you based",
    "can i ask you about jobs at your company", "what do you think of the event",
    "is this your first time here", "what do you do when you are not working",
    "are you looking for someone with my skills",
)
HOOK_SIM = 0.45  # a question takes up a hook by meaning (its label and the lines that say it)
SAID_SIM = 0.65  # a persona line with one cue word says a hook's content, by meaning
SAID_OVERLAP = 0.3  # share of content words in common with a line that says the hook


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0


def _sims(meaning: Embedder, text: str, others: Sequence[str]) -> list[float]:
    """Cosine similarity of `text` to each of `others` (the rows have unit length)."""
    if not others:
        return []
    vecs = meaning.embed([text, *others])
    return [float(vecs[0] @ v) for v in vecs[1:]]


def _sentences(text: str) -> list[str]:
    """The sentences of a line (lower-case words of two or more; else the whole line)."""
    parts = [" ".join(w for w in tokens(p) if w not in "?.!;,\n")
             for p in re.split(r"[.!?;\n]+", text)]
    parts = [p for p in parts if len(p.split()) >= 2]
    whole = " ".join(w for w in tokens(text) if w not in "?.!;,\n")
    return parts or ([whole] if whole else [])


@dataclass(frozen=True)
class HookCue:
    """A personal detail the partner dropped, and what counts as following up on it."""

    id: str
    cues: tuple[str, ...]  # lowercase words/phrases; any of them in a question = follow-up
    label: str = ""  # short name for reports, e.g. "rescue puppy Biscuit"
    suggestion: str = ""  # a better line, e.g. "How long have you had Biscuit?"
    texts: tuple[str, ...] = ()  # lines that say it (the persona's mentions), for meaning


@dataclass(frozen=True)
class TurnContext:
    """What the user was answering: the partner's last line and the hooks dropped so far."""

    partner_text: str = ""
    partner_name: str | None = None
    hooks: tuple[HookCue, ...] = ()
    first_user_turn: bool = False
    # What the partner said before the user's previous turn: a follow-up builds on their last
    # one or two lines ("I'm an architect, mostly schools." ... "what's the most interesting
    # school you've designed?").
    earlier_partner_text: str = ""


@dataclass
class UtteranceFeatures:
    """Labels for one user utterance."""

    text: str
    word_count: int = 0
    is_question: bool = False
    question_count: int = 0
    question_kind: str | None = None  # introductory | mirror | topic_switch | follow_up | None
    is_open: bool | None = None  # open vs closed; None when not a question
    follow_up: str | None = None  # None | "partner" (builds on the last line) | "hook:<id>"
    follow_up_hook: str | None = None  # hook id when the follow-up takes up a hook
    fillers: list[str] = field(default_factory=list)
    filler_rate: float = 0.0  # fillers per word
    wpm: float | None = None  # from word timings / duration when there are any
    i_words: int = 0
    you_words: int = 0
    is_opener: bool = False
    is_offer: bool = False
    is_ask: bool = False  # ask to follow up: coffee, swap contacts, connect, email
    uses_name: bool = False
    is_backchannel: bool = False
    is_goodbye: bool = False
    is_empty: bool = False
    # Added by issue 4 (additive; the fields above are the agreed interface):
    question_form: str | None = None  # wh | yes_no | tag | declarative | embedded | mirror
    questions: list[str] = field(default_factory=list)  # the question clauses, as said
    builds_on: str | None = None  # like follow_up, also for statements ("that must be hard")
    hooks_taken: list[str] = field(default_factory=list)  # ids of all hooks the questions take up


def _is_backchannel(exp: list[str]) -> bool:
    if not exp or len(exp) > 5:
        return False
    core = strip_lead(exp)
    if core[:1] == ["i"] and core[1:2] and core[1] in _NOT_AFTER_I:
        core = core[1:]  # "i is it": the "i" broken off (_drop_broken_starts)
    if len(core) >= 2 and core[0] in AUX and core[1] in ("that", "it", "this"):
        # A bare "is that right?", "oh is it?", "does it?" reacts to what was said
        # (Switchboard DAMSL's "bh", a back-channel in question form: benchmarks/data/README);
        # anything more asks to confirm something ("is that the one on fifth?").
        return all(w in ("right", "so", "true") for w in core[2:])
    joined = " ".join(exp)
    phrases = (
        "i see", "got it", "makes sense", "that makes sense", "of course", "no way", "for sure",
        "that is great", "that is cool", "that is interesting", "that is amazing",
        "that is awesome", "that is true", "that is right", "that is fair", "fair enough",
        "sounds good", "sounds great", "good point", "oh nice", "oh wow", "oh really",
        "mm hm", "mm hmm", "uh huh", "i hear you", "you are right", "that is so cool",
        "how interesting", "how cool", "very cool", "very interesting", "oh okay",
        "ah okay", "ah i see", "oh i see", "no kidding", "good for you", "all right",
    )
    rest = joined
    for p in sorted(phrases, key=len, reverse=True):
        rest = re.sub(rf"\b{re.escape(p)}\b", " ", rest)
    leftover = [w for w in rest.split() if w not in BACKCHANNEL_WORDS and w not in ("so",)]
    return not leftover


# "like" is a verb or a preposition after these ("i like", "looks like", "something like").
_LIKE_VERB_PREV = word_set(
    """i you we they would 'd i'd you'd we'd to do don't didn't dont didnt does doesn't really
    also might will 'll feel feels felt look looks looked sound sounds sounded something
    anything nothing things stuff more just much seem seems people he she who that not lot bit
    exactly kind sort is are be it what i'll you'll we'll likes very most least always never
    truly kinda definitely actually still i'm you're we're they're would've""")
# ... and mostly a filler after these ("and like", "so like", "um like").
_LIKE_FILLER_PREV = word_set(
    "and but so um uh er well basically literally yeah okay ok oh then because or like for"
    " there's there")
_NUMBER_WORDS = word_set(
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty"
    " fifty hundred thousand a few couple half")
# "you know" is the verb before these ("you know the host", "you know what I mean").
_KNOW_OBJECT = word_set(
    """what how who where when why whether if that about him her them anyone someone anybody
    somebody the any each it my his their our a an this these those me us better more much
    best people exactly she he everyone everybody so too already""")
_KNOW_VERB_PREV = word_set(
    "do did don't didn't dont didnt if would as how what whether could can that before will"
    " might you'd and when who whom where which why")
# "kind of"/"sort of" is a noun after these ("what kind of work").
_KIND_DET = word_set(
    """what a this that the which some any same every one these those all different another no
    two many each his her my your our their""")


def _find_fillers(words: list[str], marks: list[str]) -> list[tuple[str, int, int]]:
    """Fillers in order of appearance as (filler, first word index, word count).

    `marks[i]` is the punctuation before words[i].
    """
    out: list[tuple[str, int, int]] = []
    n = len(words)
    i = 0
    while i < n:
        w = words[i]
        prev = words[i - 1] if i > 0 else ""
        nxt = words[i + 1] if i + 1 < n else ""
        after = words[i + 2] if i + 2 < n else ""
        boundary = i == 0 or marks[i] != ""
        step = 1
        if w in FILLER_WORDS:
            out.append((w, i, 1))
        elif w == "like" and _like_is_filler(words, i, boundary):
            out.append(("like", i, 1))
        elif w == "you" and nxt == "know" and (
                # set off by commas it is a filler even after "can" ("I can, you know, do...")
                (boundary and i > 0 and (not after or marks[i + 2] != ""))
                # before a question's inversion too: "and you know does he get upset"
                or (after in AUX and i + 3 < n and words[i + 3] in PRON_SUBJ
                    and prev not in ("do", "did", "don't", "didn't", "dont", "didnt"))
                or prev not in _KNOW_VERB_PREV and (
                    not after or after not in _KNOW_OBJECT or marks[i + 2] != "")):
            out.append(("you know", i, 2))
            step = 2
        elif w in ("sort", "kind") and nxt == "of" and prev not in _KIND_DET:
            out.append((f"{w} of", i, 2))
            step = 2
        elif w in ("kinda", "sorta") and prev not in _KIND_DET:
            out.append((w, i, 1))
        elif w == "i" and nxt == "mean" and (boundary or prev in _LIKE_FILLER_PREV) and \
                after not in ("to", "what", "you", "the") and not (
                    after in ("it", "that") and (i + 3 >= n or marks[i + 3] != "")):
            out.append(("i mean", i, 2))
            step = 2
        i += step
    return out


def _without_fillers(toks: list[str], spans: list[tuple[str, int, int]]) -> list[str]:
    """`toks` with the filler words and the commas that bracket them removed.

    A filler set off by commas ("I can, you know, do my own thing") otherwise splits the clause
    and leaves a fragment that reads as a question ("do my own thing", "like really want to..."
    -> "want to...?"). Sentence marks (.?!) are kept: they still end clauses.
    """
    drop_words = {i for _, start, n in spans for i in range(start, start + n)}
    if not drop_words:
        return toks
    keep = [True] * len(toks)
    word_i = -1
    for t_i, t in enumerate(toks):
        if t in "?.!;,\n":
            continue
        word_i += 1
        if word_i not in drop_words:
            continue
        keep[t_i] = False
        for j in (t_i - 1, t_i + 1):  # the comma on either side of the filler
            if 0 <= j < len(toks) and toks[j] == ",":
                keep[j] = False
    out = [t for t, k in zip(toks, keep, strict=True) if k]
    # A restart the filler covered ("what, uh, what made you...") is said once.
    return [t for i, t in enumerate(out) if not (i and t == out[i - 1] and t in _RESTART_WORDS)]


_RESTART_WORDS = WH | {"i"}


def _like_is_filler(words: list[str], i: int, boundary: bool) -> bool:
    prev = words[i - 1] if i > 0 else ""
    prev2 = words[i - 2] if i > 1 else ""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if boundary:
        return True
    if prev in ("was", "were", "'s", "is") and prev2 in ("i", "he", "she", "they", "we", "you"):
        # quotative: "and i was like, okay"; before a question it stays, so the quoted
        # question is read as quoted ("she was like where are you going", questions.py)
        return not (nxt in WH or nxt in AUX)
    if prev in _LIKE_VERB_PREV:
        return False
    return (prev in _LIKE_FILLER_PREV or nxt in ("um", "uh", "you", "literally", "basically")
            or nxt.isdigit() or nxt in _NUMBER_WORDS)


def _phrase_in(phrase_stems: list[str], stems: list[str]) -> bool:
    n = len(phrase_stems)
    if n == 0:
        return False
    return any(stems[i:i + n] == phrase_stems for i in range(len(stems) - n + 1))


def _cue_stems(cue: str) -> list[str]:
    return [stem(w) for w in TOKEN_RE.findall(str(cue).lower()) if w not in "?.!;,\n"]


def _cue_match(cue_stems: list[str], stems: list[str]) -> bool:
    if len(cue_stems) == 1 and len(cue_stems[0]) >= 4:
        # Compounds: cue "raise" in "fundraising", "book" in "bookshop".
        c = cue_stems[0]
        return any(s == c or (len(s) > len(c) + 1 and (s.startswith(c) or s.endswith(c)))
                   for s in stems)
    return _phrase_in(cue_stems, stems)


def _hook_in(hook: HookCue, stems: list[str]) -> bool:
    return any(_cue_match(_cue_stems(cue), stems) for cue in hook.cues)


def _partner_question_open(partner_text: str) -> bool | None:
    toks = tokens(partner_text)
    for c in reversed(clauses(toks)):
        form = question_form(c.exp, c.mark)
        if form and form != "mirror":
            return question_is_open(form, c.exp, None)
    return None


def _partner_questions(partner_text: str) -> set[str]:
    """The partner's question clauses, lead words stripped ("so what do you do" -> "what...")."""
    return {" ".join(strip_lead(c.exp)) for c in clauses(tokens(partner_text))
            if question_form(c.exp, c.mark)}


def _partner_question_stems(partner_text: str) -> list[tuple[str, set[str]]]:
    """(how it opens, content stems) of each of the partner's questions."""
    return [(_opening(c.exp), content_stems(c.exp)) for c in clauses(tokens(partner_text))
            if question_form(c.exp, c.mark)]


def _opening(exp: list[str]) -> str:
    """A question's opening: its wh-word, "aux" for yes/no questions, else ""."""
    core = strip_lead(exp)
    head = core[0] if core else ""
    return head if head in WH else "aux" if head in AUX else ""


# --- the public entry point ---------------------------------------------------------------------


def analyze_utterance(
    text: str,
    context: TurnContext | None = None,
    words: Sequence[Word] | None = None,
    duration_s: float | None = None,
    *,
    meaning: Embedder | None = None,
    final_rise_st: float | None = None,
) -> UtteranceFeatures:
    """Label one utterance. Never raises on any string.

    Args:
        text: what the user said (any case, any or no punctuation).
        context: the partner's last line, their name and the hooks dropped so far.
        words: ASR word timings (seconds), used for the speaking pace.
        duration_s: speaking time of the utterance when there are no word timings.
        meaning: a sentence embedder (`embed(texts) -> unit rows`, e.g. trainer.meaning's);
            with it a question also follows up when it builds on the partner's line by
            meaning. None: the lexical rules alone.
        final_rise_st: in spoken turns, how far the pitch rises over the last few hundred ms
            of voiced speech, in semitones (trainer.speech.pitch.final_rise_st; None: typed or
            not measured). A rise turns a statement into a declarative question only with
            another cue ("you ...", an echo of their words, a short fragment) or when clear.
    """
    text = text if isinstance(text, str) else str(text or "")
    ctx = context or TurnContext()
    toks = tokens(text)
    words_raw, marks = words_with_marks(toks)
    feats = UtteranceFeatures(text=text, word_count=len(words_raw))
    if not words_raw:
        feats.is_empty = True
        return feats
    exp_all = expand(words_raw)
    joined = " ".join(exp_all)

    # Fillers first: "you know" as a filler is neither a question nor a you-word.
    filler_spans = _find_fillers(words_raw, marks)
    feats.fillers = [f for f, _, _ in filler_spans]
    feats.filler_rate = len(feats.fillers) / len(words_raw)
    filler_you = sum(1 for f in feats.fillers if f == "you know")
    feats.i_words = sum(1 for w in words_raw if w in I_WORDS) - sum(
        1 for f in feats.fillers if f == "i mean")
    feats.you_words = max(0, sum(1 for w in words_raw if w in YOU_WORDS) - filler_you)
    feats.i_words = max(0, feats.i_words)
    feats.wpm = _wpm(len(words_raw), words, duration_s)

    feats.is_backchannel = _is_backchannel(exp_all)
    feats.is_goodbye = bool(GOODBYE_RE.search(joined))
    feats.is_offer = bool(OFFER_RE.search(joined))
    feats.is_ask = bool(ASK_RE.search(joined))
    feats.is_opener = _is_opener(exp_all, joined)
    feats.uses_name = _uses_name(words_raw, ctx.partner_name)

    # Questions, clause by clause, read without the fillers: "I can, you know, do my own thing"
    # is one statement, not "I can" + the yes/no question "do my own thing?".
    all_clauses = clauses(_collapse_restarts(_without_fillers(toks, filler_spans)))
    q_clauses: list[tuple[Clause, str]] = []
    if not feats.is_backchannel:
        partner = _Partner.of(ctx.partner_text)
        for c in all_clauses:
            form = question_form(c.exp, c.mark) or _context_form(c, partner, len(all_clauses))
            if form == "declarative" and _so_you_goes_on(c, partner):
                form = None
            if form:
                q_clauses.append((c, form))
        if not q_clauses and all_clauses and final_rise_st is not None:
            c = all_clauses[-1]
            if _rising_question(c, partner, final_rise_st):
                q_clauses.append((c, "declarative"))
    feats.question_count = len(q_clauses)
    feats.is_question = bool(q_clauses)
    feats.questions = [" ".join(c.words).replace(" ,", ",") for c, _ in q_clauses]

    stems_all = [stem(w) for w in exp_all]
    feats.builds_on = _builds_on(exp_all, stems_all, ctx)
    if not q_clauses:
        return feats

    partner_open = _partner_question_open(ctx.partner_text) if ctx.partner_text else None
    partner_q = _partner_question_stems(ctx.partner_text) if ctx.partner_text else []
    # The utterance's kind is its strongest question: a follow-up on a hook, then on the
    # partner's line, then mirror, introductory, topic switch.
    rank = {"follow_up": 1, "mirror": 2, "introductory": 3, "topic_switch": 4}
    ranked = []
    for c, form in q_clauses:
        kind, fu = _question_kind(c, form, all_clauses, stems_all, ctx, partner_q, meaning)
        if fu and fu.startswith("hook:") and fu[5:] not in feats.hooks_taken:
            feats.hooks_taken.append(fu[5:])
        r = 0 if fu and fu.startswith("hook:") else rank[kind]
        ranked.append((r, len(ranked), kind, fu, c, form))
    _, _, kind, fu, c, form = min(ranked, key=lambda x: (x[0], x[1]))
    feats.question_kind = kind
    feats.question_form = form
    feats.follow_up = fu
    feats.follow_up_hook = fu.split(":", 1)[1] if fu and fu.startswith("hook:") else None
    if fu:
        feats.builds_on = fu
    feats.is_open = question_is_open(form, c.exp, partner_open)
    return feats


# A final rise of this many semitones makes a statement with a declarative cue a question ...
RISE_ST = 3.0
# ... and this many makes any short statement one. Chosen on synthesised clips (benchmarks/
# analysis.py, `pitch_*`): espeak-ng statements end at -1.8 st or lower (falls at -3 or lower)
# and with a rising end at +1.8 to +6.8; piper reads statements ending up to about +2 st. No
# recorded speech was at hand, so the thresholds stay above every statement measured.
CLEAR_RISE_ST = 5.0
_RISE_MAX_WORDS = 12


def _rising_question(c: Clause, partner: _Partner, rise_st: float) -> bool:
    """Is a statement said with a final rise a question? ("you really think so?", "in three
    days?", "so you moved here?"). Uptalk in a long telling stays a statement."""
    core = strip_lead(c.exp)
    if not core or len(core) > _RISE_MAX_WORDS or rise_st < RISE_ST:
        return False
    if rise_st >= CLEAR_RISE_ST:
        return True
    if core[0] in ("you", "your") or len(core) <= 4:
        return True  # a check on them, or a fragment: "you moved here", "tomorrow"
    theirs = {stem(w) for w in partner.words if len(w) >= 3 and w not in STOPWORDS}
    return bool(theirs & {stem(w) for w in core if len(w) >= 3 and w not in STOPWORDS})


def _collapse_restarts(toks: list[str]) -> list[str]:
    """A restart said once: "are are you", "what what kind", "do you do you like it".

    Speech repeats its opening words while the speaker plans the rest; a transcript keeps
    them. A word or a pair of words said twice in a row, within a sentence, is kept once (a
    comma between them goes with the repeat).
    """
    out: list[str] = []
    for t in toks:
        if t in "?.!;,\n":
            out.append(t)
            continue
        last = []  # indexes of the last three words of this sentence
        for i in range(len(out) - 1, -1, -1):
            if out[i] in "?.!;\n":
                break
            if out[i] != ",":
                last.insert(0, i)
                if len(last) == 3:
                    break
        if last and t.startswith(out[last[-1]] + "'") and out[last[-1]].isalpha():
            out[last[-1]] = t  # said again contracted: "what what's", "it it's", "that that's"
            continue
        if len(last) == 3 and out[last[0]] == out[last[2]] and out[last[1]].isalpha() and \
                t.startswith(out[last[1]] + "'"):
            del out[last[0]:last[2]]  # "and what | and what's northern" -> "and what's"
            out.append(t)
            continue
        if last and out[last[-1]] == t and t not in _REAL_DOUBLES:
            del out[last[-1] + 1:]
            continue
        if last and _is_fragment(out[last[-1]], t):
            del out[last[-1]:]  # a word broken off and said again: "h how", "sh shouldn't"
            out.append(t)
            continue
        if len(last) == 3 and out[last[0]] == out[last[2]] and out[last[1]] == t:
            del out[last[1] + 1:]  # "do you do | you" -> "do you"
            continue
        out.append(t)
    return _drop_broken_starts(_collapse_long_restarts(out))


_SENTENCE_MARKS = frozenset("?.!;\n")
# "i" before these cannot be the subject ("i is it", "i does it work"): a start broken off
_NOT_AFTER_I = word_set("is are does has")
# "i ... did you see it": "i" broken off before a question; not "i did you a favour", "i
# would you know like to", "i have you to thank"
_AUX_YOU_NOT_NEXT = word_set("a an the know wrong to no right")
# Words that may sit between a wh-word and the same wh-word said again: "what do | what did
# you study", "what's your | what's the name"
_WH_RESTART_GAP = AUX | word_set("your you the my his her their our this that it")


def _drop_broken_starts(toks: list[str]) -> list[str]:
    """Starts broken off and said anew, in other words: "i is it" (an "i" that cannot be the
    subject), "i did you see it", "what do what did you study", "what's your what's the
    name". One question, not two or none (the scorecard counts questions)."""
    out: list[str] = []
    for k, t in enumerate(toks):
        nxt = toks[k + 1] if k + 1 < len(toks) else ""
        nxt2 = toks[k + 2] if k + 2 < len(toks) else ""
        nxt3 = toks[k + 3] if k + 3 < len(toks) else ""
        if t == "i" and (nxt in _NOT_AFTER_I or (
                nxt in AUX and nxt2 == "you" and nxt3 and nxt3 not in _AUX_YOU_NOT_NEXT
                and nxt3 not in _SENTENCE_MARKS and nxt3 != ",")):
            continue
        head = expand([t])[0]
        if head in WH and len(out) >= 2 and nxt and nxt not in _SENTENCE_MARKS:
            a, b = out[-2], out[-1]
            if expand([a])[0] == head and len(expand([a])) + len(expand([b])) <= 3 and (
                    b in _WH_RESTART_GAP or expand([b])[0] in _WH_RESTART_GAP) and (
                    len(out) == 2 or out[-3] in _SENTENCE_MARKS or out[-3] == ","
                    or out[-3] in LEAD or out[-3] in ("and", "but", "so", "or")):
                del out[-2:]  # "what do | what did you study": the first start abandoned
        out.append(t)
    return out


def _collapse_long_restarts(toks: list[str]) -> list[str]:
    """A restart of three or four words said once: "did you ever (uh) did you ever go back"
    is one question, not two (the scorecard counts questions)."""
    out = list(toks)
    for n in (4, 3):
        i = 0
        while i + 2 * n <= len(out):
            span = out[i:i + n]
            if out[i + n:i + 2 * n] == span and not any(w in "?.!;,\n" for w in span):
                del out[i:i + n]
                continue
            i += 1
    return out


def _is_fragment(prev: str, word: str) -> bool:
    """Is `prev` a word broken off before `word`: its start ("wh what", "sh shouldn't"), or a
    lone letter before a question word ("t where are you")? Real short words never are."""
    if prev in STOPWORDS or prev in AUX or prev in WH or prev in ("a", "i") or not prev.isalpha():
        return False
    if len(prev) <= 3 and word.startswith(prev) and word != prev:
        return True
    return len(prev) == 1 and word in WH  # not before an auxiliary: "c is my favourite"


# Words people do say twice on purpose ("bye bye", "no no", "very very").
_REAL_DOUBLES = word_set("bye no very so ha really yeah yes ok okay mm hm knock")


@dataclass(frozen=True)
class _Partner:
    """What the partner's last line offers a reply to: its words, and whether it asked."""

    words: tuple[str, ...] = ()
    asked: bool = False
    # they asked which, what or where: a short phrase after it answers ("the one by the
    # station"); after "did you go to the ramen place" or "how about the thai place" the
    # same phrase checks which one they mean
    asked_wh: bool = False

    @classmethod
    def of(cls, partner_text: str) -> _Partner:
        if not partner_text:
            return cls()
        cl = clauses(tokens(partner_text))
        form = question_form(cl[-1].exp, cl[-1].mark) if cl else None
        asked = bool(cl) and (form is not None or choice_form(cl[-1].exp) is not None)
        head = strip_lead(cl[-1].exp)[:2] if cl else []
        asked_wh = form in ("wh", "embedded") and head not in (["how", "about"],
                                                               ["what", "about"])
        return cls(tuple(_partner_words(partner_text)), asked, asked_wh)


_ADVICE_AFTER_YOU = word_set(
    """should must might can could will would need have gotta got guys know too see just
    and deserve""")
_VERDICT_AFTER_YOU_ARE = word_set(
    """so right welcome too a an very such totally absolutely correct the amazing awesome
    great good funny kidding lucky brave crazy genius smart sweet kind nice""")


def _context_form(c: Clause, partner: _Partner, n_clauses: int) -> str | None:
    """Questions that only the partner's last line shows to be questions (text without "?").

    - an echo: a short fragment that repeats what they just said ("in three days", "eight
      hundred thousand messages", "twelve places"), asking them to confirm it;
    - a "you ..." statement about them right after their claim ("you really think so", "you
      didn't try it", "you moved here from brazil");
    - a short choice put to them ("coffee or tea", "you live on or off campus").
    None after a question of theirs: a reply to a question is an answer ("tea or water").
    """
    if c.mark in (".", "!"):
        return None
    exp = c.exp
    core = strip_lead(exp)
    if not core or len(core) > 10 or _greets(core):
        return None
    if n_clauses == 1 and core[:2] == ["the", "one"] and 4 <= len(core) <= 6 and core[2] in (
            _CLARIFY_PREP) and not (set(core[3:]) & (AUX | PRON_SUBJ | {"'s"})) and not (
            partner.asked_wh) and not _said_little(partner):
        return "declarative"  # which one they mean: "the one on fifth", "the one by the river"
    if partner.asked:
        return None
    if n_clauses == 1 and _or_option(core):
        return "yes_no"  # another option put to them: "or both", "or for the evening session"
    if n_clauses == 1 and core in (["something", "else"], ["somebody", "else"],
                                   ["someone", "else"]):
        return "yes_no"  # "(is there) something else", "(does) someone else (want to)"
    if n_clauses == 1 and _ready_or_when(exp, core):
        return "yes_no"  # "ready to go", "maybe at ten o'clock" (after their question: told)
    if n_clauses == 1 and _echo_extended(core, partner.words):
        return "declarative"  # their words said back with the part to confirm: "easy to park
        # near the office" after "easy to park"
    if n_clauses == 1 and _first_time(core) and (
            not _said_little(partner) or core[-1] in ("here", "there")):
        return "yes_no"  # "(is it your) first one", after their telling of the race
    if n_clauses == 1 and core[:2] == ["you", "are"] and len(core) == 3 and \
            core[2] in _YOU_ARE_STATE and not _said_little(partner):
        return "declarative"  # their news, checked: "you're retired", "you're engaged"
    choice = choice_form(exp)
    if choice:
        return choice
    if n_clauses == 1 and 2 <= len(core) <= 3:
        # "any pets", "any siblings": a yes/no question with its verb dropped
        if core[0] == "any" and core[1] not in _NOT_ANY_Q:
            return "yes_no"
        # "and your husband", "and your kids": what about theirs; "and the schools" after
        # their news asks about the schools there (after a back-channel it adds to a list)
        if exp[0] == "and" and (core[0] == "your" or (
                core[0] == "the" and core[-1] not in STOPWORDS and not _said_little(partner))):
            return "declarative"
    if n_clauses == 1 and _elliptical_check(core):
        return "yes_no"
    # "in the ocean", "for the ward" after their news: where or what they mean; after a
    # back-channel the speaker adds to their own telling instead
    # (MRDA dev meetings: a fragment led by "and", "but", "so", "um"... or ending on a function
    # word goes on with the speaker's own sentence: "and then at the corner", "for the subset of")
    if n_clauses == 1 and 2 <= len(core) <= 4 and core[0] in _FRAG_PREP and (
            core[1] in _FRAG_DET or core[1].isdigit()) and not (
            set(core) & (AUX | PRON_SUBJ | {"me", "my", "our", "us", "'s"})) and \
            core[-1] not in _NOT_CHECK_NOUN and not _said_little(partner) and \
            _checking_lead(exp, core) and _names_something(core):
        return "declarative"
    # "(do) you have kids", "you got a dog": the auxiliary dropped before a short object
    if n_clauses == 1 and 3 <= len(core) <= 4 and core[0] == "you" and core[1] in (
            "have", "got") and core[2] not in _NOT_HAVE_OBJECT and core[-1] not in (
            _NOT_HAVE_OBJECT | STOPWORDS) and not _said_little(partner):
        return "yes_no"
    # "you went to college there" after their news: a check on their past ("you got it",
    # "you made it", "you said it" are said, not asked)
    if n_clauses == 1 and core[0] == "you" and 3 <= len(core) <= 8 and is_past_verb(core[1]) and \
            core[1] not in _NOT_CHECK_PAST and not _said_little(partner):
        return "declarative"
    # "you've lived there all your life" after "i'm from dallas": the same with "have"; not
    # praise or agreement ("you've done a great job", "you've been so kind", "you've got it")
    if n_clauses == 1 and core[:2] == ["you", "have"] and 4 <= len(core) <= 9 and \
            is_past_verb(core[2]) and core[2] not in _NOT_CHECK_PAST | _NOT_CHECK_PERFECT and \
            set(core[3:]) & _PLACE_OR_SPAN and not _said_little(partner):
        return "declarative"
    # "so she's looking at colleges" after "she's a junior": their news, checked
    if n_clauses == 1 and len(exp) >= 3 and exp[0] == "so" and core[0] in _THIRD_PERSON and \
            len(core) <= 8 and (core[1] in ("is", "are", "was", "were", "'s") or (
                core[1] == "not" and core[2:3] in (["is"], ["are"]))) and \
            _THIRD_PERSON[core[0]] & set(partner.words):
        return "declarative"
    # "so it's free", "so they just left" after their telling: the upshot, put to them
    # (not "so that's easy", "so there's a standard": the speaker's own summing up, MRDA dev
    # meetings 1 of 39 asked; "so it's free" after their telling still checks)
    if n_clauses == 1 and exp[0] == "so" and core[0] in _SO_SUBJ and 3 <= len(core) <= 7 and \
            not set(core) & (SPEAKER_WORDS | _VERDICT_ADJ | _SO_NOT) and not _said_little(partner) \
            and core[:3] not in (["that", "is", "it"], ["that", "is", "all"]) and not (
                core[0] == "that" and core[1] in PRON_SUBJ) and _said_fluently(exp):
        return "declarative"  # ("so that it lasts longer": a purpose)
    # "you enjoy it", "you like it there" after their news: how they find it, checked
    if n_clauses == 1 and core[:1] == ["you"] and len(core) in (3, 4) and \
            core[1] in _LIKE_VERBS and core[2] in ("it", "that", "them", "there") and \
            core[3:] in ([], ["there"], ["here"], ["now"]) and not _said_little(partner):
        return "declarative"
    if not partner.words:
        return None
    theirs = {stem(w) for w in partner.words if len(w) >= 3 and w not in STOPWORDS}
    theirs |= {w for w in partner.words if w.isdigit()}
    mine = {stem(w) for w in core if len(w) >= 3 and w not in STOPWORDS} | {
        w for w in core if w.isdigit()}
    shared = bool(mine & theirs)
    if core[0] in ("you", "your") and len(core) >= 2 and shared:
        nxt = core[1]
        if nxt in _ADVICE_AFTER_YOU or (nxt in ("are", "were") and len(core) > 2
                                        and core[2] in _VERDICT_AFTER_YOU_ARE):
            return None
        return "declarative"
    # "you're a teacher" after "i work at the high school": what they are, checked (not a
    # verdict on them: "you're a lucky man", "you're a saint")
    if n_clauses == 1 and core[:2] == ["you", "are"] and 4 <= len(core) <= 6 and core[2] in (
            "a", "an") and core[3] not in _VERDICT_NOUN and not _said_little(partner):
        return "declarative"
    # "she lives alone" after "my mother lives in ohio": their news about someone, checked
    if n_clauses == 1 and core[0] in _THIRD_PERSON and 3 <= len(core) <= 6 and shared and \
            core[1] not in _ADVICE_AFTER_YOU and core[1] not in _SAY_VERBS and \
            core[1] not in AUX and core[1] != "'s" and not (  # "he's a good guy": agreement
            set(core) & {"i", "we", "me", "my", "our", "us"}) and not _said_little(partner):
        return "declarative"
    if core[:2] in (["there", "is"], ["there", "are"]) and len(core) <= 6 and shared:
        return "declarative"  # surprise at their news: "there's different rounds"
    # Their whole short line said back ("five zero" after "five zero", "once again" after
    # "once again") acknowledges it, as a mimic: MRDA dev pool, 3 of 32 such lines asked.
    # A part of their line said back still checks it ("all day" after "it took all day").
    if list(core) == strip_lead(list(partner.words)):
        return None
    # An echo: a few words of theirs with no verb or subject of its own ("in three days"),
    # not an answer ("no, 800,000 points") nor a farewell or thanks said back.
    if n_clauses == 1 and 2 <= len(core) <= 4 and _echoes(core, partner.words) and not (
            set(exp) & (AUX | PRON_SUBJ | _ANSWER_WORDS | _SOCIAL_WORDS)) and any(
            w not in BACKCHANNEL_WORDS and w not in LEAD and w not in ("not", "so", "too")
            for w in core):
        return "declarative"  # their last words said back: "all day", "since november"
    # (a hedge they said does not make a fragment theirs: "maybe there" after "maybe the x")
    if len(core) <= 4 and n_clauses == 1 and bool((mine - _HEDGES) & theirs) and not (
            set(core) & (AUX | PRON_SUBJ | {"i'm", "me", "my"})) and not _verdict(core) and not (
            set(exp[:len(exp) - len(core)]) & _ANSWER_WORDS) and any(
            w not in BACKCHANNEL_WORDS and w not in _SOCIAL_WORDS and w not in _HEDGES
            for w in core) and _checking_lead(exp, core) and _names_something(core):
        return "declarative"
    return None


# Before a fragment that checks their words only these may come ("oh in the ocean", "wait
# four hundred"); "and", "but", "so", "well", "um", "yeah" go on with the speaker's own
# telling ("and discourse context", "well the other one"): MRDA dev meetings, where such
# fragments were asked about 1 time in 15.
_CHECK_LEAD = word_set("oh wait really huh what")


def _checking_lead(exp: list[str], core: list[str]) -> bool:
    return all(w in _CHECK_LEAD for w in exp[:len(exp) - len(core)])


def _names_something(core: list[str]) -> bool:
    """Does a fragment end on what it checks ("for the ward", "public school"), not on a
    function word or a filler, as a phrase broken off does ("for the subset of", "at the")?"""
    last = core[-1]
    if set(core) & WH:
        return True  # "two dogs what kind": what is asked is said
    return last.isdigit() or (last not in STOPWORDS and last not in FILLER_WORDS
                              and last not in BACKCHANNEL_WORDS)


_SO_SUBJ = word_set("it they he she")
_BROKEN_OFF_END = word_set("of the a an to and or but have has is are was were in on for with")


def _said_fluently(exp: list[str]) -> bool:
    """An upshot put to them is said in one go: no word said twice, no "i mean" or "you
    know", no "anyway", not broken off ("so it's the amount of"). With them the "so" is the
    speaker reasoning aloud ("so so he was checking", "so it's you know another source"):
    in the MRDA dev pool none of the 12 such "so it/they/he/she" lines was asked (of the
    others 4 of 51). (Fillers and restarts said anew are taken out before.)"""
    if set(exp) & {"anyway", "anyways"} or exp[-1] in _BROKEN_OFF_END:
        return False
    pairs = list(zip(exp, exp[1:], strict=False))
    return not any(a == b or (a, b) in (("i", "mean"), ("you", "know")) for a, b in pairs)
# "so it goes", "so that's that", "so it seems", "so there you go": formulas, not checks
_SO_NOT = word_set("goes seems seemed go sad shame pity thing okay ok why what whatever life"
                   # a guess or a should of the speaker's own ("so he might be around", "so
                   # that may or may not happen", "so it should work"): reasoning, not a check
                   " might may could would should must ought")
_LIKE_VERBS = word_set("like love enjoy miss mind hate prefer")
_CLARIFY_PREP = word_set("on by in at near with from across behind next")
# "you're retired" after their news checks it; "you're lucky", "you're hired", "you're
# fine" judge, tell or reassure (so only states of their life are here)
_YOU_ARE_STATE = word_set(
    """retired married engaged divorced single pregnant moving leaving full filled back
    new home vegetarian vegan allergic related twins""")


def _first_time(core: list[str]) -> bool:
    """ "first one", "your first time", "first time there": is it their first, asked after
    they told of it (not "first time for me", "my first one")."""
    body = core[1:] if core[0] == "your" else core
    return 2 <= len(body) <= 3 and body[0] == "first" and body[1] in ("one", "time", "year") \
        and body[2:] in ([], ["here"], ["there"], ["ever"])

_THIRD_PERSON = {"he": {"he", "he's", "his", "him"}, "she": {"she", "she's", "her", "hers"},
                 "they": {"they", "they're", "their", "them"}}
_VERDICT_NOUN = word_set(
    """lucky good great better brave smart nice sweet real true big saint genius lifesaver
    star champ pro natural hero angel trooper gem doll riot hoot mess liar""")
_SAY_VERBS = word_set("say says said think thinks thought know knows knew tell told")
_FRAG_PREP = word_set("in on at for from near during after before since until")
_FRAG_DET = word_set("the a an this that these those")
_NOT_CHECK_PAST = word_set(
    "got had did made said told knew thought felt wanted asked meant mentioned")
_NOT_CHECK_PERFECT = word_set("done been gotten earned deserved helped saved")
# where or how long: "you've lived there all your life", "you've worked here since may"
_PLACE_OR_SPAN = word_set("there here all since years long whole ever always before")
_ANY_WORDS = word_set("anywhere anyone anybody anything")
_CHECK_PREP = word_set("by with on in at near")
# "with your help", "in your dreams", "at your service": formulas, not checks
_NOT_CHECK_NOUN = word_set("help dreams service information sake permission honor case")
# "you have a point", "you got it", "you have a good one": no question
_NOT_HAVE_OBJECT = word_set(
    """to a an the no it that this point idea clue right choice good great nice lovely one
    been got had""")


# A fragment ending in one of these exclaims at their news ("four kids wow").
_EXCLAIM_END = word_set("wow gosh geez jeez man boy whoa")


def _verdict(core: list[str]) -> bool:
    """Does a fragment judge their news rather than echo it: "denver's nice" (the "'s" a
    verb before an adjective), "four kids wow"?"""
    if core[-1] in _EXCLAIM_END:
        return True
    return any(w == "'s" and core[k + 1] in _VERDICT_ADJ for k, w in enumerate(core[:-1]))


_VERDICT_ADJ = word_set(
    """nice great good lovely beautiful pretty cool fun fine awesome amazing wonderful terrible
    awful bad hard tough crazy expensive cheap big small far close""")


def _so_you_goes_on(c: Clause, partner: _Partner) -> bool:
    """A "so you ..." after a back-channel of theirs ("uh-huh", "yeah") goes on with the
    speaker's own explanation ("so you take the first bus and change at the station"): a
    declarative check needs something of theirs to check."""
    if c.mark == "?" or not partner.words or not _said_little(partner):
        return False
    exp = c.exp
    if not exp or exp[0] not in ("so", "oh", "wait"):
        return False
    k = 1
    while k < len(exp) and exp[k] in LEAD:
        k += 1
    if any(exp[j] in AUX and exp[j + 1] == "you" for j in range(k + 1, len(exp) - 1)):
        return False  # asked anew after a restart: "so you have | have you read it yet"
    if exp[k + 1:k + 2] in (["mean"], ["meant"], ["said"]) or exp[k + 1:k + 3] == ["are", "saying"]:
        return False  # "oh you mean the red one", "so you're saying...": their words checked
    return k < len(exp) and exp[k] in ("you", "your")


def _said_little(partner: _Partner) -> bool:
    """Was their last line only a back-channel ("uh-huh", "yeah")? Then the speaker goes on
    with their own telling, and a fragment adds to it rather than asks."""
    return not partner.words or all(w in BACKCHANNEL_WORDS for w in partner.words)


def _elliptical_check(core: list[str]) -> bool:
    """A short fragment that asks without a verb: "anywhere in particular", "anything good",
    "by yourself", "with your wife", "on your own"."""
    if not 2 <= len(core) <= 4 or set(core) & (AUX | {"i", "we", "me", "my", "'s"}):
        return False
    if core[0] in _ANY_WORDS and core[1] in ("in", "else", "good", "special", "interesting",
                                             "exciting", "fun", "new", "close", "nearby"):
        return True
    k = 1 if core[0] == "all" else 0
    return core[k] in _CHECK_PREP and len(core) > k + 1 and core[k + 1] in (
        "yourself", "yourselves", "your", "you") and not set(core) & _NOT_CHECK_NOUN


# After "or" these add to the speaker's own line, they offer no option: "or just release it",
# "or as you said", "or even better", "or maybe not"
_NOT_OR_OPTION = word_set(
    """just maybe as even so rather else like and um uh probably perhaps also actually
    basically whatever something anything somewhere someone nothing more less two three
    later never other another not""")


def _or_option(core: list[str]) -> bool:
    """ "or both", "or for the evening session", "or it's the one downstairs": an
    option added to a question in the air, as a turn of its own. A bare noun phrase ("or a
    bigger room", "or second hand") is left out: in meetings it mostly goes on with the
    speaker's own list (AMI dev meetings: about two in three such acts were not asked).
    After a question of theirs it is an answer's alternative; they are excluded before."""
    if core[:1] != ["or"] or not 2 <= len(core) <= 9:
        return False
    rest = core[1:]
    if rest[0] in _NOT_OR_OPTION or rest[-1] in _NOT_OR_OPTION or set(rest) & SPEAKER_WORDS:
        return False
    if rest[0] in ("it", "that", "this", "they") and rest[1:2] and rest[1] in (
            "is", "are", "was", "'s"):
        return not set(rest[2:]) & (AUX | PRON_SUBJ | {"'s"})
    if set(rest) & (AUX | PRON_SUBJ | {"'s"}):
        return False
    if rest[0] in _OR_QUANT:
        return len(rest) == 1 or rest[1:] in (["of", "them"], ["of", "those"], ["of", "these"])
    # a place, time or use for it: "or for the evening session", "or in the morning"
    return rest[0] in _OR_PREP and 3 <= len(rest) <= 6


_OR_QUANT = word_set("both neither one none all each")
_OR_PREP = word_set("for in on at by with from during after before")


_READY_TO = word_set("go start begin roll")
_AT_TIME = word_set("at about around")
_CLOCK_WORDS = word_set(
    """o'clock oclock thirty fifteen one two three four five six seven eight nine ten eleven
    twelve ish am pm""")


def _ready_or_when(exp: list[str], core: list[str]) -> bool:
    """ "(are you all) ready to go", "(shall we say) maybe at ten o'clock": the room asked,
    with no verb; not after a question of theirs (then it answers it)."""
    if core in (["ready", "to", w] for w in _READY_TO) or (
            core[:1] == ["all"] and core[1:3] == ["ready", "to"] and core[3:] and
            core[3] in _READY_TO and len(core) == 4):
        return True
    return exp[:1] == ["maybe"] and 3 <= len(exp) <= 5 and exp[1] in _AT_TIME and (
        exp[2] in _CLOCK_WORDS or exp[2].isdigit()) and all(
        w in _CLOCK_WORDS or w.isdigit() for w in exp[3:])


def _echo_extended(core: list[str], theirs: Sequence[str]) -> bool:
    """Their short line said back whole with a few words more and no verb of its own: "easy to
    park near the office" after "easy to park", "the red one with the stripes" after "the red one":
    the part they left open, put to them to confirm."""
    n = len(theirs)
    if not 2 <= n <= 4 or not n < len(core) <= n + 4 or list(core[:n]) != list(theirs):
        return False
    if all(w in BACKCHANNEL_WORDS or w in STOPWORDS for w in theirs) or set(core) & (
            _SOCIAL_WORDS):
        return False
    # the words added name what is asked about ("near the office"), not agree ("very nice indeed")
    if not any(len(w) >= 3 and w not in STOPWORDS and w not in BACKCHANNEL_WORDS
               and w not in _HEDGES and w not in _NOT_EXTENSION for w in core[n:]):
        return False
    return not set(core) & (AUX | PRON_SUBJ | SPEAKER_WORDS | {"'s", "me"})


_GREETING_TIME = word_set("morning afternoon evening night day weekend")


def _greets(core: list[str]) -> bool:
    """ "good morning everyone", "good night all": a greeting said back, no question."""
    return any(a == "good" and b in _GREETING_TIME for a, b in zip(core, core[1:], strict=False))


_NOT_EXTENSION = word_set("indeed too though again also either really actually then yet all")


def _echoes(core: list[str], theirs: Sequence[str]) -> bool:
    """Are `core`'s words a run of their last line's words, in order ("all day" after "it
    took all day")? Said back alone they ask to confirm it, even when every word is short."""
    n = len(core)
    return any(list(theirs[i:i + n]) == core for i in range(len(theirs) - n + 1))


# "any time" (you're welcome), "any way", "any more": no question.
_NOT_ANY_Q = word_set("time way more longer of day which one other how good better case")


_ANSWER_WORDS = word_set("no yes yeah yep yup nope nah sure exactly")
# A hedge said back answers ("yes probably" / "probably"); it does not echo to ask.
_HEDGES = word_set("probably maybe possibly perhaps definitely certainly likely hopefully")
_SOCIAL_WORDS = word_set(
    """bye goodbye thanks thank seriously night goodnight cheers welcome sorry hello hi hey
    pleasure same too""")


def _wpm(n_words: int, words: Sequence[Word] | None, duration_s: float | None) -> float | None:
    span = None
    if words:
        try:
            span = float(max(w.end_s for w in words) - min(w.start_s for w in words))
            n_words = len(words)
        except (TypeError, ValueError, AttributeError):
            span = None
    if (span is None or span <= 0) and duration_s is not None:
        try:
            span = float(duration_s)
        except (TypeError, ValueError):
            span = None
    # Under half a second the rate is noise (one word "yeah" would read as 200+ wpm).
    if span is None or span != span or span < 0.5 or n_words == 0:
        return None
    return n_words / span * 60.0


# "I'm three months into...", "I'm from Leeds", "I'm pretty good at..." are not names.
_NOT_NAME_EXTRA = word_set("""
one two three four five six seven eight nine ten eleven twelve twenty thirty half from into in
on at off here there back new old pretty quite kind sort more less still also always never sure
glad happy sorry terrified scared nervous tired excited afraid about between lost stuck retired
""")


def _is_opener(exp: list[str], joined: str) -> bool:
    if GREETING_RE.search(joined):
        return True
    # "i am sam i work in..." at the start of the utterance.
    core = strip_lead(exp)
    if len(core) >= 3 and core[0] == "i" and core[1] == "am":
        cand = core[2]
        if cand not in NOT_NAME and cand not in _NOT_NAME_EXTRA \
                and not cand.endswith(("ing", "ed", "ly")) and cand.isalpha():
            return True
    return False


def _uses_name(words: list[str], name: str | None) -> bool:
    if not name:
        return False
    first = TOKEN_RE.findall(name.lower())
    if not first:
        return False
    target = first[0]
    for w in words:
        w = w[:-2] if w.endswith("'s") else w
        if w == target:
            return True
        # ASR misspellings of longer names ("Priya" -> "pria"): one edit away.
        if len(target) >= 5 and abs(len(w) - len(target)) <= 1 and _edit1(w, target):
            return True
    return False


def _edit1(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:]
    return a[i:] == b[i + 1:]


def _builds_on(exp: list[str], stems: list[str], ctx: TurnContext) -> str | None:
    """Does this text take up a hook or the partner's last line? ("hook:<id>" | "partner")"""
    for hook in ctx.hooks:
        if _hook_in(hook, stems):
            return f"hook:{hook.id}"
    if ctx.partner_text:
        mine = content_stems(exp)
        theirs = content_stems(expand(words_with_marks(tokens(ctx.partner_text))[0]))
        if mine & theirs:
            return "partner"
    return None


# Pointers back at what the partner said. "he/she" point at a person (or pet) they mentioned;
# the others at anything. "this/these" mostly point at the here and now ("this place").
_POINT_PERSON = word_set("he she him his her hers")
_POINT_THING = word_set("it its they them their theirs that those there")
_DEMONSTRATIVE = word_set("that those this these")
_BEFORE_PRONOUN = word_set("do doing done about of with like into from for at in on")
# Words a follow-up is made of whatever it asks about ("how old is he", "how are you finding
# it so far"): they do not give the question a subject of its own.
_FRAME_STEMS = frozenset(stem(w) for w in word_set("""old long many much far along often big enjoying enjoy
    finding find liking love loving feel feeling settling settle coping cope handling handle
    managing manage happened happen started start ended end named name called call going
    doing decide decided choose chose pick picked plan planning hope hoping expect expected
    surprised surprise miss missing change changed first last next new best worst favourite
    favorite hardest hard easy fun different"""))
# Stop words that still give a question a subject of its own: "what's it like working
# there?" asks about their job, not about the bees they just mentioned.
_WORK_WORDS = word_set("work works working worked job jobs")
# Shared words too common to show that a question builds on the partner's line: "our new
# rescue puppy" and "what do you think of the new iphone" share only "new"; "this place" is
# the venue whoever mentions it.
_WEAK_LINK = frozenset(stem(w) for w in word_set("""new old big small first last next best
    better whole real high low early late few place week weeks today tomorrow tonight month
    months morning evening sometime"""))


def _partner_words(partner_text: str) -> list[str]:
    return expand(words_with_marks(tokens(partner_text))[0])


def _pointer(exp: list[str], partner_stems: set[str]) -> str | None:
    """How the question points back: "person" (he/she), "thing" (it/that/they...) or None.

    A demonstrative before a noun the partner did not say is no pointer ("this place",
    "that iphone"); "is there" and "there is" are no pointer either.
    """
    n = len(exp)
    for w in exp:
        if w in _POINT_PERSON:
            return "person"
    for i, w in enumerate(exp):
        prev = exp[i - 1] if i else ""
        nxt = exp[i + 1] if i + 1 < n else ""
        # "running this place": a determiner; "did that happen", "do that": a pronoun.
        if w in _DEMONSTRATIVE and nxt and prev not in AUX and prev not in _BEFORE_PRONOUN and (
                nxt not in STOPWORDS and nxt not in AUX and stem(nxt) not in partner_stems):
            continue
        if w == "there" and (prev in AUX or nxt in AUX):
            continue
        if w in _POINT_THING:
            return "thing"
    if FOLLOW_PHRASE_RE.search(" ".join(strip_lead(exp))):
        return "thing"  # "how so", "tell me more", "what happened next"
    return None


def _hooks_in_partner(ctx: TurnContext) -> list[HookCue]:
    """The dropped hooks the partner's last line mentions, the latest first."""
    stems = [stem(w) for w in _partner_words(ctx.partner_text)]
    return [h for h in reversed(ctx.hooks) if _hook_in(h, stems)]


def hook_followed(
    question: str | Sequence[str],
    context: TurnContext,
    utterance: str | Sequence[str] = "",
    *,
    meaning: Embedder | None = None,
) -> str | None:
    """The hook a question takes up, or None. The one rule of hook uptake.

    The conversation reacts to it (warmth, the hook's warm answer) and the scorecard counts
    it, so the persona's reaction and the hook-uptake figure always agree. A question takes up
    a hook the partner dropped when:

    1. it names the hook: one of its cue words, in the question itself, or earlier in the
       same utterance with the question pointing back ("a rescue puppy! how old is he?");
    2. right after the line that dropped it, it points back at it: "he/she" (hooks are the
       people and pets in the partner's life), or "it/that/they" in a question with no
       subject of its own ("how are you finding it?" - but not "are they hiring?");
    3. right after that line, it takes up a word said next to the hook ("training for my first
       marathon" -> "how's the training going?") and has no subject of its own ("what do you
       think of the new iphone?" shares only "new" with "our new rescue puppy");
    4. with an embedder: it means what the hook is about, in other words ("do you help with
       the harvest?" after "my parents have a small vineyard"), whenever it comes.

    Args:
        question: the question clause (text, or its expanded lowercase words).
        context: the partner's last line and the hooks dropped so far.
        utterance: the whole utterance the question is part of (for rule 1), if longer.
        meaning: a sentence embedder for rule 4 (None: rules 1-3 only).
    """
    exp = _as_words(question)
    return _hook_followed(exp, [stem(w) for w in _as_words(utterance) or exp], context,
                          meaning)


def _as_words(text: str | Sequence[str]) -> list[str]:
    return _partner_words(text) if isinstance(text, str) else list(text)


def _hook_followed(exp: list[str], stems_all: list[str], ctx: TurnContext,
                   meaning: Embedder | None = None) -> str | None:
    stems_q = [stem(w) for w in exp]
    partner = _partner_words(ctx.partner_text) if ctx.partner_text else []
    partner_stems = content_stems(partner)
    pointer = _pointer(exp, partner_stems)
    for hook in ctx.hooks:  # 1: the hook named, or the question the persona file suggests
        if _hook_in(hook, stems_q) or (pointer and _hook_in(hook, stems_all)) or \
                _asks_suggestion(exp, hook):
            return hook.id
    here = _hooks_in_partner(ctx) if partner else []
    intro = bool(INTRO_RE.search(" ".join(strip_lead(exp))))
    # 1b: named just before the question, right after they said it ("wow from teaching to
    # recruiting, that's a big change, do you miss the classroom"); not a word somewhere in a
    # long story of the user's own
    just_before = stems_all[-(len(exp) + _NAMED_BEFORE_WORDS):]
    for hook in here:
        if not intro and _hook_in(hook, just_before):
            return hook.id
    if not here and pointer and ctx.earlier_partner_text:
        # "how far along are you with it?" two lines after "I'm renovating an old barn"
        earlier = [stem(w) for w in _partner_words(ctx.earlier_partner_text)]
        here = [h for h in reversed(ctx.hooks) if _hook_in(h, earlier)]
    mine = content_stems(exp)
    own = (mine | {w for w in exp if w in _WORK_WORDS}) - partner_stems - _FRAME_STEMS
    if here and (pointer == "person" or (pointer == "thing" and not own)):  # 2: pointing back
        return here[0].id
    if here and not intro and partner:  # 2b: "it" after a verb or preposition points at the
        # last thing they told ("which leg of it is the hardest" after "...I'm training for a
        # triathlon"), even with words of its own; not "is it hard to..." (no pointer there)
        last = _last_told(ctx.partner_text)
        hook = next((h for h in here if _hook_in(h, last)), None)
        if hook and any((w in ("it", "that") and i and exp[i - 1] in _BEFORE_PRONOUN)
                        or (w == "there" and pointer == "thing" and i
                            and exp[i - 1] not in AUX and exp[i - 1] not in _WORK_WORDS)
                        for i, w in enumerate(exp)):
            return hook.id
        # 2c: nothing of its own to ask about ("how many have you got?" right after "my desk
        # is covered in photos of my spaniels, I show them at weekends"; not "do you like
        # your job?", nor an answer to what they asked last)
        subject = mine | {w for w in exp if w in _WORK_WORDS}
        if hook and not any(not _story_word(w) for w in subject) and \
                not ctx.partner_text.rstrip().endswith("?"):
            return hook.id
    if here and not intro:  # 3: a word said next to the hook
        # ("what do you look for in a graduate application" after "we doubled the graduate
        # intake this year, twelve places"); with a subject of its own, two such words or a
        # word of the hook's label ("twelve graduate places")
        seq = [stem(w) for w in partner]
        for hook in here:
            near = (mine - _WEAK_LINK) & _near_hook(hook, seq)
            label = content_stems(expand(words_with_marks(tokens(hook.label))[0]))
            if near and (not own or len(near) >= 2 or near & label):
                return hook.id
    if meaning is not None and ctx.hooks and mine - _FRAME_STEMS:  # 4: by meaning
        return _hook_by_meaning(" ".join(exp), ctx.hooks, meaning)
    return None


def _last_told(partner_text: str) -> list[str]:
    """The stems of the partner's last sentence that told something (not a question)."""
    for sent in reversed(re.split(r"(?<=[.!?])\s+", partner_text.strip())):
        if sent and not sent.rstrip().endswith("?"):
            return [stem(w) for w in _partner_words(sent)]
    return []


_NAMED_BEFORE_WORDS = 10  # how far before a question a hook named still leads into it


def _asks_suggestion(exp: list[str], hook: HookCue) -> bool:
    """Does the question ask what the hook's suggested question asks (most of its words)?"""
    want = content_stems(expand(words_with_marks(tokens(hook.suggestion))[0])) - _FRAME_STEMS
    return len(want) >= 2 and len(want & content_stems(exp)) / len(want) >= 0.5


def _hook_texts(hook: HookCue, questions: bool = True) -> list[str]:
    """What a hook is about, in words: its label, the lines that say it and (for matching
    questions) the question the persona file suggests about it."""
    return [t for t in (hook.label, *hook.texts, hook.suggestion if questions else "") if t]


def _hook_by_meaning(question: str, hooks: Sequence[HookCue], meaning: Embedder) -> str | None:
    """The dropped hook the question is closest to in meaning, if close enough."""
    best, best_id = 0.0, None
    for hook in hooks:
        texts = _hook_texts(hook)
        sim = max(_sims(meaning, question, texts), default=0.0)
        if sim > best:
            best, best_id = sim, hook.id
    return best_id if best >= HOOK_SIM else None


def sentences_saying(text: str, hook: HookCue) -> tuple[str, ...]:
    """The sentences of a persona line that name one of the hook's cue words (else the whole
    line): what the hook is about in the words it was said with, for matching by meaning."""
    said = tuple(s for s in _sentences(text)
                 if _hook_in(hook, [stem(w) for w in _partner_words(s)]))
    if said:
        return said
    whole = " ".join(w for w in tokens(text) if w not in "?.!;,\n")
    return (whole,) if whole else ()


def hooks_named(text: str, hooks: Sequence[HookCue]) -> list[str]:
    """Ids of the hooks one of whose cue words a persona line uses in what it tells (not in
    what it asks): a hint that the line may say the hook, too weak on its own (see
    `hooks_said`), which the user's question can confirm by taking it up."""
    told = [" ".join(c.words) for c in clauses(tokens(text)) if not question_form(c.exp, c.mark)]
    stems = [stem(w) for w in _partner_words(" ".join(told))]
    return [h.id for h in hooks if _hook_in(h, stems)]


def named_hooks_taken(text: str, context: TurnContext,
                      named: Sequence[tuple[HookCue, str]],
                      meaning: Embedder | None = None) -> list[str]:
    """Ids of the hooks a persona line only named (one cue word, `hooks_named`; each given
    with that line) that the user's next turn `text` takes up: said then, and taken up ("my
    daughter does the Saturday shifts now" - "is she any good at it?"). The persona
    (conversation) and the scorecard (scoring) both ask this, so they count the same hooks."""
    if not named or not text.strip():
        return []
    pending = tuple(replace(c, texts=c.texts + tuple(x for x in sentences_saying(line, c)
                                                     if x not in c.texts))
                    for c, line in named)
    taken = analyze_utterance(text, replace(context, hooks=(*context.hooks, *pending)),
                              meaning=meaning).hooks_taken
    return [c.id for c, _ in named if c.id in taken]


def hooks_said(text: str, hooks: Sequence[HookCue], meaning: Embedder | None = None
               ) -> list[str]:
    """Ids of the hooks whose content a persona line says, tagged or not.

    A hook is dropped as soon as any line says it: the scripted hook line, or an answer that
    mentions the detail ("I taught chemistry for six years..."). Said = two of its cue words
    and much of a line that says it (its `texts`, when known); or, with an embedder, one cue
    word in a sentence very close in meaning to such a line. Cue words alone are weak: they
    are the words that show a *question* took a hook up, and an answer uses them in passing.
    """
    # what the line tells, not what it asks ("have you ever had a mentor?" drops nothing)
    told = [" ".join(c.words) for c in clauses(tokens(text)) if not question_form(c.exp, c.mark)]
    text = " ".join(told)
    stems = [stem(w) for w in _partner_words(text)]
    mine = content_stems(_partner_words(text))
    out = []
    for hook in hooks:
        hits = sum(1 for cue in hook.cues if _cue_match(_cue_stems(cue), stems))
        # Two cue words, and (when the persona file gives the lines that say the hook) much of
        # one of those lines: "a literacy charity" names two cues of "left consulting for a
        # charity" without saying it.
        if hits >= 2 and (not hook.texts or any(
                _overlap(mine, content_stems(_partner_words(t))) >= SAID_OVERLAP
                for t in hook.texts)):
            out.append(hook.id)
            continue
        if meaning is None or not hits or not hook.texts:
            continue
        sim = max((s for sent in _sentences(text) for s in _sims(meaning, sent, hook.texts)),
                  default=0.0)
        if sim >= SAID_SIM:
            out.append(hook.id)
    return out


def _question_kind(
    c: Clause,
    form: str,
    all_clauses: list[Clause],
    stems_all: list[str],
    ctx: TurnContext,
    partner_q: list[tuple[str, set[str]]],
    meaning: Embedder | None = None,
) -> tuple[str, str | None]:
    """(kind, follow_up) of one question clause in its context."""
    exp = c.exp
    joined = " ".join(strip_lead(exp))
    if form == "mirror":
        return "mirror", None
    # A question that repeats the partner's own question back is a mirror too ("is this your
    # first fair?" - "is it yours too?"); one that opens differently asks something else ("did
    # the talk make sense?" - "what was your talk about?").
    mine = content_stems(exp)
    if mine and ("you" in exp or "your" in exp) and any(
            mine <= theirs and _opening(exp) == opening for opening, theirs in partner_q):
        return "mirror", None
    if " ".join(strip_lead(exp)) in _partner_questions(ctx.partner_text):
        return "mirror", None  # "what do you do?" sent back word for word
    hook = _hook_followed(exp, stems_all, ctx, meaning)
    if hook:
        return "follow_up", f"hook:{hook}"
    partner_stems = content_stems(_partner_words(ctx.partner_text))
    said_before = [w for cl in all_clauses if cl is not c for w in cl.exp]
    stmt_stems = content_stems(said_before)
    referential = _pointer(exp, partner_stems) is not None
    intro = bool(INTRO_RE.search(joined))
    if ctx.partner_text:
        link = partner_stems - _WEAK_LINK
        if _linked(mine, link):
            return "follow_up", "partner"
        if referential and stmt_stems & link:
            return "follow_up", "partner"
        earlier = content_stems(_partner_words(ctx.earlier_partner_text)) - _WEAK_LINK
        if referential and stmt_stems & earlier:
            return "follow_up", "partner"  # "and the tenants, do they like it?"
        if not intro and _linked(mine - _FRAME_STEMS, earlier):
            return "follow_up", "partner"
    # A pronoun points at the partner's line unless the user just brought up a topic of their
    # own ("the dumplings are great, have you tried them?").
    own_topic = bool(stmt_stems - partner_stems)
    if ctx.partner_text and referential and not intro and not own_topic:
        return "follow_up", "partner"
    if ctx.partner_text and not intro and not own_topic and _builds_by_meaning(
            exp, mine, ctx, meaning):
        return "follow_up", "partner"
    if ctx.first_user_turn and ctx.partner_text and not intro and not own_topic and \
            _asks_about_opening(exp, ctx, meaning):
        return "follow_up", "partner"
    if intro or ctx.first_user_turn or not ctx.partner_text:
        return "introductory", None
    return "topic_switch", None


FIRST_STOCK_SIM = 0.45  # below it, a first question is not one anyone asks anyone


def _asks_about_opening(exp: list[str], ctx: TurnContext, meaning: Embedder | None) -> bool:
    """The user's first question, right after an opening line that told something and asked
    nothing ("I manage the porters at the general hospital, forty people moving patients..."):
    with nothing else said yet, a question that is not one anyone asks anyone at an event
    ("how do you keep track of where everyone is?", not "how's your evening going?") asks
    about what they told. Needs the embedder to tell a stock question."""
    partner = _Partner.of(ctx.partner_text)
    if meaning is None or partner.asked or len(content_stems(list(partner.words))) < 4:
        return False
    question = " ".join(exp)
    if ASK_RE.search(question):
        return False
    return max(_sims(meaning, question, _STOCK_QUESTIONS), default=0.0) < FIRST_STOCK_SIM


# Words of a question that ask about a story without naming a topic: "what was the hardest
# part of the first year?" after "I started Loopware from my kitchen table".
_STORY_STEMS = _FRAME_STEMS | frozenset(stem(w) for w in word_set("""part year years thing
    things bit moment reason challenge challenges lesson lessons story most biggest toughest
    scariest best worst favourite favorite time times day days point way like think mean
    exactly really keep keeps kept come coming came back make makes made get gets got ask
    asked someone people anyone one ones have had see seen heard happen"""))


def _story_word(st: str) -> bool:
    """A word that asks about their story rather than naming a topic (superlatives too:
    "the oldest", "the strangest")."""
    return st in _STORY_STEMS or (len(st) >= 6 and st.endswith("est"))


def _builds_by_meaning(exp: list[str], mine: set[str], ctx: TurnContext,
                       meaning: Embedder | None) -> bool:
    """Does a question with no word in common with the partner's line build on it anyway?

    - it asks about their story without a topic of its own ("what was the hardest part?",
      "how did you get them back?") right after they told one (a line of 6+ content words
      that was not a question);
    - with an embedder: it is close in meaning to one of the partner's sentences.
    """
    partner = _Partner.of(ctx.partner_text)
    told = len(content_stems(list(partner.words))) >= 4 and not partner.asked
    if partner.asked and not told:
        # they told their story, then asked back ("I volunteered on Saturdays for a year
        # first, and they asked me to apply... What do you do?"): "what got you started?"
        # still builds on the story
        told = len(content_stems(_told_words(ctx.partner_text))) >= 6
    core = strip_lead(exp)
    if told and core and core[0] in WH and not any(not _story_word(w) for w in mine):
        return True
    # A wh-question without a verb only makes sense on their line: "which app", "where up
    # north", "why so tired", "what kind of work".
    if partner.words and not partner.asked and core and core[0] in WH and len(core) <= 4 \
            and not (set(core) & (AUX | PRON_SUBJ)):
        return True
    question = " ".join(exp)
    if meaning is None or ASK_RE.search(question):
        # an ask to meet again ("would you want to grab a coffee sometime?") is close in
        # meaning to any line about plans; it builds on theirs only by naming it (the words)
        return False
    # the last line only: the line before last is matched by its words (embedding both would
    # double the cost of `trainer analyze` on a long transcript)
    sims = _sims(meaning, question, _sentences(ctx.partner_text))
    near = max(sims, default=0.0)
    if near >= FOLLOW_SIM:
        return True
    # Closer to what they said than to any stock question: it builds on their line.
    stock = max(_sims(meaning, question, _STOCK_QUESTIONS), default=0.0)
    return near >= FOLLOW_SIM_NEAR and near - stock >= FOLLOW_MARGIN


def _told_words(partner_text: str) -> list[str]:
    """The words of the partner's line before the question it ends on."""
    cl = clauses(tokens(partner_text))
    while cl and (question_form(cl[-1].exp, cl[-1].mark) is not None
                  or choice_form(cl[-1].exp) is not None):
        cl = cl[:-1]
    return [w for c in cl for w in c.exp]


def _linked(mine: set[str], theirs: set[str]) -> bool:
    """A content word in common, or one word's family ("engineering" - "engineer",
    "translation" - "translate"): the stems share their first five letters."""
    if mine & theirs:
        return True
    return any(len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5] for a in mine for b in theirs)


def _near_hook(hook: HookCue, partner_seq: list[str], window: int = 5) -> set[str]:
    """Content stems within `window` words of where the partner dropped the hook."""
    out: set[str] = set()
    cues = [c for c in (_cue_stems(cue) for cue in hook.cues) if c]
    for i in range(len(partner_seq)):
        if any(_cue_match(c, partner_seq[i:i + len(c)]) for c in cues):
            lo, hi = max(0, i - window), i + window + 1
            out |= {w for w in partner_seq[lo:hi] if len(w) >= 3 and w not in STOPWORDS}
    return out
