"""Paraphrase routing: which of a persona's topics a question asks about.

Pure: a question's text in (punctuated or not - Whisper's punctuation is unreliable), a topic id
out. The question is normalised (contractions expanded, idioms mapped to a word, light stems,
synonym groups folded to one canonical word), then compared with each topic's ways of asking
(`asks`) by idf-weighted cosine similarity; the topic's whole vocabulary and, more weakly, the
words of its answers break ties. Below `ROUTE_THRESHOLD` the question is unknown and the
conversation deflects. The accuracy is measured on tests/data/paraphrases.yaml
(benchmarks/routing.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from trainer.personas import Persona, ask_key

BAG_WEIGHT = 0.6  # a match spread over several ways of asking counts a little less
ANSWER_WEIGHT = 0.25  # bonus for words of the topic's answers
UNKNOWN_WEIGHT = 0.5  # weight of a word no topic uses, relative to the rarest known word
ROUTE_THRESHOLD = 0.35  # below this the question is unknown and gets a deflection


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Phrases first (on normalised text): idioms whose words alone say little.
_PHRASES = [
    (r"\bwhat did you do before\b|\bbefore you (?:joined|started|came|worked)\b", " before "),
    (r"\bwhat (?:do|does) (?:you|they|she|he|your team) do\b"
     r"(?! for fun| in your| on (?:the )?weekend| outside| when| to (?:relax|unwind)| after)",
     " job "),
    (r"\bwhat (?:is|was) (?:it|that) like\b", " experience "),
    (r"\bhow (?:did|do) you (?:get|got|end up|wind up|come|came|land|landed|fall|fell)\b",
     " path "),
    (r"\bhow did (?:you|\w+|it all) (?:get started|start|begin|become|come about)\b", " path "),
    (r"\bwhat (?:got|brought|led|drew|pulled) you (?:into|to)\b", " path "),
    (r"\b(?:end|ended|wind|wound) up\b", " path "),
    (r"\b(?:move|moved|switch|switched|go|went|get|got|jump|jumped) from\b", " path "),
    (r"\bwhat (?:brings|brought) you\b", " bring "),
    (r"\bwhy are you here\b", " bring "),
    (r"\bwhat made you\b", " motivation "),
    (r"\bfree time\b|\bspare time\b|\boutside (?:of )?(?:work|the \w+|this|all this)\b|"
     r"\bwhen you are not (?:\w+ing|at|in|here)\b|\bto (?:switch off|unwind|relax)\b|"
     r"\bget away from\b|\bfor fun\b", " hobby "),
    (r"\bday to day\b|\bday-to-day\b|\btypical day\b|\baverage day\b", " daily "),
    (r"\bfirst time\b", " firsttime "),
    (r"\blook(?:ing|s)? for\b|\bstand(?:s)? out\b", " criteria "),
    # "do you like", "do people like": liking; "what are they like" is not.
    (r"\b(you|i|people|they|we|everyone|folks) (?:really )?like\b", r" \1 enjoy "),
    (r"\bhow long\b|\bbeen (?:\w+ ){1,4}long\b", " duration "),
    (r"\bhow many\b|\bhow (?:big|large)\b", " count "),
    (r"\bhow much\b", " amount "),
    (r"\bmore about yourself\b|\babout yourself\b", " yourself "),
]
_PHRASES_RE = [(re.compile(p), rep) for p, rep in _PHRASES]

_CONTRACTIONS = {
    "what's": "what is", "whats": "what is", "how's": "how is", "hows": "how is",
    "where's": "where is", "who's": "who is", "that's": "that is", "it's": "it is",
    "you're": "you are", "youre": "you are", "i'm": "i am", "im": "i am", "we're": "we are",
    "they're": "they are", "don't": "do not", "dont": "do not", "doesn't": "does not",
    "didn't": "did not", "isn't": "is not", "aren't": "are not", "i've": "i have",
    "you've": "you have", "i'd": "i would", "you'd": "you would", "what're": "what are",
    "wanna": "want to", "gonna": "going to", "y'all": "you all", "ya": "you",
}

STOP_WORDS = _word_set("""
a an the is are was were be been being am do does did doing done have has had having i me my
myself you your yours yourself we our us it its this that these those to of in on at for with
about and or but so as by from into than then just really very kind sort like um uh er erm hmm
well oh okay ok yeah hey hi hello actually maybe bit lot little can could would will should may
might must also too any some much many get got go going know tell say said think mean want
wanted curious wondering wonder hear there here ever if please thing things stuff quite
pretty guess any one anything something all out up right now more knew known look time
them they he she him her their theirs
""")

# Stems of stop words' other forms ("getting" -> "get"); "sorting" must survive "sort of".
_STOP_STEMS = _word_set("get go say think know want look tell mean")
_WH = _word_set("what how why where when who which whose")

# Groups of words that mean the same thing when asking; the first is the canonical form.
_SYNONYMS = [
    "job role position career occupation profession title gig",
    "company firm organisation organization org business employer outfit",
    "hire hiring recruit recruiting opening vacancy vacancies headcount fill",
    "apply application applicant resume cv candidate",
    "start begin founded found launch started",
    "path journey background story route",
    "event fair meetup conference mixer gathering session",
    "enjoy like love favourite favorite best fun",
    "hard challenge challenging difficult tough struggle problem hardest toughest tricky",
    "team colleague colleagues crew squad department staff",
    "fund funding money invest investor raise capital backer backing financially finance",
    "leave left quit quitting resign resigned",
    "hobby hobbies weekend weekends downtime",
    "advice tip tips recommend recommendation suggest suggestion prepare preparation",
    "responsible responsibility charge",
    "analysis analyse analyze analyst analytics",
    "daily routine typical",
    "other else besides beside beyond",
    "before earlier previously prior",
    "today tonight",
    "come came coming attend attending",
    "family families household households",
    "volunteer volunteering volunteers help helping",
    "student students graduate graduates grad grads intern interns internship",
    "talk presentation keynote speech slides",
    "tech technology stack tools tool software",
    "city town area neighborhood neighbourhood",
    "study studied school university college degree major",
    "alumni alumnus alum association network",
    "mentor mentoring mentorship mentee coaching",
    "customer customers client clients user users",
    "product products service services offering",
    "food feed meal meals groceries grocery",
    "learn learned learning lesson lessons",
    "plan plans next future goal goals",
]


def _stem(word: str) -> str:
    # Light suffix stripping so plurals and -ing forms meet ("hiring" ~ "hire" via synonyms).
    w = word
    for suf, rep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suf) and len(w) - len(suf) >= 3 and not w.endswith("ss"):
            if suf == "es" and not w.endswith(("ses", "xes", "ches", "shes")):
                continue
            w = w[: -len(suf)] + rep
            break
    if len(w) >= 4 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # running -> runn -> run
    return w


_CANON: dict[str, str] = {}
for _group in _SYNONYMS:
    _words = _group.split()
    for _w in _words:
        _CANON.setdefault(_stem(_w), _stem(_words[0]))


def normalise(text: str) -> list[str]:
    """Content tokens of a question: lowercased, contractions expanded, stems, synonyms."""
    t = " " + text.lower().replace("\u2019", "'") + " "
    t = re.sub(r"[^a-z0-9' ]+", " ", t)
    t = " " + " ".join(_CONTRACTIONS.get(w, w) for w in t.split()) + " "
    for rx, rep in _PHRASES_RE:
        t = rx.sub(rep, t)
    out = []
    for w in t.split():
        w = w.strip("'")
        if w.endswith("'s"):
            w = w[:-2]
        if not w or w in STOP_WORDS:
            continue
        s = _stem(w)
        if s in _STOP_STEMS:
            continue
        out.append(_CANON.get(s, s))
    return out


@dataclass
class _Router:
    """Per-persona index: idf weights and the token sets of each topic's ways of asking."""

    idf: dict[str, float]
    unknown_idf: float
    asks: list[tuple[str, frozenset[str]]] = field(default_factory=list)  # (topic id, tokens)
    bags: dict[str, frozenset[str]] = field(default_factory=dict)  # topic id -> all tokens
    said: dict[str, frozenset[str]] = field(default_factory=dict)  # topic id -> answer tokens


