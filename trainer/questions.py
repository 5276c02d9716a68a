"""Is a clause a question, and of which grammatical form? (wh, yes/no, tag, declarative...)

Pure. Works on lowercase text without punctuation (Whisper's punctuation is unreliable): a
question is found from word patterns (wh-word + auxiliary, auxiliary + subject, tags like
"right", "so you...", "I wonder...") and "?" is only extra evidence. `clauses` also splits
run-on text where a question visibly starts ("i work in sales what do you do").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from trainer.lexicon import (
    AUX,
    BACKCHANNEL_WORDS,
    EMBEDDED_RE,
    LEAD,
    MIRROR_RE,
    PRON_SUBJ,
    STOPWORDS,
    SUBJ,
    WH,
    expand,
    is_lead,
    word_set,
)


@dataclass
class Clause:
    words: list[str]  # raw lowercase tokens (no punctuation)
    mark: str = ""  # the punctuation that ended it ("?", ".", "" ...)

    @property
    def exp(self) -> list[str]:
        return expand(self.words)


_EMBED_PREV = word_set(
    """know wonder wondering ask asked asking tell told remember sure about see idea understand
    explain show decide matter depends on of learn learned figure out find is was curious hear
    love like care knows guess question thing things say said how what why where when who which
    if whether than as to not me sort kind exactly just forget forgot realize realise realized
    realised notice noticed saw heard interested surprised amazing amazed incredible crazy funny
    wild insane unbelievable imagine believe shows shocked in for with by at from into over
    under"""
)


_REACTION_ADJ = word_set(
    "surprised amazing amazed incredible crazy funny wild insane unbelievable great cool")


# After these an auxiliary + "you" is still embedded or part of the same clause.
# ("my own thing | do you think i should...": a noun before "do you" ends the statement)
_AUX_EMBED_PREV = (_EMBED_PREV - {"that", "like", "love", "sure", "is", "was", "thing",
                                  "things"}) | word_set(
    "i we they you he she to")


# Words after a wh-word that start a question even without an auxiliary ("how long...").
_WH_NEXT = word_set(
    """about come so not else exactly kind sort type long many much often far old big soon
    brings brought got gets made makes led leads drew draws happened happens keeps kept
    inspired inspires motivates motivated surprised surprises changed would well""")


_MID_SUBJ = (SUBJ - {"i"}) | word_set("everything things work life business yours")


_IT_NEXT = word_set(
    """your the a an any anyone anything something really still true hard easy always usually
    just
    ok okay worth possible normal common typical busy crowded alright fine enough going good
    bad high low""")


# "...is that good?" at the end of a number or a fact: asks for a verdict on it.
_THAT_VERDICT = word_set("""ok okay normal common typical alright fine enough good bad high low
    true right wrong usual""")


# After these a yes/no question can start mid-utterance with "is it", "did that" ... (speech
# runs a new question on after a conjunction or a restart: "as it is and is it spongy").
_RUN_ON_PREV = word_set("and or but so okay ok well yeah yes oh actually then now right hmm")


# "so do we", "neither did they", "as can you" say "likewise": no question.
_LIKEWISE = word_set("so neither nor as than")


# "how long did they ...": a wh-phrase with inversion is a direct question even after "depends"
_HOW_NEXT = word_set("well much many long often far old big soon")


# After these a question is quoted, not asked ("he said are you coming", "she goes why not").
_REPORTING = word_set("said says asked asks goes")


# Before "like" these quote what someone said or thought ("and she was like where are you").
_QUOTATIVE_BE = word_set("is was were am are 's be being goes go went")


_FIND_OUT = word_set("find found finding figure figured figuring work worked working sort sorted")
def _subject_question(w: str, nxt: str, nxt2: str) -> bool:
    """"what fills your days", "what keeps you busy": a wh-subject with its verb and "you"."""
    return w in ("what", "who") and len(nxt) > 3 and nxt.endswith("s") and nxt2 in ("you", "your")


def _is_clause_start(exp: list[str], i: int) -> bool:
    """Does a question start at exp[i] in unpunctuated text? (used to split run-on clauses)"""
    w = exp[i]
    prev = exp[i - 1] if i > 0 else ""
    nxt = exp[i + 1] if i + 1 < len(exp) else ""
    nxt2 = exp[i + 2] if i + 2 < len(exp) else ""
    nxt3 = exp[i + 3] if i + 3 < len(exp) else ""
    if prev in _REPORTING:
        return False  # a question quoted in a story: "and i said what are you doing"
    prev2 = exp[i - 2] if i > 1 else ""
    if w in WH and prev == "on" and prev2 in ("hang", "hold", "going"):
        # "hang on | why was it three a.m.", "when there's nothing going on | what fills your
        # days": "on" ends a phrase here, it does not embed ("depends on what...")
        return nxt in AUX or nxt in _WH_NEXT or _subject_question(w, nxt, nxt2)
    if w in WH and prev == "out" and prev2 not in _FIND_OUT and (
            nxt in _WH_NEXT or _subject_question(w, nxt, nxt2)):
        return True  # "i came to scope it out | what brought you" ("find out what..." embeds)
    if w == "any" and nxt in _ELLIPTICAL_ANY - {"chance", "else", "luck", "interest", "news"} \
            and nxt2 in ("", "for", "on", "about") and prev not in _ANY_OBJECT_PREV:
        return True  # the question tacked on at the end: "i'm dreading it | any advice"
    if w in WH and prev in ("a", "an"):
        return False  # a restart inside a clause: "a list of what goes in a what goes in it"
    if prev == "like" and i >= 2 and exp[i - 2] in _QUOTATIVE_BE:
        return False  # quoted with "be like": "everyone was like are you moving"
    if w in WH and nxt in AUX and nxt2 in ("you", "your", "they", "he", "she") and \
            prev not in ("of", "about", "in", "on", "at", "to", "for"):
        return True  # inversion makes it direct: "i can imagine | where do you record"
    if (w == "any" and nxt in _ADVICE_NOUNS or w == "got" and nxt == "any"
            and nxt2 in _ADVICE_NOUNS and prev not in PRON_SUBJ | _GOT_INSIDE) \
            and prev not in _ANY_INSIDE:
        return True  # "i always freeze in interviews | any tips", "... | got any advice"
    if w == "what" and nxt in ("is", "was") and nxt2 in ("that", "this") and \
            nxt3 in ("about", "like", "for", "") and prev not in _REPORTING:
        return True  # "someone mentioned it when i signed in | what's that about"
    if w in ("what", "which") and nxt and nxt not in STOPWORDS and nxt2 in AUX and \
            prev not in _EMBED_PREV:
        return True  # "nice range | which book was that"
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
    if w == "how" and nxt in _HOW_NEXT and nxt2 in AUX and nxt3 in PRON_SUBJ:
        return True  # "it depends | how well did we do"
    if w in ("any", "anything") and nxt in _ELLIPTICAL_ANY and prev not in _ANY_OBJECT_PREV \
            and nxt2 in ("", "for", "on", "about", "with", "how", "what", "where", "from"):
        return True  # a statement, then the ask run on: "i want to move into data | any tips"
    if w in AUX and nxt == "you" and nxt2 == "" and w not in ("is", "was", "am") and \
            prev not in PRON_SUBJ and prev not in _LIKEWISE and prev not in WH:
        return True  # the turn handed back at its end: "i don't know | do you"
    if w in AUX and prev not in PRON_SUBJ and prev not in _LIKEWISE:
        # Speech runs a new question on mid-utterance: "it w actually | do we have...",
        # "if we just went for one colour | did we decide on the case", "shall we wait".
        subj = nxt2 if nxt == "not" else nxt
        if w == "shall" and subj in ("we", "i"):
            return True
        if w in ("can", "could", "may", "should") and nxt == "i" and nxt2 and nxt2 not in (
                "think", "guess", "suppose", "mean", "say", "just", "tell", "imagine") and \
                prev not in _AUX_EMBED_PREV and prev not in STOPWORDS - {"do", "it", "this"}:
            return True  # "how would i do that | can i do it from my phone", "it's heavy | may i"
        if subj in ("we", "they") and prev not in _AUX_EMBED_PREV and (
                w not in ("is", "was") and w != "am"):
            return True
        if prev in _RUN_ON_PREV and subj in ("it", "this", "that", "there") and w in (
                "is", "was", "does", "did", "can", "could", "would", "will", "should"):
            return True  # "as it is and | is it spongy"
        anyone = nxt2 if nxt == w else subj  # the auxiliary said twice: "but has has anybody"
        if prev in _RUN_ON_PREV and anyone in _ANYONE and w not in ("am", "are", "were"):
            return True  # "we talked about it | but has anybody tried it"
    if w in AUX and prev not in _AUX_EMBED_PREV:
        if w in ("is", "was") and nxt == "you":
            return False  # "the cool thing is you can...": never a question ("are you")
        if w in ("is", "was") and nxt == "that" and prev not in STOPWORDS and prev.isalpha() \
                and not (nxt2 in _THAT_VERDICT and nxt3 in ("", "or", "for", "though")):
            # "the problem is that...", "the reason was that the parser..."; but "eighty one
            # percent | is that good" asks
            return False
        if nxt in ("you", "your"):
            return True
        # "hello i am tom is this your first time": aux + it/this/there + a telling word.
        return w in ("is", "was", "are", "were", "does", "did") and nxt in (
            "this", "it", "there", "that") and nxt2 in _IT_NEXT
    return False


def clauses(tokens: list[str]) -> list[Clause]:
    """Split on punctuation, then split run-on stretches where a question visibly starts."""
    out: list[Clause] = []
    cur: list[str] = []
    for t in tokens:
        if t in "?.!;\n":
            if cur:
                out.append(Clause(cur, t if t != "\n" else ""))
                cur = []
            elif out and t == "?":
                out[-1].mark = "?"
        elif t == ",":
            cur.append(",")
        else:
            cur.append(t)
    if cur:
        out.append(Clause(cur, ""))
    # Second pass: break at commas followed by a question start, and at unpunctuated starts.
    result: list[Clause] = []
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
            if len(cur) >= 2 and not open_wh and not _coordinated_wh(cur, w):
                # run-on: a question starting in the middle, e.g. "i work in sales what do you
                # do"; a window of words around the split point keeps this linear.
                before = expand(cur[-4:])
                window = before + expand(words[i:i + 4])
                if len(window) > len(before) and (_is_clause_start(window, len(before))
                                                  or _after_if_clause(cur, window, len(before))):
                    pieces.append([])
                    cur = pieces[-1]
            cur.append(w)
            # "how long | have you..." is one question: a wh-start waits for its auxiliary.
            head = strip_lead(expand(cur[:4]))
            if len(cur) <= 4 and head and head[0] in WH:
                open_wh = not (AUX & set(expand(cur)[1:])) or len(cur) == 1
                if head[0] in ("when", "while", "once") and len(head) >= 3 \
                        and head[1] in PRON_SUBJ and not head[2].endswith("ing"):
                    # "when you hire graduates | what do you look for": a clause of time with
                    # its own subject and verb waits for no auxiliary ("when you leaving" asks)
                    open_wh = False
            elif open_wh and (w in AUX or any(x in AUX for x in expand([w]))):
                open_wh = False
        pieces = [p for p in pieces if p]
        # Re-join comma pieces that don't start a question ("well, i think, you know").
        merged: list[list[str]] = []
        for p in pieces:
            pe = expand(p)
            starts_q = question_form(pe, "") is not None and not (
                merged and _relative_after_comma(merged[-1], pe))
            if merged and not starts_q and not question_form(expand(merged[-1]), ""):
                merged[-1].extend(p)
            else:
                merged.append(list(p))
        for k, p in enumerate(merged):
            result.append(Clause(p, c.mark if k == len(merged) - 1 else ""))
    return result


_RELATIVE_WH = word_set("which who whose")

# "any tips" run on after a statement asks for them; after these words it is inside the clause
# ("i don't have any tips", "without any advice", "thanks for any ideas")
_ADVICE_NOUNS = word_set("tips advice ideas suggestions recommendations pointers tricks thoughts")
_GOT_INSIDE = word_set("never ever just really finally not also only still already")
_ANY_INSIDE_OWN = word_set(
    "have has had got get gets need needs want wants give gives gave take took without for of"
    " with no not if there any hear heard found find")

_IF_MAIN_AUX = word_set("would will could can should do did")
_IF_MAIN_SUBJ = word_set("i we you they he she")


def _after_if_clause(cur: list[str], exp: list[str], i: int) -> bool:
    """The main clause of a conditional asks, inverted: "if i wanted to help | would i need
    anything", "if i wanted to apply | what would i need to do". The statement has no inversion
    ("if i wanted to help i would need..."), so an auxiliary (or wh + auxiliary) before its
    subject starts the question."""
    head = strip_lead(expand(cur[:3]))
    if not head or head[0] != "if" or len(expand(cur)) < 3:
        return False
    j = i + 1 if exp[i] in WH else i
    if not (j + 1 < len(exp) and exp[j] in _IF_MAIN_AUX and exp[j + 1] in _IF_MAIN_SUBJ):
        return False
    # "if we had more time we could | do it": an auxiliary, "to" or a subject before it
    # makes it part of the clause, not the start of a question
    return exp[i] in WH or exp[j - 1] not in PRON_SUBJ | AUX | {"to", "not"}


def _coordinated_wh(cur: list[str], w: str) -> bool:
    """Is the wh-word `w`, after "and"/"or", a second embedded clause of the same sentence,
    the first one also embedded: "show you what the job involves and what the team does", "i don't
    know where she lives or what she does"? Then no question starts at it."""
    if w not in WH or cur[-1] not in ("and", "or"):
        return False
    return any(cur[j] in WH and expand([cur[j - 1]])[-1] in _EMBED_PREV
               for j in range(1, len(cur) - 1))


