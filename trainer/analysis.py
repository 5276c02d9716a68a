"""Per-utterance features from text (+ word timings): questions, follow-ups, fillers, focus...

Pure: no devices, no models. Everything must also work on text with no punctuation and no
capitals (Whisper's punctuation is unreliable), so question detection reads word patterns
(wh-word + auxiliary, auxiliary + subject, tags like "right", "so you...", "I wonder...") and
uses "?" only as extra evidence. Rule-based on purpose: it is fast, explainable in a tip, and
measured on a labelled set (benchmarks/analysis.py).

Question kinds follow Brooks (2025) / Huang et al. (2017): introductory, mirror ("and you?"),
topic_switch, follow_up (builds on the partner's last line or on a hook they dropped).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from trainer.types import Word


@dataclass(frozen=True)
class HookCue:
    """A personal detail the partner dropped, and what counts as following up on it."""

    id: str
    cues: tuple[str, ...]  # lowercase words/phrases; any of them in a question = follow-up
    label: str = ""  # short name for reports, e.g. "rescue puppy Biscuit"
    suggestion: str = ""  # a better line, e.g. "How long have you had Biscuit?"


@dataclass(frozen=True)
class TurnContext:
    """What the user was answering: the partner's last line and the hooks dropped so far."""

    partner_text: str = ""
    partner_name: str | None = None
    hooks: tuple[HookCue, ...] = ()
    first_user_turn: bool = False


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


# --- word lists -------------------------------------------------------------------------------


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


WH = _set("what where when why how who whom which whose")
AUX = _set(
    "do does did is are am was were have has had can could would will should shall may might"
    " must"
)
# Subjects that can follow an auxiliary at the start of a yes/no question.
SUBJ = _set(
    "you your yours i we they he she it this that there these those anyone anybody someone"
    " somebody everyone everybody people any my our his her their the a an"
)
PRON_SUBJ = _set("i we he she they you it")
# Words that may come before the real start of a clause ("oh so what do you do").
LEAD = _set(
    "so and but oh okay ok well um uh er erm hmm ah yeah yes wow cool nice interesting really"
    " then hey great alright anyway also sorry wait actually right huh mm hm now like"
)
BACKCHANNEL_WORDS = _set(
    "mm hmm mhm mm-hm mm-hmm uh-huh uhhuh yeah yep yup yes ok okay sure right oh wow really"
    " interesting cool nice totally exactly absolutely true gotcha indeed huh ah aha great"
    " awesome lovely definitely fair sounds good ha haha i see got it makes sense that's"
    " thats that is of course no way for sure"
)
CONTRACTIONS = {
    "what's": "what is", "whats": "what is", "how's": "how is", "hows": "how is",
    "where's": "where is", "wheres": "where is", "who's": "who is", "whos": "who is",
    "when's": "when is", "why's": "why is", "that's": "that is", "thats": "that is",
    "it's": "it is", "there's": "there is", "theres": "there is",
    "you're": "you are", "youre": "you are", "i'm": "i am", "im": "i am",
    "we're": "we are", "they're": "they are", "isn't": "is not", "isnt": "is not",
    "aren't": "are not", "arent": "are not", "wasn't": "was not", "wasnt": "was not",
    "weren't": "were not", "don't": "do not", "dont": "do not", "doesn't": "does not",
    "doesnt": "does not", "didn't": "did not", "didnt": "did not", "haven't": "have not",
    "havent": "have not", "hasn't": "has not", "hasnt": "has not", "can't": "can not",
    "cant": "can not", "cannot": "can not", "won't": "will not", "wouldn't": "would not",
    "wouldnt": "would not", "couldn't": "could not", "couldnt": "could not",
    "shouldn't": "should not", "shouldnt": "should not", "i've": "i have", "ive": "i have",
    "you've": "you have", "youve": "you have", "we've": "we have", "they've": "they have",
    "i'd": "i would", "you'd": "you would", "we'd": "we would", "i'll": "i will",
    "you'll": "you will", "we'll": "we will", "let's": "let us", "lets": "let us",
    "wanna": "want to", "gonna": "going to", "gotta": "got to", "y'all": "you all",
    "ya": "you", "whaddya": "what do you", "d'you": "do you", "didja": "did you",
    "id": "i would", "where'd": "where did", "whered": "where did", "what'd": "what did",
    "whatd": "what did", "how'd": "how did", "howd": "how did", "why'd": "why did",
    "who'd": "who did", "whod": "who did", "would've": "would have", "could've": "could have",
    "should've": "should have", "wouldve": "would have",
}
I_WORDS = _set("i me my mine myself i'm i've i'd i'll im ive")
YOU_WORDS = _set(
    "you your yours yourself yourselves you're you've you'd you'll youre youve ya"
)
STOPWORDS = _set(
    """a an the and or but so if then than that this these those there here of in on at to for
    from with about as by into over under up down out off again very really just also too
    i me my mine we us our you your yours he him his she her it its they them their what which
    who whom whose when where why how is are am was were be been being do does did have has had
    can could would will should shall may might must not no yes yeah oh ok okay well um uh like
    know think mean get got go going went make made thing things stuff lot lots one some any all
    more most much many such own same other only now still even ever never always good great
    nice cool wow interesting sure right totally people time day today year years way kind sort
    bit little work working job tell said say says want let see look come came take took back
    because while though although since being doing having something anything everything
    nothing someone anyone everyone yourself myself itself don't didn't isn't it's that's i'm
    you're what's how's there's let's i've you've i'd i'll"""
)