def _router(persona: Persona) -> _Router:
    cached = persona._cache.get("router")
    if cached is not None:
        return cached
    asks = [(t.id, frozenset(normalise(a))) for t in persona.topics for a in t.asks]
    bags: dict[str, set[str]] = {}
    for tid, toks in asks:
        bags.setdefault(tid, set()).update(toks)
    n = len(bags)
    df: dict[str, int] = {}
    for toks in bags.values():
        for w in toks:
            df[w] = df.get(w, 0) + 1
    idf = {w: math.log((n + 1) / (d + 0.5)) for w, d in df.items()}
    # Words no topic uses count half a rare word: they dilute a match ("favourite movie")
    # without letting one unexpected word sink an otherwise clear question.
    said = {t.id: frozenset(tok for a in t.answers for tok in normalise(a.text))
            for t in persona.topics}
    router = _Router(idf=idf, unknown_idf=UNKNOWN_WEIGHT * math.log((n + 1) / 0.5), asks=asks,
                     bags={k: frozenset(v) for k, v in bags.items()}, said=said)
    persona._cache["router"] = router
    return router


def topic_scores(persona: Persona, text: str) -> list[tuple[str, float]]:
    """Every topic with its similarity to `text` (0..1), best first."""
    r = _router(persona)
    q = set(normalise(text))
    if not q:
        return [(t.id, 0.0) for t in persona.topics]

    def w(tok: str) -> float:
        return r.idf.get(tok, r.unknown_idf)

    qn = math.sqrt(sum(w(t) ** 2 for t in q))
    best: dict[str, float] = {t.id: 0.0 for t in persona.topics}
    for tid, toks in r.asks:
        if not toks:
            continue
        shared = q & toks
        if not shared - _WH:  # "what" alone is no evidence of a topic
            continue
        num = sum(w(t) ** 2 for t in shared)
        cos = num / (qn * math.sqrt(sum(w(t) ** 2 for t in toks)))
        best[tid] = max(best[tid], cos)
    # The topic's whole vocabulary catches questions that mix words of two ways of asking.
    for tid, bag in r.bags.items():
        shared = q & bag
        if shared - _WH:
            cover = sum(w(t) ** 2 for t in shared) / qn**2
            best[tid] = max(best[tid], BAG_WEIGHT * cover)
    # What the persona says in its answers is weaker evidence: it breaks ties and catches a
    # question about a detail of the answer ("where do the food parcels go").
    for tid, bag in r.said.items():
        shared = (q & bag) - _WH
        if shared:
            best[tid] += ANSWER_WEIGHT * sum(w(t) ** 2 for t in shared) / qn**2
    return sorted(best.items(), key=lambda kv: -kv[1])


def route_topic(persona: Persona, text: str) -> str | None:
    """The topic a question asks about, or None when it matches none well enough.

    Works on Whisper's unpunctuated lowercase text as well as on typed text.
    """
    scores = topic_scores(persona, text)
    if not scores or scores[0][1] < ROUTE_THRESHOLD:
        return None
    return scores[0][0]