def _relative_after_comma(prev: list[str], piece: list[str]) -> bool:
    """Is `piece` a relative clause after a noun ("my blog, which gets lots of readers",
    "Sam, who got me into it") rather than a question ("oh cool, who got you into it")?"""
    if not prev or len(piece) < 2 or piece[0] not in _RELATIVE_WH:
        return False
    # Subject-auxiliary inversion keeps it a question: "two offers, which one should I take".
    if any(piece[k] in AUX and piece[k + 1] in PRON_SUBJ for k in range(1, min(len(piece) - 1, 5))):
        return False
    # ... and so does an auxiliary with "that/this" at the end: "nice range, which book was that"
    if len(piece) <= 5 and piece[-2] in AUX and piece[-1] in ("that", "this", "it"):
        return False
    last = expand(prev)[-1]
    return not (last in LEAD or last in BACKCHANNEL_WORDS or last in _REACTION_ADJ
                or last in _EXCLAIM_ADJ)


def strip_lead(exp: list[str]) -> list[str]:
    i = 0
    while i < len(exp) - 1 and is_lead(exp[i]):
        i += 1
    return exp[i:]


_TAG_ENDINGS = (
    ("is", "not", "it"), ("are", "not", "you"), ("do", "not", "you"), ("did", "not", "you"),
    ("was", "not", "it"), ("does", "not", "it"), ("have", "not", "you"), ("will", "not", "you"),
    ("can", "not", "you"), ("is", "not", "that"), ("are", "not", "they"), ("do", "not", "they"),
    ("would", "not", "it"), ("was", "not", "that"), ("am", "i", "right"), ("or", "not"),
    ("or", "no"),
    ("or", "what"), ("is", "that", "right"), ("is", "that", "correct"), ("am", "i", "wrong"),
    ("you", "know", "what", "i", "mean"), ("you", "know", "what", "i", "am", "saying"),
    ("you", "see", "what", "i", "mean"), ("see", "what", "i", "mean"),
)
# Before "see what i mean" these tell of later: "you'll see what i mean", "to see what i mean"
_NOT_BEFORE_SEE = word_set("will would to can could i we they he she not 'll")


_NOT_BEFORE_OPEN_OR = word_set("and uh um er erm or")


_NOT_TAG_BEFORE_RIGHT = word_set(
    "that is all exactly alright are was you left the on to turn just quite absolutely yeah yes"
    " oh so it this them him her me things thats that's yep okay ok totally got go went"
    " do did done know eat ate eating treat treats treated spell spelled"
    " but be"  # "... but right": a discourse marker; "might be right": a predicate
)


_EXCLAIM_ADJ = word_set(
    "lucky cool crazy amazing awesome great funny weird wild nice sweet fun perfect random ironic"
    " cute insane good bad sad strange brilliant")


# Adjectives of wonder: "how <adj> was that <noun>" exclaims (unlike "how bad was the traffic").
_WOW_ADJ = word_set(
    """beautiful gorgeous amazing awesome incredible lucky crazy wild insane cute sweet lovely
    cool funny weird brilliant perfect ironic random fun stunning hilarious""")


_WHICH_IS_NOT_Q = word_set(
    """why how what where when great good nice cool fine true funny interesting awesome amazing
    exactly kind sort also actually really pretty so such just something partly basically a an
    fair perfect lovely sad fine crazy weird unfortunate terrible awful annoying hard tough okay
    ok understandable normal ridiculous insane scary frustrating""")


_ELLIPTICAL_ANY = word_set(
    "chance plans else tips advice luck idea ideas thoughts news interest recommendations"
    " questions suggestions")
# Before "any tips", "any advice" these make it the object of the same clause ("if you have any
# tips", "i'd welcome any advice", "thanks for any ideas"), not an ask of its own.
_ANY_OBJECT_PREV = word_set(
    """have has had having got get gets getting give gives gave given need needs needed want
    wants wanted take takes took offer offers offered find found hear heard see saw seen ask
    asked share shared appreciate appreciated welcome welcomed receive received without with
    for of about from in on at to by into no not any some the a an my your our their his her
    its than make made do does did is are was were am be been there really hardly barely
    never without or and if""") | AUX  # ("i don't have any ideas", "you can any...")
# ...and for "any tips" run on after a statement (both rules read the same words)
_ANY_INSIDE = _ANY_INSIDE_OWN | _ANY_OBJECT_PREV


_SELF_WONDER_RE = re.compile(
    r"\bwonder(?:ing|ed)? (?:sometimes |often |a lot |too )?(?:if|whether) (?:i|we)"
    r" (?!could (?:ask|get|have|grab|send|borrow|join|call|email))"
    r"|\bcurious about (?!.*\byou)(?!how |what |why |where |who |which |when )"
    # "i was wondering that myself", "i wondered the same": sharing a thought, asking nothing
    r"|\bwonder(?:ing|ed)? (?:that|the same|too|myself)\b"
    r"|\bwonder(?:ing|ed)? about (?:that|it|this) (?:myself|too)\b"
    # wondering aloud, not asking them: "i was wondering" said alone, "i'm wondering about
    # that", "i wonder how we can fix it" (a wish to know about a third party, "i wonder what
    # the keynote is about", still invites their view)
    r"|^(?:(?:and|so|but|well|actually|yeah|now) )*(?:i am|i was|i) (?:just |still |also |really )?"
    r"wonder(?:ing|ed)?(?:$| about (?!you|your|yours)\w+$"
    r"| (?:how|what|why|where|when|who|which) (?:\w+ )?(?:we|i)\b)"
)


# Requests for the partner's telling put as imperatives, the way "tell me about..." is (a
# question by the convention of tests/data/utterances.tsv), and "wondering if..." with its
# "i was" dropped. Only at the start of the clause: "and then he explained how" tells.
_REQUEST_RE = re.compile(
    r"(?:please )?(?:remind me (?:what|how|where|who|when|why|which|your|of|again)"
    r"|fill me in|catch me up|(?:talk|run|take) me through|talk to me about"
    r"|give me (?:an example|some examples|a sense|an idea|the gist|a rundown|the short version)"
    r"|do tell(?: me)?$|say more|describe (?:your|the|what|how)|explain (?:what|how|why|your)"
    r"|enlighten me"
    r"|(?:just )?wondering (?:if|whether|what|how|why|where|who|when|which) (?!i |we ))\b"
)