# Phrases that make a clause a question whatever follows (matched on expanded tokens).
_EMBEDDED = [
    r"i (?:was |am |have been |been )?wondering\b",
    r"i wonder\b",
    r"(?:i am |i was |am |just )?curious (?:what|how|why|about|if|whether|where|who|which"
    r"|when|to (?:hear|know|learn))\b",
    r"i(?: would|d)? (?:love|like) to (?:hear|know|learn|understand)\b",
    r"would love to (?:hear|know|learn)\b",
    r"(?:i would be|i am|i'd be) (?:interested|keen) to (?:hear|know|learn)\b",
    r"tell me (?:about|more|how|what|why|a bit|a little|where|who|when|which)\b",
    r"(?:can|could|would) you tell me\b",
    r"walk me through\b",
    r"(?:can|could|may) i ask\b",
    r"(?:do you )?mind (?:if i ask|me asking)\b",
    r"let me ask you\b",
    r"i (?:would )?love (?:your|to get your) (?:take|thoughts)\b",
]
_EMBEDDED_RE = re.compile(r"(?:^| )(?:" + "|".join(_EMBEDDED) + r")")

_MIRROR_RE = re.compile(
    r"\b(?:(?:what|how) about (?:you|yourself|yours)(?: guys)?|same (?:question )?(?:to|for) you"
    r"|(?:what|how) about (?:on )?your (?:end|side))(?: actually| too| then| though)?$"
    r"|^(?:and |so |but )?(?:you|yourself|yours|you guys)$"
    r"|\band (?:you|yourself|yours)$"
    r"|\b(?:thanks|good|great|fine|well|bad|busy|okay|ok) (?:and )?(?:you|yourself)$"
    r"|^(?:and )?(?:do|are|have|did|would|can|were|will|could|is|was) (?:you|yours)(?: too)?$"
)

_INTRO_RE = re.compile(
    r"\b(?:what (?:do|does) you do\b|what is your (?:name|role|background|line of work)"
    r"|what brings you|what brought you|how (?:are|is) (?:you|it going|your day|the event|the"
    r" conference|things)|how is it going|how do you know (?:the|our)|where are you from"
    r"|where do you work|who do you work for|what do you work on|what line of work"
    r"|what field are you|what company are you|(?:is|was) this your first"
    r"|have you been (?:to|here) before|are you (?:enjoying|having fun|here for)"
    r"|first time (?:here|at)|what are you working on|what kind of work do you"
    r"|what sort of work do you|what do you do for)"
)

_FOLLOW_PHRASE_RE = re.compile(
    r"^(?:how so|why|why not|how come|what happened|what happened (?:next|then|after that)"
    r"|in what way|like what|such as|what do you mean|and then what|what then|how"
    r"|tell me more|tell me more about (?:it|that|them|him|her)|how did (?:it|that) go"
    r"|how was (?:it|that)|what was (?:it|that) like|what is (?:it|that) like|really|seriously"
    r"|no way|such as what|for example|meaning|what kind)(?: then| exactly)?$"
)

_OFFER_RE = re.compile(
    r"\b(?:i (?:could|can|will|would be happy to|would love to|would be glad to|am happy to"
    r"|am glad to|should|might be able to)(?: definitely| certainly| also| totally)?"
    r" (?:introduce|intro|connect you|put you in touch|send you|share|help|forward|pass"
    r"|recommend you|refer you|loop you in|make an intro|set you up|show you|lend)"
    r"|(?:happy|glad) to (?:send|share|introduce|intro|help|connect you|put you in touch"
    r"|forward|pass along|make an intro|refer|loop you in|chat more about)"
    r"|(?:do|would) you want me to (?:send|share|introduce|connect|forward|put you)"
    r"|want me to (?:send|share|introduce|connect|forward|put you)"
    r"|let me know if (?:i can|there is anything i can) help|if (?:you ever|there is anything)"
    r" (?:need|i can)|i know (?:someone|somebody|a (?:person|guy|woman|few people)) (?:who|at"
    r"|that)|let me (?:send|introduce|connect you|put you in touch|intro|share)"
    r"|i (?:can|could) (?:make|do) an (?:intro|introduction)"
    r"|would it help if i (?:introduced|sent|connected|put|shared|made)"
    r"|how can i help|anything i can do to help|can i help)"
)