# --- routing by meaning -----------------------------------------------------------------------
#
# The lexical router above reached its ceiling (issue 12: a third of ordinary lines answered).
# The meaning router compares the user's line with every example a persona file gives - the ways
# of asking a topic, what each answer is best at answering, each answer's follow-up details, the
# hook's direct asks and its lines - as sentence vectors (trainer/meaning.py, handed in), adds
# the lexical score as a feature, and knows the conversation so far: the last answer's
# follow-ups and its subject (what "it" and "that" mean now) get a bonus. Pure: the embedder is
# an object with `embed(texts) -> unit rows`, so tests hand in a fake.

@dataclass(frozen=True)
class RouterOptions:
    """Weights of the meaning router; chosen on the dev split of tests/data/persona_eval.yaml
    (benchmarks/persona_eval.py --tune), reported on its test split."""

    clause_weight: float = 0.6  # the question clause vs the whole utterance (route both)
    lex_weight: float = 0.25  # the lexical router's score as a feature
    answer_text_weight: float = 1.0  # an answer's own text as an example (a statement)
    follow_up_text_weight: float = 0.95  # a follow-up detail's text as an example
    mention_weight: float = 0.8  # a hook's mention lines as examples
    context_bonus: float = 0.08  # a follow-up of the answer just given
    topic_bonus: float = 0.04  # the topic just talked about
    top_k: int = 2  # a target's score: the mean of its k best examples
    single_penalty: float = 0.1  # ...or its best example less this, if that is higher
    standard_weight: float = 0.95  # the shared ways of asking about an ordinary topic
    cue_bonus: float = 0.1  # a hook whose cue word the line says
    name_bonus: float = 0.25  # a hook whose proper name the line says ("Biscuit", "Lagos")
    sensitive_bonus: float = 0.35  # a personal topic when the line asks about money, age...
    intent_bonus: float = 0.2  # the ordinary topic a line's words plainly name
    intent_gap: float | None = 0.3  # ...unless another example is closer by more than this
    private_penalty: float = 0.0  # a personal topic when the line has no sensitive word
    third_party_penalty: float = 0.5  # a personal topic when the line asks about he/she/it
    unsure_bonus: float = 0.15  # "do you know which room...": a detail outside their world
    threshold: float = 0.40  # below this the line matches nothing well enough: steer back


ROUTER_OPTIONS = RouterOptions()
MEANING_THRESHOLD = ROUTER_OPTIONS.threshold
ANSWER_TIE = 0.03  # answers within this of the best fit equally: seeded variety among them

# Words that say plainly which ordinary topic a line asks about, whatever else it mentions
# ("what do you do when you're not working on the startup?" is about weekends, not the
# startup): a bonus for the topic that is (or covers) that standard subject.
_INTENT_CUES = {t: re.compile(p, re.IGNORECASE) for t, p in {
    "weekends": r"\b(?:weekends?|for fun|free time|spare time|hobby|hobbies|switch off|unwind|"
                r"outside (?:of )?(?:work|the \w+|this|all this)|when you'?re not|"
                r"when you are not|get away from|time off|days? off)\b",
    "family": r"\b(?:kids|children|married|husband|wife|partner|family|families|pets?|"
              r"parents?|siblings?|brothers?|sisters?|at home)\b",
    "advice": r"\b(?:advice|tips?|if you were me|in my shoes|what should i|where should i|"
              r"would you tell|would you do|would you recommend)\b",
    "week_hard": r"\b(?:hardest|toughest|worst|low points?|rough (?:week|day|patch)|"
                 r"(?:hard|bad|worst) (?:bit|part|day)s?|challeng\w*|struggl\w*|wearing you down|on fire|"
                 r"going wrong|sideways|frustrat\w*|keeps you up)\b",
    "week_best": r"\b(?:highlight|best part|best thing|favourite part|favorite part|"
                 r"most rewarding)\b",
    "surprising": r"\b(?:weird\w*|surpris\w*|strange\w*|oddest|odd (?:thing|fact|pattern)s?|"
                  r"fun fact|nobody knows|"
                  r"people don'?t know)\b",
    "current_work": r"\b(?:working on|on your plate|keeping you busy|what'?s next|up next)\b",
}.items()}

# "when you're not behind the booth, what does your actual job look like?" asks about the job;
# "do you work weekends?" asks about the working week, not what the weekends are for
_JOB_DAY_RE = re.compile(
    r"\b(?:your|the) (?:actual |normal |typical |average |usual |real )?(?:job|day|work|role|"
    r"workday|working day)\b(?:\s+\w+){0,2}\s+(?:look|looks|like|involve|involves)\b|"
    r"\b(?:work|working|on call|on shift)\s+(?:at |on |over |the |most |many |any |every )*"
    r"(?:weekends?|saturdays?|sundays?)\b", re.I)

# "Do you happen to know which room...": asks for a fact, often outside the persona's world.
_DO_YOU_KNOW_RE = re.compile(
    r"\b(?:do|would) you (?:happen to |by any chance )?know (?:what|which|who|where|when|how|"
    r"if|whether)\b|\bany idea (?:what|which|who|where|when|how|if)\b", re.IGNORECASE)