# "i'd love to hear more about it sometime": a wish for later, no question now
_SOMETIME_RE = re.compile(
    r"\b(?:love|like) to (?:hear|know|learn)\b.*\b(?:sometime|some time|someday|one day"
    r"|another time|some other time|later on)$")


# Asking politely by saying one does not expect it: "i don't suppose you have a pen", "you
# wouldn't happen to know where it is", "you wouldn't know if it's open" (not "you wouldn't
# know it to look at him").
_HEDGED_ASK_RE = re.compile(
    r"(?:i do not suppose (?:you|anyone|anybody|there)"
    r"|(?:you|anyone|anybody) (?:would not |do not |did not |would |might )?happen to"
    r"(?! be (?:right|correct|wrong|lucky))"
    r"|you would not know (?:where|what|how|who|when|which|if|whether|anyone|anybody)) ")
# A guess about them put to them to confirm: "i take it you're new", "i'm guessing you
# drove", "i gather you know tom" (not "i guess you're right", "i bet you're tired").
_HEDGED_CHECK_RE = re.compile(
    r"(?:i take it|i assume|i am assuming|i am guessing|i gather|i understand|i hear)"
    r" (?:that )?(?:you|your)\b(?! (?:are|were) (?:right|welcome|kidding)$) \w+ \w+")
# Their words taken up to be made clear: "when you say X, is that / do you mean / you mean Y"
_WHEN_YOU_SAY_RE = re.compile(
    r"when you (?:say|said|talk about|mention|mentioned)\b.*?\b(?:is that|is it|was that"
    r"|does that|do you mean|did you mean|you mean|you meant|are you|are we"
    r"|you were (?:talking about|referring to|thinking of))\b")
_LATER = word_set("later tomorrow sometime tonight afterwards eventually")
# "(so) if you have any questions", "if anyone's got any comments": said alone, it invites them
# (with more after it, "if you have any questions just ask", it tells them what to do)
_IF_ANY_RE = re.compile(
    r"^if (?:you|anyone|anybody|everyone|you guys|you all) (?:has |have |has got |have got |got )"
    r"(?:any |anything )(?:other |more |further |else )?(?:questions|question|comments|thoughts"
    r"|ideas|suggestions|objections|concerns|to add)?(?: at all)?(?: (?:then|now|for me))?$")


# A question announced and then put: "my question is if we did that would it take less time",
# "the question is to what extent does it help", "so the big question is who pays" (not a
# thought aloud: "the question is whether we can scale it")
_QUESTION_IS_RE = re.compile(
    r"\b(?:my|the|our|one|a|another|first|other|real|big|only) (?:\w+ )?questions? (?:is|was)"
    r" (?:(?:just|really|then|now|basically|simply) )?(?:(?:how|what|why|where|when|who|which)\b"
    r"(?! (?:we|i)\b)|if\b.*\b(?:would|will|does|do|is|can|could) (?:it|you|we|that|they)\b"
    r"|to what\b|(?:do|does|did|is|are|can|could|would|will|should) (?:it|you|we|they|that|this"
    r"|there|some|any|the|a|an|our|your|their)\b)")


# Formulas shaped like questions that expect no answer ("who knows", "how about that").
_NOT_ASKING = frozenset({"who knows", "who cares", "who knew", "how about that",
                         "what do you know", "guess what", "is not that something",
                         "was not that something", "tell me about it"})


def question_form(exp: list[str], mark: str) -> str | None:
    """The grammatical form of a question clause, or None for a statement."""
    core = strip_lead(exp)
    if not core:
        return None
    joined = " ".join(core)
    if joined in _NOT_ASKING and mark != "?":
        return None
    if MIRROR_RE.search(joined) or MIRROR_RE.search(" ".join(exp)):
        return "mirror"
    if EMBEDDED_RE.search(" " + joined):
        if _SELF_WONDER_RE.search(joined) or _SOMETIME_RE.search(joined):
            return None
        return "embedded"
    if _QUESTION_IS_RE.search(joined):
        return "embedded"  # "my question is would it take less time", "the question is how"
    if _REQUEST_RE.match(joined) and core[-1] not in _LATER:
        return "embedded"  # a request for their telling, like "tell me about..."
    if _HEDGED_ASK_RE.match(joined) or joined.endswith(" by any chance"):
        return "yes_no"  # "you wouldn't happen to know...", "you're not sam by any chance"
    if _WHEN_YOU_SAY_RE.match(joined):
        return "yes_no"  # "when you say we is that sunil", "when you say soon you mean today"
    if _HEDGED_CHECK_RE.match(joined):
        return "declarative"  # "i take it you're from here"
    if _IF_ANY_RE.match(joined):
        return "yes_no"  # the room invited to ask: "so if you have any questions"
    if len(exp) == 3 and exp[1] in AUX and exp[2] in PRON_SUBJ and (
            exp[0] in ("neither", "nor") or (exp[0] == "so" and exp[2] != "you")):
        return None  # "so do we", "neither did they": likewise, not a question
    if any(core[k] == "shall" and core[k + 1] in ("we", "i") for k in range(min(3, len(core) - 1))):
        return "yes_no"  # "see shall we wait": "shall we" only ever asks
    if _vocative_first(core) and _aux_form(core[1:]):
        return "yes_no"  # their name first: "sarah, have you met tom", "anna can you start"
    form = (_wh_form(core) or _aux_form(core) or _elliptical_form(core, mark)
            or _tag_form(exp, mark) or _declarative_form(exp) or _or_form(core))
    if form:
        return form
    form = _restarted(core) or _after_condition(core)
    if form:
        return form
    if mark == "?" and (len(core) > 1 or core[0] not in BACKCHANNEL_WORDS):
        return "declarative"
    return None


# A "which" + verb at the start goes on with the speaker's own statement ("which would be
# great", "which is still too slow", "which probably means..."); it asks when a subject, a
# choice word or "which" comes next ("which is yours", "which is better", "which is which").
_WHICH_VERB = word_set(
    """is was are were would could might may will should can must sounds sounded means meant
    seems seemed makes made gives gave leaves helps explains brings takes has had""")
_WHICH_ADVERB = word_set(
    "probably perhaps maybe of course also actually again just still then obviously i"
    " essentially basically both generally usually")
_WHICH_TELLS = word_set("means meant sounds sounded seems seemed explains")
_WHICH_ASKS_NEXT = (PRON_SUBJ - {"i"}) | word_set(
    """it this that these those which yours mine his hers theirs ours your my their better
    best worse worst easier harder faster slower cheaper bigger smaller closer nicer right
    correct true wrong one ones first second last preferable""")


def _relative_which(core: list[str]) -> bool:
    """Is a clause opening "which ..." a relative clause going on with a statement?"""
    if core[1:] in (["is"], ["was"]):
        return True  # broken off: "which is" (MRDA dev pool: 1 of 5 such lines asked)
    if len(core) >= 4 and core[1:3] in (["is", "that"], ["was", "that"]) and (
            core[3] in PRON_SUBJ or core[3] in ("the", "if", "um", "uh")):
        return True  # "which is that it sounded...", "which is that um if we have time"
    if len(core) >= 3 and core[1] in ("did", "does", "do") and core[2] == "not":
        return True  # "which did not have any of the..."
    if len(core) < 3 or core[1] not in _WHICH_VERB | _WHICH_ADVERB:
        return False
    if core[1] in _WHICH_ADVERB or core[1] in _WHICH_TELLS:
        return True  # "which probably means ...", "which i think is fine", "which means that"
    nxt = core[2]
    if core[1] in ("is", "was") and nxt in ("we", "you", "they", "he", "she") and len(core) >= 4:
        return True  # "which is we'll do a batch", "which is you get it for free"
    if nxt in _WHICH_ASKS_NEXT or nxt.endswith("est"):
        return False
    if nxt == "the" and len(core) > 3 and (core[3].endswith("est") or core[3] in (
            "one", "ones", "best", "worst", "right", "better", "first", "last", "most")):
        return False  # "which is the best", "which is the one you like"
    # "which is more important" asks; "which is more than we need" tells
    return not (nxt in ("more", "less") and "than" not in core and len(core) <= 6)


# A pseudo-cleft: a "what" clause as the subject of "is/was" ("what happens is that...",
# "what's nice is the price", "what we need is time"): it tells.
_CLEFT_VERB_S = re.compile(r"^(?!is$|was$|does$|has$|'s$)[a-z]+s$")


def _pseudo_cleft(core: list[str]) -> bool:
    if core[1:3] in (["would", "be"], ["could", "be"], ["might", "be"], ["will", "be"]):
        # "what would be great is...", "what would be helpful would be..."
        rest = core[3:8]
        if any(rest[j] in ("is", "was") or rest[j:j + 2] == ["would", "be"]
               for j in range(1, len(rest))):
            return True
    for k in range(2, min(len(core) - 1, 7)):
        if core[k] not in ("is", "was") or core[k - 1] in AUX | PRON_SUBJ | word_set(
                "it this that there not"):
            continue
        if core[k + 1] == "that" or core[k + 1:k + 2] == ["is"]:
            return True  # "what happens is that", "what i'm saying is is..."
        if core[1] in ("'s", "is", "was") and k >= 3:
            return True  # "what's interesting is the price", "what's under it is silence"
        if _CLEFT_VERB_S.match(core[1]) and k == 2:
            return True  # "what matters is the timing", "what happens is they..."
    return False


# A topic said first and then asked about with a pronoun: "this second stream will it add
# latency", "the new printer does it take a4", "your parents do they live nearby". Not with
# "is" ("the thing is it works").
_TOPIC_DET = word_set("this that these those the your his her their our")
_TOPIC_AUX = word_set("do does did will would can could should has have")


def _dislocated_topic(core: list[str]) -> str | None:
    if len(core) < 5 or core[0] not in _TOPIC_DET:
        return None
    for k in range(2, min(len(core) - 2, 6)):
        if core[k] in _TOPIC_AUX and core[k + 1] in ("it", "they", "he", "she"):
            topic = core[1:k]
            if any(w in AUX or w in PRON_SUBJ or w in STOPWORDS or w == "'s" for w in topic):
                return None
            nxt = core[k + 2]
            if nxt in STOPWORDS - word_set("have get take make go work look need cost"):
                return None
            return "yes_no"
        if core[k] in AUX or core[k] == "'s":
            return None
    return None