_ASK_RE = re.compile(
    r"\b(?:(?:grab|get|have|do) (?:a )?(?:coffee|lunch|drink|drinks|a bite|breakfast)"
    r"|coffee (?:sometime|some time|next|later|soon)|(?:swap|exchange|trade|share)"
    r" (?:contacts|contact info|numbers|cards|business cards|details|info|emails|linkedins)"
    r"|connect on linkedin|add you on linkedin|(?:let us|we should|can we|could we|we could"
    r"|love to|like to|happy to) (?:connect|stay in touch|keep in touch|catch up|meet"
    r"|talk more|chat more|continue)|stay in touch|keep in touch"
    r"|(?:send|drop|shoot) me (?:an |a )?(?:email|message|note|line|text)"
    r"|(?:can|could|may) i (?:get|have|grab|take) your (?:email|number|card|contact|details"
    r"|info|linkedin)|your (?:card|business card|email address|linkedin)"
    r"|(?:do|does) you have a (?:business )?card|(?:email|message|text|call) you"
    r" (?:next week|tomorrow|later|sometime|after)|meet (?:up )?again|(?:set|schedule|book)"
    r" (?:up )?(?:a|some) (?:call|meeting|time|chat)|follow up (?:with you|next week|by"
    r" email)|(?:continue|pick up) (?:this|the|our) conversation|catch up (?:again|sometime"
    r"|soon|next|over)|find (?:a|some) time|talk again|chat again)"
)

_GOODBYE_RE = re.compile(
    r"\b(?:bye|goodbye|good bye|see you|see ya|take care(?! of)|nice meeting you|(?:great|good|nice"
    r"|lovely) (?:talking|chatting|meeting|speaking)|was (?:great|nice|good|lovely|a pleasure)"
    r" (?:to meet|meeting|talking|chatting|speaking)|have a (?:good|great|nice|lovely)"
    r" (?:one|day|night|evening|weekend|rest)|enjoy the rest of|talk soon|catch you later"
    r"|(?:i will|i should|i better|i had better|i would better) let you go|i (?:have to|must"
    r"|should|need to|got to) (?:run|go|head off|get going)|thanks for (?:your time|chatting"
    r"|the chat|talking))\b"
)

_GREETING_RE = re.compile(
    r"^(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|howdy|greetings)\b"
    r"|^(?:morning|afternoon|evening)(?:$| (?:all|everyone|there|folks|i am)\b)"
    r"|\b(?:(?:nice|good|great|pleased|lovely) to meet you|my name is|i am \w+ from"
    r"|i do not think we have met|we have not met)\b"
)

# Words after "i am" that are not a name (so "i am curious" is no self-introduction).
_NOT_NAME = STOPWORDS | _set(
    """happy glad curious interested looking working doing fine well sorry new here from in
    with at an also actually currently based trying hoping still really just pretty quite
    so not sure excited thrilled tired busy okay ok great good the a between into without off
    over under out originally part one always usually normally mostly afraid"""
)