SHORT_WORDS = 6  # a question this short leans on the conversation so far (double bonus)
# What people ask that a persona would rather not say: pay, age, politics, religion, dating.
_SENSITIVE_RE = re.compile(
    r"\b(?:earn|earns|earning|salary|salaries|paid|wage|wages|income|how much do you make|"
    r"pays? (?:you|u|yourself|recruiters|founders|engineers|directors|managers)\b|"
    r"take[- ]home pay|"
    r"make a year|how old (?:are|r) (?:you|u)\b|your age|vote|voted|politics|political|religious|religion|"
    r"girlfriend|boyfriend|dating|divorced|blame|strikes?|independence|brexit|whose side|"
    r"which side|your side|yes or (?:a )?no|left or right|"
    r"make(?= a year| per| roughly| an hour| in a year|\s*[?,.]|\s*$)|"
    r"what (?:do|does|would|did) (?:\w+ ){1,3}(?:make|earn|get paid)\b(?! (?:of|it|sense|with|from|for|out|them|that|this|those)\b))",
    re.IGNORECASE)
_PAY_RE = re.compile(r"\b(?:salary|salaries|pay|pays|paid|wages?|earn|earns|earning|make|"
                     r"package|starting)\b", re.I)
# A job on offer, or the user's own pay in it ("would i earn", "the starting salary")
_ON_OFFER_RE = re.compile(
    r"\b(?:roles?|jobs?|positions?|scheme|programme|program|internships?|placements?|"
    r"vacanc(?:y|ies)|openings?|grads?|graduates?|interns?|new starters?|"
    r"would i|will i|do i|i would|i'd)\b|"
    r"\bthe (?:starting |base )?(?:salary|pay|wage|package)\b|\bstarting salary\b", re.I)
# ...unless it asks what the persona itself is paid
_OWN_PAY_RE = re.compile(
    r"\b(?:you|u) (?:\w+ ){0,2}(?:earn|make|take home|get paid)\b|\byour (?:own )?(?:salary|pay|"
    r"wage|income|package)\b|\bpay (?:you|yourself)\b|\bare you paid\b", re.I)


def _job_pay(text: str) -> bool:
    """The line asks the pay of a job on offer (the recruiter's role tells it), not the
    persona's own."""
    return bool(_PAY_RE.search(text) and _ON_OFFER_RE.search(text)
                and not _OWN_PAY_RE.search(text))


_POINTS_AT_RE = re.compile(r"\b(?:that|it|this|there)[\s?.!]*$", re.I)  # ends on "that"
# "was it hard to switch careers?": "it" stands for what follows (to switch careers), it does
# not point back at the last answer ("was it hard?", "was it hard to leave?" do)
_EXTRAPOSED_RE = re.compile(
    r"\b(?:is|was|would|will|does|did)(?: it| it be| it feel)? (?:it )?(?:\w+ )?(?:hard|easy|"
    r"difficult|tough|scary|weird|strange|worth|possible|normal|common|fun|nice|okay|ok|better|"
    r"worse|tricky|expensive|cheap|a big deal|a shock|a big change|a struggle) to \w+(?: \w+)+",
    re.IGNORECASE)


def extraposed_it(text: str) -> bool:
    """The line's "it" stands for the clause after it ("was it hard to switch careers?"),
    not for what was said before."""
    return bool(_EXTRAPOSED_RE.search(text) and re.search(r"\bit\b", text, re.IGNORECASE))


_PRONOUN_RE = re.compile(r"\b(it|that|this|there|they|them|those|he|she|him|her)\b", re.I)
# "how old is she?", "is he married?": about someone else (the kids, a pet, a colleague), not the
# persona; a personal dodge is about the persona itself and needs "you" (or a sensitive word)
_THIRD_PERSON_RE = re.compile(r"\b(?:he|she|it|they|him|her|them|his|hers|its|their)\b", re.I)
_SECOND_PERSON_RE = re.compile(r"\b(?:you|your|yours|yourself|u|ya)\b", re.I)


# An indirect question's frame: a repair ("i didn't catch what you do") or a wonder put to the
# listener ("i've always wondered how..."); what follows it is the question.
_FRAME_RE = re.compile(
    r"(?:\bsorry,?\s+)?\bi(?:'ve| have|'d| had)?\s+(?:(?:always|often|sometimes|long|never really|"
    r"kind of|sort of)\s+)?(?:wondered|(?:did not|didn'?t|do not|don'?t|never)\s+(?:quite\s+|"
    r"really\s+)?(?:catch|hear)|missed|misheard)\s+(?=(?:what|where|who|how|which|when|why|"
    r"whether|if|your)\b)", re.IGNORECASE)


def _unframed(text: str) -> str:
    """`text` without an indirect question's frame ("sorry i didn't catch what you do" ->
    "what you do"), or as it is when it has none."""
    out = _FRAME_RE.sub("", text, count=1).strip()
    return out if len(out.split()) >= 2 else text


@dataclass(frozen=True)
class Target:
    """What a line is about: a topic or a hook, maybe one answer of it, maybe one follow-up."""

    kind: str  # "topic" | "hook"
    id: str
    answer: int | None = None  # index into the topic's answers / the hook's warm answers
    follow_up: int | None = None  # index into that answer's follow-ups


@dataclass(frozen=True)
class Match:
    """The router's verdict on one line: the best target and its score (0..~1.3)."""

    target: Target
    score: float
    scores: dict[str, float] = field(default_factory=dict)  # "topic:id"/"hook:id" -> best score


_STANDARD_ASKS: dict[str, list[str]] | None = None


def standard_asks() -> dict[str, list[str]]:
    """Ways people ask about the ordinary topics (trainer/data/standard_asks.yaml)."""
    global _STANDARD_ASKS
    if _STANDARD_ASKS is None:
        import yaml

        path = Path(__file__).resolve().parent / "data" / "standard_asks.yaml"
        _STANDARD_ASKS = yaml.safe_load(path.read_text(encoding="utf-8"))
    return _STANDARD_ASKS