_RESTART_NOT_NEXT = word_set("have be been being")
# ("the idea was | why not start with it" tells: not after "was")
_WH_RESTART_AUX = word_set("is are can could would will should")
_HEDGE_FIRST = word_set("maybe perhaps also plus like")


def _restarted(core: list[str]) -> str | None:
    """A question begun, dropped and begun anew with another word: "are | did they mean",
    "should i | is there a board", "is | what is the difference"; or after a hedge: "maybe
    do we have their addresses"."""
    if len(core) < 3:
        return None
    if core[0] in _HEDGE_FIRST and core[1] in AUX and core[2] in ("we", "you", "i"):
        return _aux_form(core[1:])  # "maybe do we have...", "also can you send it"
    if core[0] not in AUX:
        return None
    if core[1] in AUX and core[1] not in _RESTART_NOT_NEXT and \
            core[2] in _CONDITION_SUBJ - word_set("that this"):
        return _aux_form(core[1:])  # ("could do that": a plan told)
    if core[1] in WH and core[0] in _WH_RESTART_AUX:  # ("do what you like", "have whoever")
        return _wh_form(core[1:])
    if core[1] in PRON_SUBJ and core[2] in AUX and core[2] not in _RESTART_NOT_NEXT and \
            len(core) >= 5:
        return _aux_form(core[2:])
    return None


_CONDITION = word_set("if when once after before whenever")


def _after_condition(core: list[str]) -> str | None:
    """A condition or a time first, then the question: "when they removed the frames did they
    insert a marker", "if a sound is voiced is it voiced in this band"."""
    if core[0] not in _CONDITION or len(core) < 6:
        return None
    for k in range(3, len(core) - 2):
        w, prev, nxt = core[k], core[k - 1], core[k + 1]
        if "then" in core[:k]:
            return None  # "if it rains then we stay": the condition's outcome, told
        if w not in AUX or prev in AUX or nxt not in _CONDITION_SUBJ:
            continue
        if w in ("is", "was", "are", "were") and nxt not in ("it", "there", "that", "this"):
            continue  # "if we call that one what you're saying is that..."
        if prev in PRON_SUBJ or prev in STOPWORDS:
            continue  # "when that is done", "if you just did a job": the condition's own verb
        after = core[k + 2]
        if after in AUX or after in ("and", "or", "but") or (
                nxt in ("that", "this") and after in PRON_SUBJ):
            continue  # "the range was | it was", "there and we...", "is that we...": told
        return _aux_form(core[k:])
    return None


_CONDITION_SUBJ = word_set(
    "you we they he she it there that this someone anyone anybody somebody everyone")


def _vocative_first(core: list[str]) -> bool:
    """Is core[0] a name (or a word like one) said before a yes/no question to "you": "sarah
    have you met tom", "tomorrow will you be there"? Not a subject: "i have you", "they did
    you", "that can you" never start a question."""
    return len(core) >= 4 and core[0].isalpha() and core[0] not in STOPWORDS and \
        core[0] not in SUBJ and core[0] not in AUX and core[0] not in WH and \
        not is_lead(core[0]) and core[1] in AUX and core[1] not in ("is", "was", "am") and \
        core[2] == "you" and core[3] not in _AUX_YOU_NOT_NEXT_Q


# "x did you a favour", "x would you know like": no question after a name
_AUX_YOU_NOT_NEXT_Q = word_set("a an the to no wrong right good")


_WH_PREP = word_set("for in to by from with at on of about into under after since until")


def _wh_form(core: list[str]) -> str | None:
    if len(core) >= 3 and core[0] in ("the", "a", "an") and core[1] in WH and core[1] != "when":
        core = core[1:]  # a determiner broken off before the wh-word: "the which one"
    w0, w1, w2 = (core + ["", "", ""])[:3]
    if w0 in _WH_PREP and w1 in WH and len(core) <= 3 and not (set(core[2:]) & PRON_SUBJ):
        return "wh"  # "since when", "for how long", "from where", "to whom"
    if w0 in _WH_PREP and w1 in ("what", "which", "whose", "whom") and w2 and \
            w2 not in PRON_SUBJ and w2 not in STOPWORDS and w2 != "case" and len(core) <= 8:
        # the preposition first: "for what purpose", "in what manner", "at what point did you"
        rest = core[3:]
        if not any(w in PRON_SUBJ for w in rest) or any(
                rest[k] in AUX and rest[k + 1] in PRON_SUBJ for k in range(len(rest) - 1)):
            return "wh"
    if w0 not in WH:
        return _dislocated_topic(core)
    if not w1:
        return "wh"
    if w0 == "what" and w1 == "if" and len(core) >= 4 and (w2 in SUBJ or w2 in (
            "the", "this", "that", "there", "your", "my", "our", "their")):
        return "wh"  # a case put to them: "what if you had done it the other way"
    if w0 == "which" and w1 in ("is", "was") and w2 in _WHICH_IS_NOT_Q:
        return None  # "which is why I came"
    if w0 == "which" and _relative_which(core):
        return None  # "which would be great", "which sounds odd": their own telling goes on
    if w0 == "what" and _pseudo_cleft(core):
        return None  # "what happens is that...", "what's nice is the price": a statement
    if w0 == "how" and w1 in _EXCLAIM_ADJ and w2 in ("is", "was") and core[3:] in (
            ["that"], ["this"]):
        return None  # "how lucky is that" exclaims
    if w0 == "how" and w1 in _WOW_ADJ and w2 in ("is", "was", "were", "are") and \
            core[3:4] in (["that"], ["this"], ["those"], ["these"]) and len(core) <= 6:
        return None  # "how beautiful was that ceremony" exclaims too
    if w1 in AUX or w1 == "'s":
        return "wh"  # "when i was young" has a subject first and never gets here
    if w1 == "you" and (w2 in _YOU_DROPPED_AUX or (
            w2.endswith("ing") and len(w2) > 4 and w2 not in _NOT_A_PARTICIPLE)) and not (
            w0 in ("when", "while") and not w2.endswith("ing")):
        return "wh"  # ("when you think about it" is a clause; "when you leaving" asks)
    if w1 in ("we", "they", "he", "she") and w2.endswith("ing") and len(w2) > 4 and \
            w2 not in _NOT_A_PARTICIPLE and w0 not in ("when", "while", "which"):
        return "wh"  # the "are/is" dropped: "how we doing for time", "where they living now"  # the auxiliary dropped, as people say it: "where you from", "what you up to"
    if w0 == "how" and w1 in _HOW_NEXT and _uninverted(core):
        return None  # "how much communication we could have": no inversion, no question
    if w1 in _WH_NEXT:
        # "what kind of..." and a bare "what kind" ask; "what kind people they are" does not
        return None if w1 in ("kind", "sort", "type") and w2 not in ("of", "") else "wh"
    if w1 not in PRON_SUBJ:
        # "what company do you work for", "which part of town are you in"
        for k in range(2, min(len(core) - 1, 6)):
            if (core[k] in AUX or (core[k] == "'s" and k == 2)) and core[k + 1] in SUBJ:
                return "wh"  # the "'s" of "which one's yours", "what time's the talk"
            if core[k] in AUX and k == len(core) - 2 and core[k + 1] in _POSSESSIVE:
                return "wh"  # "which seat is mine", "whose coat is hers"
        return _elliptical_wh(core)
    return None


_POSSESSIVE = word_set("mine yours ours theirs hers his")


def _uninverted(core: list[str]) -> bool:
    """Does a subject + auxiliary come before any inversion after "how much/long..." ("how
    much time we could have", "how long i have known her")? Then it is an exclamation or a
    clause of a sentence; with the auxiliary dropped people still ask ("how long you been")."""
    if core[2:3] == ["of"]:
        return False  # "how many of you are there"
    for k in range(2, min(len(core), 5)):
        w = core[k]
        if w in AUX or w == "'s":
            return False
        if w in PRON_SUBJ:
            # only a subject + auxiliary ("we could have") is the clause form: with the
            # auxiliary dropped it still asks ("how many classes you taking")
            nxt = core[k + 1] if k + 1 < len(core) else ""
            # ... and so does a finite verb: "how long it takes depends on the line"
            return nxt in AUX or (w in ("it", "he", "she") and len(nxt) > 3
                                  and nxt.endswith("s") and not nxt.endswith("ss"))
    return False


_YOU_DROPPED_AUX = word_set(
    "from doing up been going headed heading based working studying thinking think mean want")


# After these a wh-word opens a subordinate clause, not a question ("when the war ended").
_SUBORDINATE_DET = word_set("the my our his her their a an this that these those some")
_EXCLAIM_WH_NEXT = word_set("a an fun lovely nice cool great interesting sad funny weird")


def _elliptical_wh(core: list[str]) -> str | None:
    """Wh-questions without a verb, as people say them: "what year", "where up north",
    "what part of texas", "which book", "who else", "where to". A wh-word with a short
    phrase and nothing after it asks; "what a day" and "when the war ended" do not."""
    w0, w1 = core[0], core[1]
    if len(core) > 6 or w1 in _EXCLAIM_WH_NEXT or w1 in AUX:
        return None
    if w0 == "how":
        return "wh" if w1 in ("about", "come") else None  # "how cool" exclaims
    if w0 in ("when", "where", "while") and w1 in _SUBORDINATE_DET:
        return None
    if any(w in PRON_SUBJ or w in ("is", "was", "'s") for w in core[1:]):
        return None  # a clause of its own ("where i grew up", "what it is")
    return "wh"


_CLAUSE_ADVERB = word_set("not actually really just always never probably all also")
_ASK_LEAVE = word_set(
    "ask check confirm clarify mention add interrupt borrow grab have get see jump squeeze")