_FILLER_SINGLE = _set("um umm uh uhh er erm ah uhm hmm basically literally")

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['\u2019\-][a-z0-9]+)*|[?.!;,\n]")


# --- small helpers ----------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """Lowercase word tokens plus punctuation marks (?.!;,) that matter for clause splitting."""
    t = text.lower().replace("\u2019", "'").replace("\u2026", ".")
    return _TOKEN_RE.findall(t)


def _expand(words: list[str]) -> list[str]:
    out: list[str] = []
    for w in words:
        rep = CONTRACTIONS.get(w)
        if rep:
            out.extend(rep.split())
        elif w.endswith("'s") and len(w) > 2:
            out.extend([w[:-2], "'s"])
        else:
            out.append(w)
    return out


def stem(word: str) -> str:
    """A crude stem for matching content words and hook cues (dogs -> dog, hiking -> hik)."""
    w = word.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    for suf, rep in (("ies", "y"), ("ments", ""), ("ment", ""), ("ers", ""), ("ing", ""),
                     ("ed", ""), ("er", ""), ("es", ""), ("s", "")):
        if w.endswith(suf) and len(w) - len(suf) >= 3:
            if suf == "es" and not w.endswith(("ses", "xes", "ches", "shes")):
                continue
            return w[: -len(suf)] + rep
    return w


def _content_stems(words: Sequence[str]) -> set[str]:
    return {stem(w) for w in words if len(w) >= 3 and w not in STOPWORDS and not w.isdigit()}


@dataclass
class _Clause:
    words: list[str]  # raw lowercase tokens (no punctuation)
    mark: str = ""  # the punctuation that ended it ("?", ".", "" ...)

    @property
    def exp(self) -> list[str]:
        return _expand(self.words)


_EMBED_PREV = _set(
    """know wonder wondering ask asked asking tell told remember sure about see idea understand
    explain show decide matter depends on of learn learned figure out find is was curious hear
    love like care knows guess question thing things say said how what why where when who which
    if whether than as to not me sort kind exactly just forget forgot realize realise realized
    realised notice noticed saw heard interested surprised amazing amazed incredible crazy funny
    wild insane unbelievable imagine believe shows shocked"""
)
_REACTION_ADJ = _set(
    "surprised amazing amazed incredible crazy funny wild insane unbelievable great cool")
# After these an auxiliary + "you" is still embedded or part of the same clause.
_AUX_EMBED_PREV = (_EMBED_PREV - {"that", "like", "love", "sure", "is", "was"}) | _set(
    "i we they you he she to")
# Words after a wh-word that start a question even without an auxiliary ("how long...").
_WH_NEXT = _set(
    """about come so not else exactly kind sort type long many much often far old big soon
    brings brought got gets made makes led leads drew draws happened happens keeps kept
    inspired inspires motivates motivated surprised surprises changed would""")
_MID_SUBJ = (SUBJ - {"i"}) | _set("everything things work life business yours")
_IT_NEXT = _set(
    """your the a an any anyone anything something really still true hard easy always usually
    ok okay worth possible normal common typical busy crowded""")


def _is_clause_start(exp: list[str], i: int) -> bool:
    """Does a question start at exp[i] in unpunctuated text? (used to split run-on clauses)"""
    w = exp[i]
    prev = exp[i - 1] if i > 0 else ""
    nxt = exp[i + 1] if i + 1 < len(exp) else ""
    nxt2 = exp[i + 2] if i + 2 < len(exp) else ""
    if w in WH:
        # "that's amazing | what keeps you going" starts anew; "it's amazing what..." does not.
        reaction = prev in _REACTION_ADJ and exp[max(0, i - 3):i - 1] == ["that", "is"]
        if prev in _EMBED_PREV and not reaction:
            return False
        # Mid-sentence "who/which/where/when" are mostly relative ("a friend who made..."):
        # only an auxiliary followed by a subject makes them a new question.
        if nxt in AUX:
            return nxt2 in _MID_SUBJ or (w in ("what", "how", "why") and nxt2 not in ("", "i"))
        if w in ("what", "how", "why"):
            return (nxt in _WH_NEXT and not (nxt in ("kind", "sort", "type") and nxt2 != "of")
                    or nxt == "")
        return False
    if w in AUX and prev not in _AUX_EMBED_PREV:
        if nxt in ("you", "your"):
            return True
        # "hello i am tom is this your first time": aux + it/this/there + a telling word.
        return w in ("is", "was", "are", "were", "does", "did") and nxt in (
            "this", "it", "there", "that") and nxt2 in _IT_NEXT
    return False


def _clauses(tokens: list[str]) -> list[_Clause]:
    """Split on punctuation, then split run-on stretches where a question visibly starts."""
    out: list[_Clause] = []
    cur: list[str] = []
    for t in tokens:
        if t in "?.!;\n":
            if cur:
                out.append(_Clause(cur, t if t != "\n" else ""))
                cur = []
            elif out and t == "?":
                out[-1].mark = "?"
        elif t == ",":
            cur.append(",")
        else:
            cur.append(t)
    if cur:
        out.append(_Clause(cur, ""))
    # Second pass: break at commas followed by a question start, and at unpunctuated starts.
    result: list[_Clause] = []
    for c in out:
        words = c.words
        pieces: list[list[str]] = [[]]
        open_wh = False  # the piece starts with a wh-word still waiting for its verb
        for i, w in enumerate(words):
            if w == ",":
                pieces.append([])
                open_wh = False
                continue
            cur = pieces[-1]
            if len(cur) >= 2 and not open_wh:
                # run-on: a question starting in the middle, e.g. "i work in sales what do you
                # do"; a window of words around the split point keeps this linear.
                before = _expand(cur[-4:])
                window = before + _expand(words[i:i + 3])
                if len(window) > len(before) and _is_clause_start(window, len(before)):
                    pieces.append([])
                    cur = pieces[-1]
            cur.append(w)
            # "how long | have you..." is one question: a wh-start waits for its auxiliary.
            head = _strip_lead(_expand(cur[:4]))
            if len(cur) <= 4 and head and head[0] in WH:
                open_wh = not (AUX & set(_expand(cur)[1:])) or len(cur) == 1
            elif open_wh and (w in AUX or any(x in AUX for x in _expand([w]))):
                open_wh = False
        pieces = [p for p in pieces if p]
        # Re-join comma pieces that don't start a question ("well, i think, you know").
        merged: list[list[str]] = []
        for p in pieces:
            pe = _expand(p)
            starts_q = _question_form(pe, "") is not None
            if merged and not starts_q and not _question_form(_expand(merged[-1]), ""):
                merged[-1].extend(p)
            else:
                merged.append(list(p))
        for k, p in enumerate(merged):
            result.append(_Clause(p, c.mark if k == len(merged) - 1 else ""))
    return result


def _strip_lead(exp: list[str]) -> list[str]:
    i = 0
    while i < len(exp) - 1 and exp[i] in LEAD:
        i += 1
    return exp[i:]


_TAG_ENDINGS = (
    ("is", "not", "it"), ("are", "not", "you"), ("do", "not", "you"), ("did", "not", "you"),
    ("was", "not", "it"), ("does", "not", "it"), ("have", "not", "you"), ("will", "not", "you"),
    ("can", "not", "you"), ("is", "not", "that"), ("are", "not", "they"), ("do", "not", "they"),
    ("would", "not", "it"), ("was", "not", "that"), ("am", "i", "right"), ("or", "not"),
    ("or", "what"), ("is", "that", "right"), ("is", "that", "correct"), ("am", "i", "wrong"),
    ("you", "know", "what", "i", "mean"),
)
_NOT_TAG_BEFORE_RIGHT = _set(
    "that is all exactly alright are was you left the on to turn just quite absolutely yeah yes"
    " oh so it this them him her me things thats that's yep okay ok totally got go went"
    " do did done"
)


_EXCLAIM_ADJ = _set(
    "lucky cool crazy amazing awesome great funny weird wild nice sweet fun perfect random ironic"
    " cute insane good bad sad strange brilliant")
_WHICH_IS_NOT_Q = _set(
    """why how what where when great good nice cool fine true funny interesting awesome amazing
    exactly kind sort also actually really pretty so such just something partly basically a an
    fair perfect lovely""")
_ELLIPTICAL_ANY = _set(
    "chance plans else tips advice luck idea ideas thoughts news interest recommendations"
    " questions suggestions")
_SELF_WONDER_RE = re.compile(
    r"\bwonder(?:ing)? (?:sometimes |often |a lot |too )?(?:if|whether) (?:i|we)"
    r" (?!could (?:ask|get|have|grab|send|borrow|join|call|email))"
    r"|\bcurious about (?!.*\byou)(?!how |what |why |where |who |which |when )"
)


def _question_form(exp: list[str], mark: str) -> str | None:
    """The grammatical form of a question clause, or None for a statement."""
    core = _strip_lead(exp)
    if not core:
        return None
    joined = " ".join(core)
    if _MIRROR_RE.search(joined) or _MIRROR_RE.search(" ".join(exp)):
        return "mirror"
    if _EMBEDDED_RE.search(" " + joined):
        return None if _SELF_WONDER_RE.search(joined) else "embedded"
    form = (_wh_form(core) or _aux_form(core) or _elliptical_form(core, mark)
            or _tag_form(exp, mark) or _declarative_form(exp))
    if form:
        return form
    if mark == "?" and (len(core) > 1 or core[0] not in BACKCHANNEL_WORDS):
        return "declarative"
    return None


def _wh_form(core: list[str]) -> str | None:
    w0, w1, w2 = (core + ["", "", ""])[:3]
    if w0 not in WH:
        return None
    if not w1:
        return "wh"
    if w0 == "which" and w1 in ("is", "was") and w2 in _WHICH_IS_NOT_Q:
        return None  # "which is why I came"
    if w0 == "how" and w1 in _EXCLAIM_ADJ and w2 in ("is", "was") and core[3:] in (
            ["that"], ["this"]):
        return None  # "how lucky is that" exclaims
    if w1 in AUX or w1 == "'s":
        return "wh"  # "when i was young" has a subject first and never gets here
    if w1 in _WH_NEXT:
        return None if w1 in ("kind", "sort", "type") and w2 != "of" else "wh"
    if w1 not in PRON_SUBJ:
        # "what company do you work for", "which part of town are you in"
        for k in range(2, min(len(core) - 1, 6)):
            if core[k] in AUX and core[k + 1] in SUBJ:
                return "wh"
    return None


def _aux_form(core: list[str]) -> str | None:
    w0, w1, w2 = (core + ["", "", ""])[:3]
    if w0 not in AUX:
        return None
    rest = core[1:]
    if rest and rest[0] == "not":
        rest = rest[1:]
    if not rest or rest[0] not in SUBJ:
        return None
    if w0 in ("had", "have") and w1 in ("a", "an", "the", "some", "no", "fun"):
        return None  # "had a feeling...", "have a good one"
    if w0 == "did" and w1 == "a" and w2 in ("bit", "little", "ton", "lot"):
        return None  # "did a bit of everything"
    if w1 == "i" and w2 in ("just", "tell", "say", "be"):
        return None  # "can i just say..."
    if " ".join(core[:3]) in ("are you kidding", "are you serious", "are you joking"):
        return None  # a reaction, not a question
    return "yes_no"


def _elliptical_form(core: list[str], mark: str) -> str | None:
    """Questions with the auxiliary dropped: "want to grab coffee", "ever been to japan"."""
    w0, w1 = (core + ["", ""])[:2]
    if len(core) < 2:
        return None
    hit = (
        (w0 in ("want", "care", "need") and w1 in ("to", "me", "us", "any", "a"))
        or w0 in ("ever", "fancy", "mind")
        or (w0 in ("any", "anything") and w1 in _ELLIPTICAL_ANY)
        or (w0 == "been" and w1 in ("here", "to", "in", "busy", "waiting", "long"))
        or (w0 in ("seen", "heard") and mark == "?")
        or (w0 == "got" and w1 in ("any", "a", "time", "plans"))
        or (w0 == "know" and w1 in ("anyone", "any", "someone", "anybody", "of", "what",
                                    "where", "how", "if", "whether"))
        or (w0 == "you" and w1 == "ever")
        or (w0 == "you" and w1 in ("think", "want", "need", "like", "got") and len(core) >= 3)
        or (w0 == "you" and w1 in ("know", "seen", "heard", "been") and mark == "?")
    )
    if hit:
        return "yes_no"
    if w0 == "you" and w1 == "mean" and len(core) >= 3:
        return "declarative"
    return None


def _tag_form(exp: list[str], mark: str) -> str | None:
    """Tags at the end of a clause: "you work in finance right", "it is huge isn't it"."""
    for tag in _TAG_ENDINGS:
        n = len(tag)
        if len(exp) > n and tuple(exp[-n:]) == tag:
            return "yes_no" if tag[:2] == ("is", "that") else "tag"
    if len(exp) < 3:
        return None
    last, prev = exp[-1], exp[-2]
    if last == "right" and prev not in _NOT_TAG_BEFORE_RIGHT:
        return "tag"
    if last == "correct" and prev not in _NOT_TAG_BEFORE_CORRECT:
        return "tag"
    if last == "eh" or (last in ("yeah", "no", "huh", "yes") and mark == "?"):
        return "tag"
    return None


_NOT_TAG_BEFORE_CORRECT = _set(
    "is was that are not be quite totally completely politically technically am absolutely")
_DECL_ADVICE = _set(
    "should must might can could will know need get see would just gotta got guys and may")


def _declarative_form(exp: list[str]) -> str | None:
    """Declarative checks: "so you work in finance", "wait you've been there ten years"."""
    if len(exp) < 3 or exp[0] not in ("so", "wait", "oh") or len(exp) > 14 or "if" in exp:
        return None
    i = 1
    while i < len(exp) and exp[i] in LEAD:
        i += 1
    if i >= len(exp) - 1 or exp[i] not in ("you", "your"):
        return None
    nxt = exp[i + 1]
    after = exp[i + 2] if i + 2 < len(exp) else ""
    if nxt in _DECL_ADVICE or (nxt == "have" and after == "to"):
        return None  # advice: "so you should try it", "so you have to apply early"
    return "declarative"


def _is_backchannel(exp: list[str]) -> bool:
    if not exp or len(exp) > 5:
        return False
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
_LIKE_VERB_PREV = _set(
    """i you we they would 'd i'd you'd we'd to do don't didn't dont didnt does doesn't really
    also might will 'll feel feels felt look looks looked sound sounds sounded something
    anything nothing things stuff more just much seem seems people he she who that not lot bit
    exactly kind sort is are be it what i'll you'll we'll likes very most least always never
    truly kinda definitely actually still i'm you're we're they're would've""")
# ... and mostly a filler after these ("and like", "so like", "um like").
_LIKE_FILLER_PREV = _set(
    "and but so um uh er well basically literally yeah okay ok oh then because or like for"
    " there's there")
_NUMBER_WORDS = _set(
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty"
    " fifty hundred thousand a few couple half")
# "you know" is the verb before these ("you know the host", "you know what I mean").
_KNOW_OBJECT = _set(
    """what how who where when why whether if that about him her them anyone someone anybody
    somebody the any each it my his their our a an this these those me us better more much
    best people exactly she he everyone everybody so too already""")
_KNOW_VERB_PREV = _set(
    "do did don't didn't dont didnt if would as how what whether could can that before will"
    " might you'd and when")
# "kind of"/"sort of" is a noun after these ("what kind of work").
_KIND_DET = _set(
    """what a this that the which some any same every one these those all different another no
    two many each his her my your our their""")


def _find_fillers(words: list[str], marks: list[str]) -> list[str]:
    """Fillers in order of appearance; `marks[i]` is the punctuation before words[i]."""
    out: list[str] = []
    n = len(words)
    i = 0
    while i < n:
        w = words[i]
        prev = words[i - 1] if i > 0 else ""
        nxt = words[i + 1] if i + 1 < n else ""
        after = words[i + 2] if i + 2 < n else ""
        boundary = i == 0 or marks[i] != ""
        step = 1
        if w in _FILLER_SINGLE:
            out.append(w)
        elif w == "like" and _like_is_filler(words, i, boundary):
            out.append("like")
        elif w == "you" and nxt == "know" and prev not in _KNOW_VERB_PREV and (
                not after or after not in _KNOW_OBJECT or marks[i + 2] != ""):
            out.append("you know")
            step = 2
        elif w in ("sort", "kind") and nxt == "of" and prev not in _KIND_DET:
            out.append(f"{w} of")
            step = 2
        elif w in ("kinda", "sorta") and prev not in _KIND_DET:
            out.append(w)
        elif w == "i" and nxt == "mean" and (boundary or prev in _LIKE_FILLER_PREV) and \
                after not in ("to", "what", "you", "the") and not (
                    after in ("it", "that") and (i + 3 >= n or marks[i + 3] != "")):
            out.append("i mean")
            step = 2
        i += step
    return out


def _like_is_filler(words: list[str], i: int, boundary: bool) -> bool:
    prev = words[i - 1] if i > 0 else ""
    prev2 = words[i - 2] if i > 1 else ""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if boundary:
        return True
    if prev in ("was", "were", "'s", "is") and prev2 in ("i", "he", "she", "they", "we", "you"):
        return True  # quotative: "and i was like, okay"
    if prev in _LIKE_VERB_PREV:
        return False
    return (prev in _LIKE_FILLER_PREV or nxt in ("um", "uh", "you", "literally", "basically")
            or nxt.isdigit() or nxt in _NUMBER_WORDS)


def _words_with_marks(tokens: list[str]) -> tuple[list[str], list[str]]:
    words: list[str] = []
    marks: list[str] = []
    pending = ""
    for t in tokens:
        if t in "?.!;,\n":
            pending = t
        else:
            words.append(t)
            marks.append(pending)
            pending = ""
    return words, marks


def _phrase_in(phrase_stems: list[str], stems: list[str]) -> bool:
    n = len(phrase_stems)
    if n == 0:
        return False
    return any(stems[i:i + n] == phrase_stems for i in range(len(stems) - n + 1))


def _cue_stems(cue: str) -> list[str]:
    return [stem(w) for w in _TOKEN_RE.findall(str(cue).lower()) if w not in "?.!;,\n"]


def _cue_match(cue_stems: list[str], stems: list[str]) -> bool:
    if len(cue_stems) == 1 and len(cue_stems[0]) >= 4:
        # Compounds: cue "raise" in "fundraising", "book" in "bookshop".
        c = cue_stems[0]
        return any(s == c or (len(s) > len(c) + 1 and (s.startswith(c) or s.endswith(c)))
                   for s in stems)
    return _phrase_in(cue_stems, stems)


def _hook_in(hook: HookCue, stems: list[str]) -> bool:
    return any(_cue_match(_cue_stems(cue), stems) for cue in hook.cues)


def _question_is_open(form: str, exp: list[str], partner_open: bool | None) -> bool:
    if form == "wh":
        core = _strip_lead(exp)
        # "which one" / "is it X or Y" style choices stay closed; everything else wh is open.
        return not (core and core[0] == "which" and "or" in core)
    if form == "embedded":
        joined = " ".join(exp)
        return not re.search(r"\b(?:if|whether)\b", joined) or bool(
            re.search(r"\btell me\b|\bwalk me\b", joined)
        )
    if form == "mirror":
        return True if partner_open is None else partner_open
    return False


def _partner_question_open(partner_text: str) -> bool | None:
    toks = _tokens(partner_text)
    for c in reversed(_clauses(toks)):
        form = _question_form(c.exp, c.mark)
        if form and form != "mirror":
            return _question_is_open(form, c.exp, None)
    return None


def _partner_questions(partner_text: str) -> set[str]:
    """The partner's question clauses, lead words stripped ("so what do you do" -> "what...")."""
    return {" ".join(_strip_lead(c.exp)) for c in _clauses(_tokens(partner_text))
            if _question_form(c.exp, c.mark)}


def _partner_question_stems(partner_text: str) -> set[str]:
    out: set[str] = set()
    for c in _clauses(_tokens(partner_text)):
        if _question_form(c.exp, c.mark):
            out |= _content_stems(c.exp)
    return out


# --- the public entry point ---------------------------------------------------------------------


def analyze_utterance(
    text: str,
    context: TurnContext | None = None,
    words: Sequence[Word] | None = None,
    duration_s: float | None = None,
) -> UtteranceFeatures:
    """Label one utterance. Never raises on any string.

    Args:
        text: what the user said (any case, any or no punctuation).
        context: the partner's last line, their name and the hooks dropped so far.
        words: ASR word timings (seconds), used for the speaking pace.
        duration_s: speaking time of the utterance when there are no word timings.
    """
    text = text if isinstance(text, str) else str(text or "")
    ctx = context or TurnContext()
    tokens = _tokens(text)
    words_raw, marks = _words_with_marks(tokens)
    feats = UtteranceFeatures(text=text, word_count=len(words_raw))
    if not words_raw:
        feats.is_empty = True
        return feats
    exp_all = _expand(words_raw)
    joined = " ".join(exp_all)

    # Fillers first: "you know" as a filler is neither a question nor a you-word.
    feats.fillers = _find_fillers(words_raw, marks)
    feats.filler_rate = len(feats.fillers) / len(words_raw)
    filler_you = sum(1 for f in feats.fillers if f == "you know")
    feats.i_words = sum(1 for w in words_raw if w in I_WORDS) - sum(
        1 for f in feats.fillers if f == "i mean")
    feats.you_words = max(0, sum(1 for w in words_raw if w in YOU_WORDS) - filler_you)
    feats.i_words = max(0, feats.i_words)
    feats.wpm = _wpm(len(words_raw), words, duration_s)

    feats.is_backchannel = _is_backchannel(exp_all)
    feats.is_goodbye = bool(_GOODBYE_RE.search(joined))
    feats.is_offer = bool(_OFFER_RE.search(joined))
    feats.is_ask = bool(_ASK_RE.search(joined))
    feats.is_opener = _is_opener(exp_all, joined)
    feats.uses_name = _uses_name(words_raw, ctx.partner_name)

    # Questions, clause by clause.
    clauses = _clauses(tokens)
    q_clauses: list[tuple[_Clause, str]] = []
    if not feats.is_backchannel:
        for c in clauses:
            form = _question_form(c.exp, c.mark)
            if form:
                q_clauses.append((c, form))
    feats.question_count = len(q_clauses)
    feats.is_question = bool(q_clauses)
    feats.questions = [" ".join(c.words).replace(" ,", ",") for c, _ in q_clauses]

    stems_all = [stem(w) for w in exp_all]
    feats.builds_on = _builds_on(exp_all, stems_all, ctx)
    if not q_clauses:
        return feats

    partner_open = _partner_question_open(ctx.partner_text) if ctx.partner_text else None
    partner_q = _partner_question_stems(ctx.partner_text) if ctx.partner_text else set()
    # The utterance's kind is its strongest question: a follow-up on a hook, then on the
    # partner's line, then mirror, introductory, topic switch.
    rank = {"follow_up": 1, "mirror": 2, "introductory": 3, "topic_switch": 4}
    ranked = []
    for c, form in q_clauses:
        kind, fu = _question_kind(c, form, clauses, stems_all, ctx, partner_q)
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
    feats.is_open = _question_is_open(form, c.exp, partner_open)
    return feats


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


def _is_opener(exp: list[str], joined: str) -> bool:
    if _GREETING_RE.search(joined):
        return True
    # "i am sam i work in..." at the start of the utterance.
    core = _strip_lead(exp)
    if len(core) >= 3 and core[0] == "i" and core[1] == "am":
        cand = core[2]
        if cand not in _NOT_NAME and not cand.endswith(("ing", "ed", "ly")) and cand.isalpha():
            return True
    return False


def _uses_name(words: list[str], name: str | None) -> bool:
    if not name:
        return False
    first = _TOKEN_RE.findall(name.lower())
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
        mine = _content_stems(exp)
        theirs = _content_stems(_expand(_words_with_marks(_tokens(ctx.partner_text))[0]))
        if mine & theirs:
            return "partner"
    return None


_REFERENTIAL = _set("that it there them those he she him her they this")


def _question_kind(
    c: _Clause,
    form: str,
    clauses: list[_Clause],
    stems_all: list[str],
    ctx: TurnContext,
    partner_q: set[str],
) -> tuple[str, str | None]:
    """(kind, follow_up) of one question clause in its context."""
    exp = c.exp
    stems_q = [stem(w) for w in exp]
    joined = " ".join(_strip_lead(exp))
    if form == "mirror":
        return "mirror", None
    # A question that repeats the partner's own question back is a mirror too.
    mine = _content_stems(exp)
    if partner_q and mine and mine <= partner_q and ("you" in exp or "your" in exp):
        return "mirror", None
    if " ".join(_strip_lead(exp)) in _partner_questions(ctx.partner_text):
        return "mirror", None  # "what do you do?" sent back word for word
    partner_seq = [stem(w) for w in _expand(_words_with_marks(_tokens(ctx.partner_text))[0])]
    partner_stems = _content_stems(_expand(_words_with_marks(_tokens(ctx.partner_text))[0]))
    said_before = [w for cl in clauses if cl is not c for w in cl.exp]
    stmt_stems = _content_stems(said_before)
    referential = bool(_REFERENTIAL & set(exp)) or bool(_FOLLOW_PHRASE_RE.search(joined))
    # Hooks: a cue in the question, or a cue earlier in the utterance plus a pointer back
    # ("oh a rescue puppy how long have you had him").
    for hook in ctx.hooks:
        if _hook_in(hook, stems_q) or (_hook_in(hook, stems_all) and referential):
            return "follow_up", f"hook:{hook.id}"
    if ctx.partner_text:
        # Words next to a hook the partner just dropped ("training for my first marathon").
        for hook in ctx.hooks:
            if mine & _near_hook(hook, partner_seq):
                return "follow_up", f"hook:{hook.id}"
        if mine & partner_stems:
            return "follow_up", "partner"
        if referential and stmt_stems & partner_stems:
            return "follow_up", "partner"
    intro = bool(_INTRO_RE.search(joined))
    # A pronoun points at the partner's line unless the user just brought up a topic of their
    # own ("the dumplings are great, have you tried them?").
    own_topic = bool(stmt_stems - partner_stems)
    if ctx.partner_text and referential and not intro and not own_topic:
        return "follow_up", _hook_in_partner(ctx) or "partner"
    if intro or ctx.first_user_turn or not ctx.partner_text:
        return "introductory", None
    return "topic_switch", None


def _near_hook(hook: HookCue, partner_seq: list[str], window: int = 5) -> set[str]:
    """Content stems within `window` words of where the partner dropped the hook."""
    out: set[str] = set()
    cues = [c for c in (_cue_stems(cue) for cue in hook.cues) if c]
    for i in range(len(partner_seq)):
        if any(_cue_match(c, partner_seq[i:i + len(c)]) for c in cues):
            lo, hi = max(0, i - window), i + window + 1
            out |= {w for w in partner_seq[lo:hi] if len(w) >= 3 and w not in STOPWORDS}
    return out


def _hook_in_partner(ctx: TurnContext) -> str | None:
    """The hook the partner's last line dropped, if any (a pronoun likely points at it)."""
    if not ctx.partner_text:
        return None
    stems = [stem(w) for w in _expand(_words_with_marks(_tokens(ctx.partner_text))[0])]
    for hook in reversed(ctx.hooks):
        if _hook_in(hook, stems):
            return f"hook:{hook.id}"
    return None