def _answer_examples(kind: str, owner: str, answers, o: RouterOptions
                     ) -> list[tuple[str, Target, float]]:
    """A topic's answers or a hook's warm answers as examples: what each answer is best at,
    its own text, and each follow-up's asks and text."""
    out: list[tuple[str, Target, float]] = []
    for j, ans in enumerate(answers):
        for a in ans.asks:
            out.append((a, Target(kind, owner, j), 1.0))
        out.append((ans.text, Target(kind, owner, j), o.answer_text_weight))
        for k, fu in enumerate(ans.follow_ups):
            for a in fu.asks:
                out.append((a, Target(kind, owner, j, k), 1.0))
            out.append((fu.text, Target(kind, owner, j, k), o.follow_up_text_weight))
    return out


def _examples(persona: Persona, o: RouterOptions = ROUTER_OPTIONS
              ) -> list[tuple[str, Target, float]]:
    """(text, target, weight) for every example line of the persona file, plus the shared
    ways of asking about the ordinary topics the persona has."""
    out: list[tuple[str, Target, float]] = []
    shared = standard_asks()
    # a shared way of asking that the file puts under a hook ("Do you have any pets?" -> the
    # puppy) belongs to the hook: the file knows this persona better than the shared list
    hooked = {ask_key(a) for h in persona.hooks for a in h.asks}
    for t in persona.topics:
        own = {a.lower() for a in t.asks}
        for a in t.asks:
            out.append((a, Target("topic", t.id), 1.0))
        for sid in (t.id, *t.covers):
            for a in shared.get(sid, []):
                if a.lower() not in own and ask_key(a) not in hooked:
                    out.append((a, Target("topic", t.id), o.standard_weight))
        out += _answer_examples("topic", t.id, t.answers, o)
    for h in persona.hooks:
        for a in h.asks:
            out.append((a, Target("hook", h.id), 1.0))
        out.append((h.label, Target("hook", h.id), 0.9))
        for m in h.mentions:
            out.append((m, Target("hook", h.id), o.mention_weight))
        out += _answer_examples("hook", h.id, h.warm_answers, o)
    return out


# Words a name can start with that are common words too ("the Riverside Half", "Glasgow
# University"), and days and months: said about many things, not only the hook.
_NOT_A_NAME = {"half", "full", "university", "college", "school", "marathon", "street", "road",
               "park", "hospital", "centre", "center", "club", "team", "monday", "tuesday",
               "wednesday", "thursday", "friday", "saturday", "sunday", "mondays", "tuesdays",
               "wednesdays", "thursdays", "fridays", "saturdays", "sundays", "january",
               "february", "march", "april", "june", "july", "august", "september", "october",
               "november", "december"}


# What kind of answer a question wants, and what such an answer says: "how long" wants a
# duration, "where" a place. An answer or detail that says the right kind of thing is a
# better fit than one that is only on the subject.
# The answer patterns are case-sensitive where a capital says something (a place or a person's
# name: "in Leeds", "Funmi, a retired head teacher"); their word lists ignore case.
_NAME = (r"(?:(?<=[a-z,;:] )|(?:^|(?<=[.!?] )|(?<=[.!?]  ))(?!(?:The|It|I|We|They|He|She|You|"
         r"This|That|There|Then|So|But|And|Oh|Ha|Well|Yes|No|Now|Not|Our|My|Your|Every|Most|"
         r"Some|One|Two|Three|About|Just|Mostly|Only|What|When|Where|Who|Why|How|If|In|At|On|"
         r"For|From|After|Before|Since|Because|Last|Next|Right|Sorry|Honestly)\b))[A-Z][a-z]+\b")
_WANTS = [(re.compile(p, re.IGNORECASE), re.compile(a)) for p, a in (
    (r"\bhow long\b|\bsince when\b|\bhow many (?:years|months|weeks|days|hours)\b",
     r"(?i:\b(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
     r"fifteen|twenty|thirty|forty|fifty|a few|a couple of|several|half an?)[ -](?:years?|"
     r"months?|weeks?|days?|hours?|minutes?|nights?|weekends?|seasons?|terms?)\b|\bsince "
     r"(?:\d{4}|I|we|last|then|january|february|march|april|may|june|july|august|september|"
     r"october|november|december|school|uni|university|college)\b|\ball my life\b|"
     r"\bever since\b)|(?i:\bsince) (?:(?i:the|my|our) |[A-Z][a-z]+ )?\w+ (?:was|were)\b"),
    (r"\bwhere\b", r"(?i:\b(?:in|at|near|from|on|up|outside|to) (?:the )?)[A-Z][a-z]+|"
     r"(?i:\b(?:garage|garden|kitchen|office|home|house|flat|street|road|park|canal|coast|city|"
     r"town|village|warehouse|building|hall|room|school|hospital|shed|allotment|beach|lake|loch|"
     r"river)\b)"),
    (r"\bwhen\b|\bwhat time\b", r"(?i:\b(?:\d{4}|january|february|march|april|may|june|july|"
     r"august|september|october|november|december|monday|tuesday|wednesday|thursday|friday|"
     r"saturday|sunday|weekend|morning|evening|night|spring|summer|autumn|winter|ago|last|"
     r"next|yesterday|tomorrow|tonight|year|month|week|o'clock|a\.m\.|p\.m\.)\b)"),
    (r"\bhow (?:many|much|big|often)\b", r"(?i:\b(?:\d+|one|two|three|four|five|six|seven|"
     r"eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|half|"
     r"dozen|every|once|twice|daily|weekly)\b)"),
    (r"\bwho\b", _NAME + r"|(?i:\b(?:my|our|a|the) (?:friend|colleague|boss|manager|"
     r"team|partner|wife|husband|mum|dad|mother|father|sister|brother|daughter|son|kids)\b)"),
    (r"\bwhy\b|\bhow come\b|\bwhat made you\b", r"(?i:\b(?:because|so that|since|that's why|"
     r"the reason|to (?:be|get|see|make|help|stop)|so I|so we)\b)"),
)]
TYPE_BONUS = 0.05  # an answer of the kind the question wants ("how long" -> "six years")
TYPE_PICK = 0.1  # ...when the router picks which answer or detail of a time question is meant
_TIME_KINDS = (0, 2)  # "how long" and "when": the kinds of _WANTS an answer plainly says or not