def _aux_form(core: list[str]) -> str | None:
    w0, w1, w2 = (core + ["", "", ""])[:3]
    if w0 not in AUX:
        return None
    rest = core[1:]
    if rest and rest[0] == "not":
        rest = rest[1:]
    if rest and rest[0] not in SUBJ and w0 in ("is", "are", "was", "were") and len(rest) >= 2 \
            and rest[0] not in STOPWORDS and rest[0] not in _NOT_A_SUBJECT \
            and not rest[0].endswith(("ly", "ing", "ed")):
        return "yes_no"  # a bare noun subject: "is translation work steady", "are dogs allowed"
    if rest and rest[0] not in SUBJ and w0 in ("have", "has") and rest[0] not in STOPWORDS and \
            rest[0] not in _NOT_A_SUBJECT and any(
                w == "been" or (w.endswith("ed") and len(w) > 4) for w in rest[1:5]):
        return "yes_no"  # a bare noun subject: "have folks from the lab been in touch"
    if rest and rest[0] in _THING_SUBJ and w0 not in ("am", "must") and len(rest) >= 2:
        return "yes_no"  # "has anything good happened this week", "did something go wrong"
    if not rest or rest[0] not in SUBJ:
        return None
    if w0 in ("was", "is") and w1 in ("a", "an"):
        return None  # "was a good day for me", a statement with its subject dropped
    if w0 in ("is", "does", "has") and (w1 in ("i", "we", "they") or (
            w1 == "you" and w2 not in ("know", "mean", "see"))):
        return None  # no agreement, so no inversion: "(the thing) is | i have a script",
        # "(the idea) is we would take", "has | i haven't seen him" (MRDA dev pool: 0 of 6
        # asked; "is you mean two thousand one" still checks)
    if w0 in ("was", "is") and w1 == "that" and w2 in (
            "you", "we", "they", "he", "she", "i", "it", "people") and len(core) >= 4 and (
            core[3] in AUX or core[3] in _CLAUSE_ADVERB):
        return None  # "(the point) is that you would look at it": "that" begins a clause
    if w0 in ("is", "was") and core[1:3] == ["not", "that"] and len(core) == 4 and \
            core[3] in _EXCLAIM_ISNT:
        return None  # "(oh) isn't that nice" exclaims
    if w0 in ("had", "have") and w1 in ("a", "an", "the", "some", "no", "fun"):
        return None  # "had a feeling...", "have a good one"
    if w0 == "did" and w1 == "a" and w2 in ("bit", "little", "ton", "lot"):
        return None  # "did a bit of everything"
    if w1 == "i" and w2 == "just" and core[3:4] and core[3] in _ASK_LEAVE:
        return "yes_no"  # leave asked: "can i just ask about the data", "could i just check"
    if w1 == "i" and w2 == "be" and core[3:4] and core[3] in ("excused", "of", "next"):
        return "yes_no"  # "can i be excused", "can i be of help", "can i be next"
    if w1 == "i" and w2 in ("just", "tell", "say", "be"):
        return None  # "can i just say..."
    if w0 == "do" and w1 == "your" and w2 in _DO_YOUR_THING:
        return None  # an imperative: "do your best", "do your homework first"
    if " ".join(core[:3]) in ("are you kidding", "are you serious", "are you joking"):
        return None  # a reaction, not a question
    return "yes_no"


_THING_SUBJ = word_set("anything something everything nothing")
_ANYONE = word_set("anybody anyone somebody someone everybody everyone")

_EXCLAIM_ISNT = word_set(
    "nice sweet lovely wonderful beautiful great cute amazing awful terrible funny neat cool")
_DO_YOUR_THING = word_set("best thing part homework job research worst own bit share duty")


# Words that follow a sentence-initial "is/was" in statements with the subject dropped ("was
# great fun", "is true though").
_NOT_A_SUBJECT = word_set(
    """great good fun true fine nice cool amazing awesome lovely hard easy crazy funny weird
    wild sad bad terrible busy super pretty kinda kind sort not never always still also only
    totally literally basically definitely probably actually like what how why where who all
    going gonna supposed about one two three four five six seven eight nine ten fair worth
    perfect interesting exciting scary tough insane best worst better worse honestly late
    early ok okay alright sure""")


# Repair requests: the listener did not catch it and asks again.
_REPAIR = frozenset({"pardon", "pardon me", "beg your pardon", "i beg your pardon", "come again",
                     "say again", "say that again", "sorry what", "you what", "such as",
                     "say what"})


def _elliptical_form(core: list[str], mark: str) -> str | None:
    """Questions with the auxiliary dropped: "want to grab coffee", "ever been to japan"."""
    if " ".join(core) in _REPAIR:
        return "wh"
    if core[:1] == ["you"] and core[1:2] and core[1] in ("guys", "all", "two", "folks") and \
            len(core) >= 3:
        core = ["you", *core[2:]]  # "y'all ever go fishing" asks like "you ever..."
    w0, w1 = (core + ["", ""])[:2]
    if len(core) < 2:
        return None
    hit = (
        (w0 in ("want", "care", "need") and w1 in ("to", "me", "us", "any", "a")
         and core != ["need", "to"])  # ("need to" alone answers: "do you have to?")
        or w0 in ("ever", "fancy", "mind")
        or (w0 in ("any", "anything") and w1 in _ELLIPTICAL_ANY)
        or (w0 == "been" and w1 in ("here", "to", "in", "busy", "waiting", "long"))
        or (w0 in ("seen", "heard") and mark == "?")
        or (w0 == "got" and w1 in ("any", "a", "time", "plans"))
        or (w0 == "know" and w1 in ("anyone", "any", "someone", "anybody", "of", "what",
                                    "where", "how", "if", "whether"))
        or (w0 == "you" and w1 == "ever")
        # "you there", "anyone there", "you still there": is the partner still listening?
        or (w0 in ("you", "anyone", "anybody", "someone") and "there" in core[1:3]
            and len(core) <= 3)
        or (w0 == "you" and w1 in ("think", "want", "need", "like", "got") and len(core) >= 3
            and core[1:3] != ["got", "to"] and core[1:] != ["got", "it"])  # "you gotta...",
        # advice, and "you got it", an assent
        # "you agree", "you think", "you reckon": the auxiliary dropped, asking their view
        or (w0 == "you" and w1 in ("agree", "reckon", "think", "reckoned") and len(core) <= 3
            and core[2:] in ([], ["so"], ["too"]))
        or (w0 == "you" and w1 in ("know", "seen", "heard", "been") and mark == "?")
        # "(do) you know how much", "you know how long it takes": "how" with a degree
        # word asks; "you know how it is", "you know how much i love it" do not
        or (core[1:3] == ["know", "how"] and len(core) in range(4, 8) and core[3] in _DEGREE
            and not set(core[4:]) & (SPEAKER_WORDS | {"you"}))
    )
    if _your_view(core):
        return "wh"
    if _always_like_this(core):
        return "yes_no"
    if hit or _dropped_aux(core) or _consent_check(core) or _yet_check(core) or (
            _meeting_elliptical(core)):
        return "yes_no"
    if w0 == "you" and w1 == "mean" and len(core) >= 3:
        return "declarative"
    # "you didn't try it", "you haven't been back since": a negative check on what they said
    if w0 == "you" and w1 in _NEG_CHECK_AUX and core[2:3] == ["not"] and 4 <= len(core) <= 9 \
            and core[3:5] not in (["have", "to"], ["need", "to"], ["want", "to"]) \
            and core[3] not in ("even", "always", "ever", "need", "know", "see"):
        return "declarative"
    # "you never went back", "you've never been there": a check on their past, not the
    # generic "you never know" (present tense)
    if w0 == "you" and 3 <= len(core) <= 8 and (
            (w1 == "never" and is_past_verb(core[2]))
            or (w1 in ("have", "had") and core[2] == "never" and len(core) >= 4)):
        return "declarative"
    # "you don't like it", "and you don't want to": a short check on what they just said; a
    # generic "you" goes on to say more ("you don't have to pay", "you don't see that often")
    if w0 == "you" and w1 == "do" and core[2:3] == ["not"] and len(core) in (5, 6) and \
            core[3] in _CHECK_VERBS and core[-1] in _CHECK_END:
        return "declarative"
    # "you sail it yourself", "you built it yourself": a check, not advice ("you can do it
    # yourself", "you have to do it yourself")
    if w0 == "you" and core[-1] in ("yourself", "yourselves") and 3 <= len(core) <= 7 and \
            w1 not in _DECL_ADVICE and w1 not in ("have", "had", "do", "said", "say") and \
            "to" not in core:  # ("you said it yourself" agrees)
        return "declarative"
    # "you really think so", "you actually build furniture now": a check on what they said
    if w0 == "you" and w1 in ("really", "actually", "seriously", "honestly", "still") \
            and len(core) >= 3 and core[2] not in _DECL_ADVICE:
        return "declarative"
    return _report_check(core)


# ("you go all the way to the end and turn left" gives directions: no present tense here)
_CAME_VERBS = word_set("came drove flew travelled traveled went walked biked cycled moved")
_REPORT_TELLS = word_set("and but because cause so nothing")
# The speaker's own words (on expanded text: "i'm" is "i am" by then).
SPEAKER_WORDS = word_set("i me my mine we us our")
_STILL_NEXT = word_set("in at with living working teaching studying doing going")
_REPORT_NOT_NEXT = word_set("so it that this yourself again best too once twice")
_EMPHATIC_DO_VERBS = word_set(
    "like love want know remember mind enjoy eat drink play watch realise realize miss")
_AROUND_HERE = ("around here", "near here", "nearby", "close by", "in the area", "in town",
                "here often", "in this building", "on this street", "in the neighbourhood",
                "in the neighborhood")
_LOCAL_VERBS = word_set("live work stay study come shop teach")


def _report_check(core: list[str]) -> str | None:
    """What they said, put back to them to confirm: "you're saying it's cheaper", "so what
    you're saying is we wait", "you said you work in sales", "you do like it"; and "you
    live around here" (the "do" dropped). Not "you said it", "you say so", "you do have a
    point", "you do want to be careful" (agreement and advice)."""
    w0, w1 = core[0], core[1]
    n = len(core)
    if set(core[3:]) & _REPORT_TELLS:
        return None  # an account or a reproach: "you said you'd come and you didn't"
    if core[:3] == ["you", "are", "saying"] and n >= 4 and core[3:] not in (["so"], ["it"]):
        return "declarative"
    if core[:3] == ["we", "are", "saying"] and n >= 5 and (
            core[3] in PRON_SUBJ | {"there", "well"}
            or (core[3] == "that" and core[4] in PRON_SUBJ | {"is", "the"})):
        return "declarative"  # the room's view put back: "so we're saying we want it smaller"
    if core[:4] == ["you", "are", "telling", "me"] and n >= 5:
        return "declarative"  # (alone, "you're telling me" agrees)
    if core[:5] == ["what", "you", "are", "saying", "is"] and n >= 7 and core[5] in (
            PRON_SUBJ | {"that", "there"}):
        return "declarative"  # (not a verdict: "what you're saying is true")
    if w0 == "you" and w1 in ("said", "say") and 4 <= n <= 12:
        k = 3 if core[2] == "that" else 2
        if k < n - 1 and core[k] in PRON_SUBJ | {"there"} and core[k + 1] not in \
                _REPORT_NOT_NEXT:
            return "declarative"
        if core[2:4] == ["that", "is"] and n >= 5 and core[4:] != ["it"]:
            return "declarative"  # "you say that's a required one", "you said that's free"
    if core[:2] == ["you", "are"] and 4 <= n <= 8 and core[-1] != "it" and not (
            set(core) & (SPEAKER_WORDS | _EXCLAIM_ADJ | _WOW_ADJ)) and (
            core[2] == "from" or core[2:4] in (["not", "from"], ["originally", "from"])
            or (core[2] == "still" and core[3] in _STILL_NEXT)):
        return "declarative"  # where they are from, or still are: "you're from ohio",
        # "you're still in school" (not a verdict: "you're still young")
    if w0 == "you" and core[2:5] == ["all", "the", "way"] and n <= 10 and \
            "nothing" not in core and (
            w1 in _CAME_VERBS or (w1 == "come" and core[5:6] == ["from"])):
        return "declarative"  # surprise put to them: "you drove all the way from denver"
    if w0 == "you" and w1 == "do" and 3 <= n <= 6 and core[2] in _EMPHATIC_DO_VERBS and \
            core[3:4] != ["to"]:
        return "declarative"
    if w0 == "you" and n <= 6 and w1 in _LOCAL_VERBS and any(
            " ".join(core[2:]).endswith(p) for p in _AROUND_HERE):
        return "yes_no"
    return None


_NEG_CHECK_AUX = word_set("did have has had were")
# Verbs of "you don't <verb> it" checks ("you don't like it", "you don't want to").
_CHECK_VERBS = word_set("like want love mind miss enjoy play watch eat go use think")
_CHECK_END = word_set("it that them to him her one there so")
_IRREGULAR_PAST = word_set(
    """went got came saw made told took gave left had did found heard met ate drove knew
    thought bought brought taught caught sold wrote rode flew grew kept felt lost won spent""")


def is_past_verb(word: str) -> bool:
    """Is `word` a verb in the past tense? ("went", "moved"; "need" and "bed" are not)."""
    return word in _IRREGULAR_PAST or (len(word) > 4 and word.endswith("ed")
                                       and word not in ("need", "indeed", "speed", "feed",
                                                        "hundred", "kindred"))


# "does that make sense", "is that okay with you", "are you with me", said without the verb
# or the auxiliary, as a speaker checks the listener is with them; "sounds good" and "makes
# sense" (with the "-s") agree, and "good for you" praises, so neither is here.
_CONSENT_RE = re.compile(
    r"^(?:(?:that|this|it|everything) )?(?:make sense|sound (?:good|okay|ok|alright|fair|right)"
    r"|work for (?:you|everyone|everybody|you guys|you all|both of you))"
    r"(?: to (?:you|everyone|everybody|you guys))?(?: so far)?$"
    r"|^(?:sounds|sound|looks|look|seems|seem) (?:good|okay|ok|alright|fine|right|fair)"
    r" to (?:you|everyone|everybody|you guys|you all)$"
    r"|^works for you$"
    # "everybody agree with this", "we all agreed on that": the room asked to agree
    r"|^(?:everybody|everyone|we all|you all|all) (?:agree|agreed)(?: (?:with|on) (?:this|that|it"
    r"|the \w+))?$"
    r"|^(?:(?:that|this|it|everything|everyone|everybody|we|you|you guys) )?(?:all )?"
    r"(?:okay|ok|alright|good|fine|cool|happy) with (?:you|that|this|it|everyone|everybody"
    r"|you guys|you all)$"
    r"|^(?:that|this|it) (?:okay|ok|alright|fine) for you$"
    r"|^(?:(?:you|everyone|everybody|you guys|you all) )?(?:still )?with me(?: so far)?$"
    # "we good", "everyone ready", "everything okay": how things stand, the "are/is" dropped
    r"|^(?:we|everyone|everybody|everything) (?:all )?(?:okay|ok|alright|good|set|ready|done"
    r"|finished)(?: (?:here|there|now|then|so far|for now|for today|to go|over there))?$"
)


def _consent_check(core: list[str]) -> bool:
    """A check that the listener is with the speaker, its verb dropped: "that make sense",
    "sound good", "okay with you", "everyone happy with that", "still with me", "we good"."""
    return len(core) <= 6 and bool(_CONSENT_RE.match(" ".join(core)))


# Past participles of verbs a "have you ... yet" question drops its auxiliary before.
_PARTICIPLE = word_set(
    """been seen heard had eaten done gone got gotten read tried finished met called
    written taken given found made bought sent started booked decided picked paid""")
_YET_SUBJ = word_set("you they he she it everyone everybody anyone anybody")
_YET_STATE = word_set("here there in out back ready done open up home")


def _yet_check(core: list[str]) -> bool:
    """ "(have you) eaten yet", "had lunch yet", "you heard back yet", "(is) it here yet": a
    question about what has happened so far; a statement says it has not ("not yet", "i
    haven't eaten yet"), so it carries a negation or the speaker's own subject."""
    if core[-1:] != ["yet"] or not 2 <= len(core) <= 7 or set(core) & (
            (AUX - {"had"}) | {"not", "no", "never", "i", "we", "me", "us", "my", "our", "and",
                               "but"}):  # "had" is the participle: "had lunch yet"
        return False
    w0, w1 = core[0], core[1]
    if w0 in _PARTICIPLE or (w0.endswith("ed") and len(w0) > 4):
        return True  # "tried it yet", "finished yet"
    return w0 in _YET_SUBJ and len(core) >= 3 and (
        w1 in _PARTICIPLE or (w1.endswith("ed") and len(w1) > 4) or w1 in _YET_STATE)


# What a meeting asks the room with no verb: "any other questions", "any comments", "anything
# to add". ("any questions" itself is an _ELLIPTICAL_ANY word.)
_MEETING_ANY = _ELLIPTICAL_ANY | word_set(
    "comments objections concerns updates feedback volunteers takers preferences points"
    # said of one: "any other comment", "any other question", "any final thought"
    " comment objection concern update question thought suggestion point item items issue issues")
_ADD_VERB = word_set("add say share mention report ask discuss raise")
_MEETING_THING = word_set("thing things items points business issues")


def _meeting_elliptical(core: list[str]) -> bool:
    if not 2 <= len(core) <= 5:
        return False
    if core[0] == "any":
        k = 2 if core[1] in ("other", "more", "further", "final", "last") else 1
        if core[k:k + 1] and core[k] in _MEETING_THING and core[k + 1:k + 2] == ["to"]:
            return len(core) == k + 3 and core[k + 2] in _ADD_VERB  # "any items to add"
        return len(core) == k + 1 and core[k] in _MEETING_ANY
    if core[0] == "anything" and len(core) >= 3:
        rest = core[2:] if core[1] == "else" else core[1:]
        return rest[:1] == ["to"] and len(rest) == 2 and rest[1] in _ADD_VERB or (
            rest[:3] in (["you", "want", "to"], ["you", "would", "like"])
            and rest[-1] in _ADD_VERB)
    return False


_ALWAYS_SUBJ = word_set("this that it the your they he she traffic")


def _always_like_this(core: list[str]) -> bool:
    """ "(is) this line always this slow", "it always like this", "they usually that busy":
    the "is/are" dropped before a habit put to them (with the verb it tells: "it's always
    this slow", "it always takes this long")."""
    if not 3 <= len(core) <= 8 or core[0] not in _ALWAYS_SUBJ or set(core) & (
            AUX | {"'s", "i", "we", "my", "our"}):
        return False
    for k in range(1, len(core) - 1):
        if core[k] in ("always", "usually", "normally", "ever"):
            nxt = core[k + 1:k + 3]
            return nxt[:1] in (["this"], ["that"]) and len(nxt) == 2 and \
                nxt[1] not in STOPWORDS or nxt in (["like", "this"], ["like", "that"])
    return False


_VIEW_NOUN = word_set("thoughts take opinion view views guess verdict feeling")


def _your_view(core: list[str]) -> bool:
    """ "(what are) your thoughts", "your take on it", "(what's) your name again", "the
    address again": a wh-question said without its wh-word and verb."""
    body = core[:-1] if core[-1] in ("it", "that", "this") else core  # "your take on it"
    if set(body) & (AUX | PRON_SUBJ | {"'s", "my", "our"}) or len(core) > 6:
        return False
    if core[0] == "your" and len(core) >= 2 and core[1] in _VIEW_NOUN:
        return len(core) == 2 or core[2] in ("on", "about", "of")
    return core[-1] == "again" and 3 <= len(core) <= 4 and core[0] in ("your", "the") and \
        core[-2] not in STOPWORDS


_DROP_SUBJ = word_set("you they he she anyone anybody someone somebody everyone everybody")
_NOT_A_PARTICIPLE = word_set(
    "being thing something nothing anything everything morning evening king ring spring sing"
    " bring string during ceiling wedding")