def says_what_is_asked(question: str, text: str, time_only: bool = False) -> bool | None:
    """Whether `text` says the kind of thing `question` wants ("how long?" -> a duration,
    "where?" -> a place); None when the question wants no particular kind (`time_only`: of
    the kinds "how long" and "when")."""
    wants = [k for k, (q, _) in enumerate(_WANTS) if q.search(question)
             and (not time_only or k in _TIME_KINDS)]
    if not wants:
        return None
    # "three mornings a week" says how often, not for how long
    plain = _FREQUENCY_RE.sub(" ", text)
    return any(_WANTS[k][1].search(plain if k == 0 else text) for k in wants)


_FREQUENCY_RE = re.compile(r"\b(?:\w+ )?\w+ (?:a|an|per|each|every) (?:day|week|month|year|"
                           r"weekend|term|season)\b", re.IGNORECASE)


_TITLE_WORDS = {"University", "Principal", "Chair", "Head", "Founder", "Data", "Senior",
                "Junior", "Lead", "Chief", "CEO", "Director", "Manager"}


def _org_pattern(role: str):
    """The organisation names in a persona's role ("Recruiter at Northwind Logistics" ->
    "Northwind Logistics", "Northwind"), as one pattern; None if it names none."""
    names: set[str] = set()
    for m in re.finditer(r"(?:^|\b(?:at|of|the|,)\s+)((?:St\.?|[A-Z][\w']+)(?:\s+[A-Z][\w']+)*)",
                         role):
        words = m.group(1).split()
        while words and words[0] in _TITLE_WORDS:
            words = words[1:]
        if not words:
            continue
        names.add(" ".join(words))
        two = len(words) > 1 and (words[0] in ("St", "St.") or words[1] in ("Street", "Road"))
        head = " ".join(words[:2]) if two else words[0]
        names.add(head)
    names = {n for n in names if len(n) >= 4}
    if not names:
        return None
    alts = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"\b(?:{alts})\b", re.IGNORECASE)


def _best(scores: list[float], o: RouterOptions) -> float:
    """A target's score: the mean of its best `top_k` examples (two good matches beat one),
    but one very close match is not drowned by a weak second (`single_penalty` below it)."""
    top = sorted(scores, reverse=True)[:o.top_k]
    return max(sum(top) / len(top), top[0] - o.single_penalty)