# "you okay", "you all set", "you ready": how they are, the "are" dropped
_YOU_STATE = word_set(
    """okay ok alright ready sure hungry done set free busy new serious interested available
    allowed around home comfortable warm cold tired awake married single retired divorced
    finished up good fine alone lost hurt nervous excited next happy""")
# "(does) anyone want coffee", "anybody need a ride", "(is) anyone home": the bare verb asks
# ("anyone knows that" tells)
_ANYONE_NEXT = word_set(
    """want wanna need have got know seen heard fancy mind care feel home free here there
    around interested hungry available""")
_OBJ_PRON = word_set("me us him her them")
_YOU_PLACE_PREP = word_set("in at from into on near with")
# "in turn", "at least", "in fact": an adverb after the subject, not where they are
_PREP_IDIOM = word_set("turn fact least first last general particular short all any case")
_COMMON_VERBS = word_set(
    "told came went said got made think know like love want need tried took gave saw")
_BEEN_NEXT = word_set(
    "there here to in at out up back away on over around busy okay ok alright well long sick")


def _dropped_aux(core: list[str]) -> bool:
    """Yes/no questions with the auxiliary dropped, as speech says them: "you training for
    something", "they treating you okay", "anyone using this bench", "you a student", "you
    okay", "you guys need any help", "they in the same class"."""
    if core[:1] == ["you"] and core[1:2] and core[1] in ("guys", "all", "two", "folks"):
        core = ["you", *core[2:]]  # "you guys ..." asks like "you ..."
    if len(core) < 2 or core[0] not in _DROP_SUBJ or len(core) > 10:
        return False
    w0, w1 = core[0], core[1]
    if w1.endswith("ing") and len(w1) > 4 and w1 not in _NOT_A_PARTICIPLE:
        return True  # "(are) you training for something"
    if w0 in ("anyone", "anybody") and w1 in _ANYONE_NEXT and len(core) <= 8:
        return True  # "anyone want coffee", "anybody home"
    if w0 != "you" and w0 not in ("they",):
        return False
    rest = core[2:]
    no_verb = not (set(rest) & (AUX | PRON_SUBJ | {"'s"}))
    if w0 == "you" and w1 in ("a", "an") and 3 <= len(core) <= 5 and no_verb:
        return True  # "(are) you a student"
    if w0 == "you" and w1 in _YOU_STATE and len(core) <= 4 and no_verb and not (
            rest[:1] and rest[0] in _OBJ_PRON):
        return True  # "(are) you okay", "you all set"
    if w0 == "you" and w1 in _YOU_STATE and rest[:1] in (["with"], ["about"]) and \
            len(core) <= 7 and not (set(rest) & (AUX | {"'s", "i", "me", "my"})):
        return True  # "(are) you happy with the new place", "you okay with where we are"
    if w0 == "you" and rest[:1] == ["much"] and w1 not in AUX and w1 not in ("not", "very"):
        return True  # "(do) you watch much tv", "y'all get much snow" (a statement says "a lot")
    if w0 == "you" and core[-1] == "much" and len(core) >= 4 and core[-2] not in (
            "so", "too", "very", "that", "as", "how", "this") and not (
            set(core) & (AUX | {"not"})):
        return True  # "(do) you all go out on the lake much", "you see them much"
    if w0 == "you" and w1 == "been" and 3 <= len(core) <= 7 and (
            core[2] in _BEEN_NEXT or core[2].endswith("ing")):
        return True  # "(have) you been there long", "you been waiting long" ("you been great")
    if w0 == "you" and w1 in ("need", "want", "got", "have") and rest[:1] in (
            ["any"], ["anything"], ["some"], ["something"], ["more"], ["another"]):
        return True  # "(do) you need any help", "you have any pets"
    # "(are) they in the same class", "you from around here"; not "they in turn told us"
    place = no_verb and bool(rest) and rest[0] not in _PREP_IDIOM and not any(
        w.endswith("ed") or w in _COMMON_VERBS for w in rest)
    return place and (w1 in _YOU_PLACE_PREP and 3 <= len(core) <= 7 and w1 != "with" or (
        w1 == "with" and len(core) <= 4))


_NOT_A_CHOICE = word_set(
    """something so anything whatever two three more less later never other else not another
    nothing someone somewhere""")
_NOT_A_CHOICE_START = word_set("i we i'm my either whether both if one more sooner now")
_NUMBER_WORD = word_set(
    """one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty
    forty fifty hundred thousand""")


def _or_form(core: list[str]) -> str | None:
    """An "or" that offers another option to a question: "or is it", "or do you go out",
    "or you are my roommate"."""
    if len(core) < 2 or core[0] != "or":
        return None
    rest = core[1:]
    if rest in (["not"], ["what"]):
        return "tag"  # the choice of their own question left open: "(...) or not"
    if _aux_form(rest) or _wh_form(rest):
        return "yes_no"
    if rest[0] in ("you", "your") and len(rest) <= 10 and rest[1:2] != ["know"] and not (
            rest[1:2] and rest[1] in _DECL_ADVICE):
        return "declarative"  # not a suggestion: "or you could just call them"
    return None


def choice_form(exp: list[str]) -> str | None:
    """A short choice put to the partner without a verb: "ssst or forest", "to be graceful or
    ungraceful", "you live on or off campus", "coffee or tea". (Only when the partner did not
    just ask something: an answer lists options too, "like websites or games".)"""
    if exp and exp[0] in ("like", "maybe", "probably", "mostly", "usually", "just", "such"):
        return None
    core = strip_lead(exp)
    if "or" not in core or len(core) > 8 or core[0] in _NOT_A_CHOICE_START or core[0] == "or":
        return None
    k = core.index("or")
    before, after = core[:k], core[k + 1:]
    if not before or not after or after[0] in _NOT_A_CHOICE or after[-1] in _NOT_A_CHOICE:
        return None
    if any(w in ("i", "we", "me", "my") for w in core) or before[-1].isdigit() or (
            before[-1] in _NUMBER_WORD and after[0] in _NUMBER_WORD):
        return None  # a range, not a choice: "four or five applicants"
    # either both sides are short phrases, or it is put to "you" ("you live on or off campus"),
    # or the thing is named first: "so the venue, indoors or outdoors"
    if (len(before) <= 2 and len(after) <= 3) or before[0] in ("you", "so") or (
            exp[0] == "so" and len(after) <= 2 and len(before) <= 5
            and not set(core) & (AUX | PRON_SUBJ)):
        return "declarative"
    return None


# Words a speaker starts the next sentence with after a tag, cut off: "... isn't it, and".
# Only those that turn_end already reads as unfinished (a conjunction, a filler): a tag with
# "it's" or "i" after it asks too, but the speaker is still talking, and turn_end's short wait
# after a question would cut them off.
_DANGLING = word_set("and but so uh um")


_RIGHT_ADVERB = word_set(
    "definitely probably completely perfectly certainly partly half also very not dead maybe")


def _right_predicate(exp: list[str]) -> bool:
    """Is a final "right" a predicate, not a tag: "you are definitely right", "she's right"?
    ("get those right" stays a tag: it may ask to confirm the plan.)"""
    prev = exp[-2]
    return prev in ("'s", "'re", "is", "are", "was", "were") or (
        prev in _RIGHT_ADVERB and exp[-3] in ("'s", "'re", "is", "are", "was", "were", "be"))


def _tag_form(exp: list[str], mark: str) -> str | None:
    """Tags at the end of a clause: "you work in finance right", "it is huge isn't it"."""
    for k in (1, 2):
        # a tag and then the next sentence begun and dropped: "that wasn't too bad, was it,
        # and" (an auxiliary + pronoun tag only: "right and" may run on)
        if len(exp) >= 5 + k and all(w in _DANGLING for w in exp[-k:]) and \
                exp[-k - 1] in _TAG_SUBJ and exp[-k - 2] in AUX | {"not"} and \
                _tag_form(exp[:-k], mark) == "tag":
            return "tag"
    for tag in _TAG_ENDINGS:
        n = len(tag)
        # "you know what i mean" on its own is still a check ("you know what I mean?").
        if (len(exp) > n or tag[0] in ("you", "see")) and tuple(exp[-n:]) == tag:
            if tag[0] == "or" and ("if" in exp or "whether" in exp):
                continue  # "i don't know if it's a good idea or not": the choice is embedded
            if tag[0] == "see" and len(exp) > n and exp[-n - 1] in _NOT_BEFORE_SEE | {"you"}:
                continue  # ("you see what i mean" is its own tag, checked first)
            if tag == ("or", "no") and (exp[-3] in ("yes", "yeah", "a") or len(exp) < 4):
                continue  # "just say yes or no", "it's a yes or no": the choice is named
            return "yes_no" if tag[:2] == ("is", "that") else "tag"
    if len(exp) > 3 and exp[-3] in AUX and exp[-2] == "not" and exp[-1] in _TAG_SUBJ:
        return "tag"  # any negative tag: "it could be lemon yellow couldn't it"
    if len(exp) >= 5 and exp[-2] in _POS_TAG_AUX and exp[-1] in _TAG_SUBJ - {"that", "this"} \
            and exp[-3] not in _NO_TAG_BEFORE and exp[-3] not in AUX:
        return "tag"  # a positive tag after a statement: "that won't take long will it"
    if len(exp) >= 2 and exp[-1] == "huh" and exp[-2] not in ("uh", "ah", "mm", "oh"):
        return "tag"  # "weird huh", "pretty late huh"
    core = strip_lead(exp)
    if 3 <= len(core) <= 8 and core[-1] == "what" and core[-2] in _IN_SITU_PREP and \
            core[-3].endswith(("s", "ed", "ing")) and core[-3] not in AUX | {"'s", "this"}:
        return "wh"  # "and it refers to what", "you were talking about what"
    if 2 <= len(core) <= 8 and core[-1] in _IN_SITU_WH and core[-2] in _IN_SITU_BEFORE and \
            core[:2] != ["that", "is"]:
        return "wh"  # the wh-word left in place: "you went where", "and it cost what"
    if _in_situ_amount(core) or (core[:2] in _GUESS_LEAD and _in_situ_amount(core[2:])):
        return "wh"  # ("i guess you pay what twenty a month": the guess asks to be put right)
    if len(core) >= 3 and core[-1] == "or" and core[0] not in _NOT_A_CHOICE_START and \
            "either" not in core and "whether" not in core and "if" not in core and \
            "or" not in core[:-1] and core[-2] not in _NOT_BEFORE_OPEN_OR:
        return "tag"  # a choice left open: "is that paid or", "lisbon the whole time or"
        # (a list trailing off is told: "three or nine or", "to see or visit or", "and uh and
        # or": MRDA dev pool, 5 of 19 such lines the rules took for questions were asked)
    if len(exp) < 3:
        return None
    last, prev = exp[-1], exp[-2]
    if last == "right" and prev not in _NOT_TAG_BEFORE_RIGHT and not _right_predicate(exp):
        return "tag"
    if last == "correct" and prev not in _NOT_TAG_BEFORE_CORRECT:
        return "tag"
    if last == "no" and len(exp) >= 4 and prev not in _NOT_TAG_BEFORE_NO and any(
            w in AUX or w == "'s" for w in exp[:-2]):
        return "tag"  # "i think i have all the gammas no", "it's going to eat the cat no"
    if last == "eh" or (last in ("yeah", "no", "huh", "yes") and mark == "?"):
        return "tag"
    # after "so", what follows for us is put back too: "so we'll split the bill then"
    so_we = exp[0] == "so" and core[:1] in (["we"], ["you"])
    not_check = _NOT_THEN_CHECK - ({"will", "would"} if so_we else set())
    if last == "then" and core[:2] in _GUESS_LEAD and len(core) >= 5 and core[2] in (
            "you", "they", "he", "she") and not set(core[2:]) & SPEAKER_WORDS:
        return _tag_form(core[2:], mark)  # "i guess you're still in school then"
    if last == "then" and prev not in _NOT_TAG_BEFORE_THEN and 3 <= len(core) <= 10 and \
            (core[0] in _THEN_SUBJ or so_we) and "if" not in core and \
            core[:3] != ["that", "is", "it"] and len(core) <= (10 if so_we else 8) \
            and not any(w in not_check or is_past_verb(w) for w in core) and not (
                so_we and core[-2] in ("you", "him", "her", "them")):  # "see you then"
        return "tag"  # an inference put to them: "you go every year then", "she's the oldest
        # then" (not "back then", "see you then", "he was young then")
    return None


_SITU_SUBJ = word_set("you he she they it that")
_SITU_VERB = word_set("is are was were 's got have has had be")
_DEGREE = word_set("old much many long far big often tall")
_AMOUNT_START = word_set(
    """one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty
    forty fifty sixty hundred a about like around maybe almost nearly""")


_GUESS_LEAD = (["i", "guess"], ["i", "suppose"], ["i", "imagine"], ["i", "reckon"])
# "you know what two things...", "you mean what": formulas, not an amount left to fill in
_NOT_SITU_YOU_VERB = word_set("know mean see guess say said think thought tell told")


def _in_situ_amount(core: list[str]) -> bool:
    """The wh-word left in place after "is/are/got", before an amount or at the end: "they're
    how old now", "and she's what five", "you've got what three kids", "you're where". Not a
    clause of its own ("it's what happens", "that's what i said", "she's how i met him")."""
    if not 3 <= len(core) <= 8 or core[0] not in _SITU_SUBJ:
        return False
    for k in range(2, min(len(core), 4)):
        you_verb = k == 2 and core[0] == "you" and core[1] not in _NOT_SITU_YOU_VERB and \
            core[1] not in AUX and core[k] == "what"  # "you pay what twenty a month"
        if core[k] in ("what", "where", "how", "who") and (core[k - 1] in _SITU_VERB or you_verb):
            rest = core[k + 1:]
            if core[k] == "how":
                return rest[:1] != [] and rest[0] in _DEGREE and len(rest) <= 3 and not (
                    set(rest[1:]) & (AUX | PRON_SUBJ))
            if not rest:
                return core[k] != "what" or core[0] == "you"  # "the thing is what" is cut off
            if core[k] == "where":
                return False
            return rest[0] in _AMOUNT_START and len(rest) <= (5 if you_verb else 4) and (
                rest[0] not in ("a", "about", "like", "around", "maybe", "almost", "nearly")
                or (len(rest) > 1 and (rest[1].isdigit() or rest[1] in _AMOUNT_START
                                       or rest[1] in ("couple", "few"))))
    return False


_NOT_TAG_BEFORE_THEN = word_set(
    "since back by until till even just right okay ok and see talk bye well so now only from"
    " what")
_THEN_SUBJ = word_set("you your it that this she he they there")
# A past ("he was young then") or a plan ("you'll call me then") is told, not checked.
_NOT_THEN_CHECK = word_set("was were did had will would should must shall can could")


# Before these a final "no" is an answer, a quote or a determiner's end, not a tag.
_NOT_TAG_BEFORE_NO = word_set(
    """oh said say says saying is was are were am or yes yeah yep no and but just definitely
    probably absolutely um uh not there have has had means mean told answer answered so
    well ok okay actually honestly sadly unfortunately thanks thank sure guess think course
    hell nope nah yea totally literally like a the with big firm clear""")


_TAG_SUBJ = word_set("it you we they he she there that this")
_IN_SITU_WH = word_set("what when where who")
# Verbs before a wh-word left at the end ("you did what"); not "i know where", "guess what",
# nor a copula, where a turn is often cut off ("the thing is what...", "that was when...").
_IN_SITU_BEFORE = word_set(
    """did went said go going moved live lives living work works working met saw bought got
    found paid cost costs left""")
# A preposition before the wh-word at the end, after a verb: "it refers to what", "you're
# talking about what" (not "the level of what", "similar to what": a telling broken off)
_IN_SITU_PREP = word_set("to of about for with on at in from")
_POS_TAG_AUX = word_set("is was does did will would can could do are have has")
# Before these an auxiliary + pronoun at the end is no tag: "so do they", "where is it",
# "i know you do", "not as much as it did".
_NO_TAG_BEFORE = (WH | _LIKEWISE | PRON_SUBJ | _EMBED_PREV | word_set(
    "that this there which whatever wherever if whether because cause and or")) - word_set(
    "it")


_NOT_TAG_BEFORE_CORRECT = word_set(
    "is was that are not be quite totally completely politically technically am absolutely")


_DECL_ADVICE = word_set(
    "should must might can could will know need get see would just gotta got guys and may")


_DAY_WORDS = word_set(
    """monday tuesday wednesday thursday friday saturday sunday tomorrow tonight weekend
    mondays tuesdays wednesdays thursdays fridays saturdays sundays""")


_CLOCK = word_set("o'clock oclock thirty fifteen ish am pm")


def _so_when(rest: list[str]) -> bool:
    """ "so friday", "so tomorrow then", "so next week", "so not at all": the upshot of what
    they said, put back to them (a time, or none at all) with nothing else."""
    if rest[-1:] == ["then"]:
        rest = rest[:-1]
    if not 1 <= len(rest) <= 3:
        return False
    if rest in (["not", "at", "all"], ["never"], ["not", "until", "then"]):
        return True
    if rest[0] in ("about", "around", "at") and len(rest) >= 2 and (
            rest[1].isdigit() or rest[1] in _AMOUNT_START) and all(
            w in _CLOCK or w.isdigit() or w in _AMOUNT_START for w in rest[2:]):
        return True  # a time put to them: "so about six o'clock", "so at ten then"
    k = 1 if rest[0] in ("on", "next", "this", "by", "until", "till") else 0
    if rest[0] == "this" and rest[1:2] != ["weekend"]:
        return False  # "so this one" points, "so this weekend" asks
    return len(rest) == k + 1 and (rest[k] in _DAY_WORDS or (
        k and rest[0] == "next" and rest[k] in ("week", "month", "year", "time")))


def _declarative_form(exp: list[str]) -> str | None:
    """Declarative checks: "so you work in finance", "wait you've been there ten years"."""
    if exp[:1] == ["and"] and 4 <= len(exp) <= 10 and "if" not in exp:
        # "and now you run the whole association", "and you are still working with him":
        # a check on what they said, marked by "now" or "still" next to the "you"
        k = exp.index("you") if "you" in exp[1:3] else -1
        near = exp[max(1, k - 1):k + 3] if k > 0 else []
        if k > 0 and ("now" in near or "still" in near) and len(exp) - k >= 3 and \
                exp[k + 1] not in _DECL_ADVICE and exp[k + 1] not in PRON_SUBJ and \
                exp[k + 1] not in ("know", "see", "get"):  # not "and now you, i suppose"
            return "declarative"
        return None
    if exp[:1] == ["so"] and _so_when(exp[1:]):
        return "declarative"
    k = 0
    while k < len(exp) - 3 and exp[k] in ("okay", "ok", "alright", "yeah", "well", "oh") and \
            exp[k + 1] in ("so", "wait", "okay", "ok", "alright", "yeah", "well", "oh"):
        k += 1  # "okay so you're doing it yourself": a lead before the "so"
    exp = exp[k:]
    if len(exp) < 3 or exp[0] not in ("so", "wait", "oh") or len(exp) > 14 or "if" in exp:
        return None
    i = 1
    while i < len(exp) and exp[i] in LEAD:
        i += 1
    if i >= len(exp) - 1 or exp[i] not in ("you", "your"):
        return None
    nxt = exp[i + 1]
    after = exp[i + 2] if i + 2 < len(exp) else ""
    if nxt == "would" and after not in ("think", "have", "need", "want", "be", "probably",
                                        "just", ""):
        return "declarative"  # a check on what they would do: "so you'd look at a portfolio"
    if nxt in _DECL_ADVICE or (nxt == "have" and after == "to"):
        return None  # advice: "so you should try it", "so you have to apply early"
    return "declarative"


def question_is_open(form: str, exp: list[str], partner_open: bool | None) -> bool:
    if form == "wh":
        core = strip_lead(exp)
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