class MeaningRouter:
    """Routes a user's line to a persona's topic/answer/follow-up/hook by meaning and words.

    Args:
        persona: the validated persona.
        embedder: an object with `embed(texts) -> (n, d)` unit rows (trainer.meaning.Meaning).
        vectors: precomputed vectors of `examples(persona)` texts (e.g. from a disk cache);
            None embeds them now.
    """

    def __init__(self, persona: Persona, embedder, vectors=None,
                 options: RouterOptions = ROUTER_OPTIONS):
        import numpy as np

        self._np = np
        self.persona = persona
        self.embedder = embedder
        self.options = options
        self.examples = _examples(persona, options)
        texts = [e[0] for e in self.examples]
        self.vectors = vectors if vectors is not None else embedder.embed(texts)
        self.weights = np.array([e[2] for e in self.examples], dtype=np.float32)
        self._keys = [f"{e[1].kind}:{e[1].id}" for e in self.examples]
        # A way of asking said twice in one topic (under the topic and under one of its
        # answers, or as a shared ask too) is one piece of evidence, not two: a target's score
        # is taken over its distinct example texts, each at its best row.
        units: dict[tuple[str, str], int] = {}
        self._unit = np.array([units.setdefault((k, ask_key(e[0])), len(units))
                               for k, e in zip(self._keys, self.examples, strict=True)],
                              dtype=np.int64)
        self._unit_key = [k for k, _ in units]
        self._private_topics = {t.id for t in persona.topics if t.kind == "personal"}
        self._unsure_topics = {t.id for t in persona.topics if t.kind == "unsure"}
        self._standard = {c: t.id for t in persona.topics for c in (t.id, *t.covers)}
        self._org_re = _org_pattern(persona.role)
        # which example rows say which kinds of thing (by the text of their answer/detail)
        said = {tg: txt for txt, tg, _ in self.examples if tg.answer is not None}
        for txt, tg, w in self.examples:  # the answer's own text, not its asks
            if tg.answer is not None and w in (options.answer_text_weight,
                                               options.follow_up_text_weight):
                said[tg] = txt
        self._kinds = np.array([[bool(tg in said and a.search(said[tg])) for _, a in _WANTS]
                                for _, tg, _ in self.examples], dtype=bool).reshape(
                                    len(self.examples), len(_WANTS))
        # A hook's names: cue words its own lines write as proper nouns ("Riverside", "Pixel",
        # "Lagos"). A line that says one is about that hook, whatever else it shares with a
        # topic ("is the Riverside Half your first one?" is not about the first year).
        self._names: dict[str, set[str]] = {}
        for h in persona.hooks:
            said = " ".join([*h.mentions, *(a.text for a in h.warm_answers)])
            self._names[h.id] = {c for c in h.cues if len(c) >= 4 and c.isalpha()
                                 and c not in _NOT_A_NAME
                                 and re.search(rf"\b{c[:1].upper()}{re.escape(c[1:])}\b", said)
                                 and not re.search(rf"(?:^|[.!?]\s+){c[:1].upper()}"
                                                   rf"{re.escape(c[1:])}\b", said)}

    @staticmethod
    def texts(persona: Persona) -> list[str]:
        """The example texts whose vectors the router needs (for a disk cache)."""
        return [e[0] for e in _examples(persona)]

    def queries(self, text: str, clause: str | None = None,
                subject: str | None = None) -> list[str]:
        """The strings embedded for one line: [whole, clause?, clause with "it" = subject?].

        A caller may embed them ahead of time (the embedder caches by text), e.g. on the
        speculative transcript while the end of the turn is being confirmed.
        """
        return list(dict.fromkeys(q for q in self._queries(text, clause, subject)
                                  if q is not None))

    def _queries(self, text: str, clause: str | None, subject: str | None):
        # "sorry i didn't catch what you do", "i've always wondered what recruiters look for":
        # the frame says how it is asked, the rest what is asked ("what you do")
        text = _unframed(text)
        clause = _unframed(clause) if clause else clause
        clause = clause.strip() if clause and clause.strip() != text.strip() else None
        base = clause or text
        sub = None
        if subject and _PRONOUN_RE.search(base) and not extraposed_it(base):
            sub = _PRONOUN_RE.sub(subject, base, count=1)
        # "how big is Northwind?": the organisation's name outweighs the question in the
        # embedding ("Where's Northwind based?" scores above "How big is the company?"), so the
        # line is also read with the name as a plain noun
        plain = None
        if self._org_re is not None and self._org_re.search(text):
            plain = self._org_re.sub("your organisation", text)
        return [text, clause, sub, plain]

    def _sims(self, text: str, clause: str | None, subject: str | None):
        whole_q, clause_q, sub_q, plain_q = self._queries(text, clause, subject)
        qs = list(dict.fromkeys(q for q in (whole_q, clause_q, sub_q, plain_q) if q is not None))
        v = dict(zip(qs, self.embedder.embed(qs), strict=True))
        whole = self.vectors @ v[whole_q]
        if plain_q is not None:
            whole = self._np.maximum(whole, self.vectors @ v[plain_q])
        wc = self._clause_weight(clause_q)
        if clause_q is not None:
            sims = wc * (self.vectors @ v[clause_q]) + (1 - wc) * whole
        else:
            sims = whole
        if sub_q is not None:  # "where does it go?" read with "it" = the last subject
            sims = self._np.maximum(sims, self.vectors @ v[sub_q])
        return sims * self.weights

    def _named(self, text: str) -> set[str]:
        words = set(re.findall(r"[a-z0-9']+", text.lower()))
        return {hid for hid, names in self._names.items() if names & words}

    def _cued(self, text: str) -> set[str]:
        words = " " + " ".join(re.findall(r"[a-z0-9']+", text.lower())) + " "
        return {h.id for h in self.persona.hooks
                if any(f" {c} " in words for c in h.cues if len(c) >= 4)}

    def _clause_weight(self, clause: str | None) -> float:
        # A clause that says little by itself ("what do you do with it?", "what's yours?")
        # leaves the topic to the rest of the utterance.
        if clause is None:
            return 0.0
        n = len([w for w in normalise(clause) if w not in _WH])
        return self.options.clause_weight * min(1.0, n / 3)

    def match(self, text: str, clause: str | None = None, *,
              subject: str | None = None, last: Target | None = None,
              exclude: set[Target] | None = None, follows: bool = False) -> Match | None:
        """The best target for `text` (its question `clause` weighted), or None if empty.

        `subject`: what the persona's last answer was about (pronouns are read as it);
        `last`: the target of that answer (its follow-ups and topic get a bonus);
        `exclude`: targets already said (an answer is not said twice in a round).
        """
        if not text.strip():
            return None
        o = self.options
        scores = self._sims(text, clause, subject).copy()
        lex = dict(topic_scores(self.persona, clause or text))
        cued = self._cued(text)
        named = self._named(text)
        # "what's the salary for the graduate role?": the pay of a job on offer, which a
        # recruiter tells; only the persona's own pay is personal
        job_pay = _job_pay(text)
        private = self._private_topics if _SENSITIVE_RE.search(text) and not job_pay else ()
        # "how old is he?" after the persona spoke of her husband: his age, not hers to dodge
        others = job_pay or (not private and bool(_THIRD_PERSON_RE.search(text))
                             and not _SECOND_PERSON_RE.search(text))
        unsure = self._unsure_topics if _DO_YOU_KNOW_RE.search(text) else ()
        intents = {self._standard.get(std) for std, rx in _INTENT_CUES.items()
                   if rx.search(text) and not (std == "weekends" and _JOB_DAY_RE.search(text))
                   } - {None}
        if intents and o.intent_gap is not None:
            # a plain word of a topic ("kids", "weekends") is a cue, not a verdict: not when
            # another target has an example far closer in meaning ("how many kids do you
            # help?" is about the charity's work, not the persona's family)
            raw = {}
            for key, sc in zip(self._keys, scores, strict=True):
                raw[key] = max(raw.get(key, -1.0), float(sc))
            top = max(raw.values())
            intents = {t for t in intents if raw.get(f"topic:{t}", -1.0) >= top - o.intent_gap}
        # "did you lose much work?", or a line the analysis calls a follow-up on the partner's
        # last words: the conversation so far counts double
        # "how long have you been doing that?": a line that points at what was just said
        # with "that"/"it" leans on it as much as a short one
        lean = 2 if (follows or len(text.split()) <= SHORT_WORDS
                     or (last is not None and _POINTS_AT_RE.search(text))) else 1
        ctx_bonus = o.context_bonus * lean
        topic_bonus = o.topic_bonus * lean
        for i, (_, tg, _) in enumerate(self.examples):
            if tg.kind == "topic":
                scores[i] += o.lex_weight * lex.get(tg.id, 0.0)
                if tg.id in private:
                    scores[i] += o.sensitive_bonus
                elif tg.id in self._private_topics:
                    scores[i] -= o.private_penalty + (o.third_party_penalty if others else 0.0)
                if tg.id in unsure:
                    scores[i] += o.unsure_bonus
                if tg.id in intents:
                    scores[i] += o.intent_bonus
            elif tg.id in named:
                scores[i] += o.name_bonus  # the line names the detail ("the Riverside Half")
            elif tg.id in cued:
                scores[i] += o.cue_bonus  # a word of the detail ("the race")
            if last is not None:
                if (tg.kind, tg.id, tg.answer) == (last.kind, last.id, last.answer) \
                        and tg.follow_up is not None:
                    scores[i] += ctx_bonus
                elif (tg.kind, tg.id) == (last.kind, last.id):
                    scores[i] += topic_bonus
            if exclude and tg in exclude:
                scores[i] -= 0.5
        per: dict[str, list[float]] = {}
        unit = self._np.full(len(self._unit_key), -9.0, dtype=self._np.float64)
        self._np.maximum.at(unit, self._unit, scores)
        for key, sc in zip(self._unit_key, unit.tolist(), strict=True):
            per.setdefault(key, []).append(sc)
        best = {k: _best(v, o) for k, v in per.items()}
        top_key = max(best, key=best.get)
        # "how long have you been there?": which answer or detail of a topic is meant leans to
        # the ones that say the kind of thing asked (a duration), not a count of something else
        wants = [k for k, (q, _) in enumerate(_WANTS) if k in _TIME_KINDS
                 and q.search(clause or text)]
        typed = (scores + TYPE_PICK * self._kinds[:, wants].any(axis=1)) if wants else scores
        if last is not None:
            # "how far have you got up to?" right after the running answer: a detail of the
            # answer just given is judged by its own best example (the conversation is the
            # second piece of evidence), not by a mean over the topic's ways of asking that a
            # topic with two loosely similar asks elsewhere would win
            fus = [i for i, (_, tg, _) in enumerate(self.examples)
                   if tg.follow_up is not None and (tg.kind, tg.id, tg.answer)
                   == (last.kind, last.id, last.answer) and not (exclude and tg in exclude)]
            if fus:
                j = max(fus, key=lambda i: typed[i])
                # "what's the hardest part?" right after the running answer asks the hardest
                # part of running: a word that names an ordinary topic is no evidence against
                # the answer just given's own detail, so its bonus does not count here
                named = {f"topic:{t}" for t in intents}
                rival = max(v - (o.intent_bonus if k in named else 0.0)
                            for k, v in best.items())
                if typed[j] >= rival and scores[j] >= o.threshold:
                    return Match(target=self.examples[j][1], score=float(scores[j]),
                                 scores=best)
        # the target: the best example of the best topic/hook (its answer or follow-up)
        idx = [i for i, k in enumerate(self._keys) if k == top_key]
        i = max(idx, key=lambda j: typed[j])
        return Match(target=self.examples[i][1], score=best[top_key], scores=best)

    def _typed(self, sims, question: str):
        """`sims` with a bonus for the answers that say what kind of thing `question` wants
        ("how long?" -> the answer with a duration in it)."""
        wants = [k for k, (q, _) in enumerate(_WANTS) if q.search(question)]
        if not wants:
            return sims
        return sims + TYPE_BONUS * self._kinds[:, wants].any(axis=1)

    def rank_follow_ups(self, target: Target, text: str, clause: str | None = None
                        ) -> list[tuple[int, float]]:
        """The follow-up details of one answer (`target.answer`) by fit to the line, best
        first: which detail "three times further? how does that work?" asks for."""
        sims = self._typed(self._sims(text, clause, None), clause or text)
        best: dict[int, float] = {}
        for i, (_, tg, _) in enumerate(self.examples):
            if (tg.kind, tg.id, tg.answer) != (target.kind, target.id, target.answer) \
                    or tg.follow_up is None:
                continue
            best[tg.follow_up] = max(best.get(tg.follow_up, -1.0), float(sims[i]))
        return sorted(best.items(), key=lambda kv: -kv[1])

    def rank_answers(self, target: Target, text: str, clause: str | None = None,
                     used: set[int] | None = None) -> list[tuple[int, float]]:
        """The answers of `target`'s topic/hook by fit to the line, best first, unused only."""
        sims = self._typed(self._sims(text, clause, None), clause or text)
        best: dict[int, float] = {}
        for i, (_, tg, _) in enumerate(self.examples):
            if (tg.kind, tg.id) != (target.kind, target.id) or tg.answer is None \
                    or tg.follow_up is not None:
                continue
            if used and tg.answer in used:
                continue
            best[tg.answer] = max(best.get(tg.answer, -1.0), float(sims[i]))
        return sorted(best.items(), key=lambda kv: -kv[1])
