"""The words and phrases turn analysis reads, and how text is cut into comparable words.

Pure data plus tiny text helpers: word sets (wh-words, auxiliaries, stop words, back-channels),
contractions, the phrase patterns of speech acts (offer to help, ask to meet, goodbye, greeting,
introductory and mirror questions), tokenising and a crude stemmer. Kept apart from the rules in
trainer/questions.py and trainer/analysis.py so the vocabulary can grow without touching logic.
Patterns match lowercase text with contractions expanded ("what's" -> "what is").
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def word_set(words: str) -> frozenset[str]:
    """A frozenset of the whitespace-separated words."""
    return frozenset(words.split())


WH = word_set("what where when why how who whom which whose")


AUX = word_set(
    "do does did is are am was were have has had can could would will should shall may might"
    " must"
)


# Subjects that can follow an auxiliary at the start of a yes/no question.
SUBJ = word_set(
    "you your yours i we they he she it this that there these those anyone anybody someone"
    " somebody everyone everybody people any my our his her their the a an"
)


PRON_SUBJ = word_set("i we he she they you it")


# Words that may come before the real start of a clause ("oh so what do you do").
LEAD = word_set(
    "so and but oh okay ok well um uh er erm hmm ah yeah yes wow cool nice interesting really"
    " then hey great alright anyway also sorry wait actually right huh mm hm now like ha haha"
    " aw aww ooh no"
    # "'kay" (the apostrophe goes with the tokens): "'kay, do you want to start"
    " kay"
    # issue 13, from real chat and speech: greetings, laughter and reactions before a question
    # ("hello are you still there", "btw whats your major", "lol same when's your last day")
    " hello hi hiya yo btw lol lmao hehe yea ya yep yup yay woah whoa omg dang same ahh ohh"
    " sweet awesome neat"
    # issue 12, the persona helpers' probes: "oh lovely was it your first job"
    " lovely brilliant fantastic wonderful"
    # sentence adverbs before a question ("honestly what do you make of it")
    " honestly seriously genuinely basically"
    # speech transcripts spell back-channels with a hyphen ("uh-huh do you")
    " uh-huh mm-hmm mm-hm mhm huh-uh uh-uh um-hum"
)


# Laughter and drawn-out interjections as chat and ASR spell them: "hahaha", "ohhh", "awww",
# "hmmm", "hellooo". They lead into a question like the LEAD words do.
INTERJECTION_RE = re.compile(
    # (laughter "hehe", "heh", "heee", but never the pronoun "he": "he has your number")
    r"^(?:(?:h+a+)+h*|a?(?:ha)+|h+e+(?:h+e+)+h*|h+e{2,}h*|h+e+h+|l+o+l+|a+w+|o+h+|o+o+h*|h+m+|"
    r"m+h*m+|w+o+a+h*|a+h+|y+a+y+|h+e+l+o+|h+e+y+|u+h+|u+m+|e+r+m*)$")


def is_lead(word: str) -> bool:
    """Is `word` one that may come before the real start of a clause (LEAD or laughter)?"""
    return word in LEAD or bool(INTERJECTION_RE.match(word))


BACKCHANNEL_WORDS = word_set(
    "mm hmm mhm mm-hm mm-hmm uh-huh uhhuh yeah yep yup yes ok okay sure right oh wow really"
    " interesting cool nice totally exactly absolutely true gotcha indeed huh ah aha great"
    " awesome lovely definitely fair sounds good ha haha i see got it makes sense that's"
    " thats that is of course no way for sure kay"
)


CONTRACTIONS = {
    "what's": "what is", "whats": "what is", "how's": "how is", "hows": "how is",
    "where's": "where is", "wheres": "where is", "who's": "who is", "whos": "who is",
    "when's": "when is", "whens": "when is", "why's": "why is", "that's": "that is", "thats": "that is",
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
    "whereabouts": "where abouts",  # "whereabouts in texas" asks like "where in texas"
    # issue 13: speech transcripts (Whisper, telephone transcripts) write these forms too;
    # unexpanded, "what're you up to" or "how've you been" had no auxiliary to find
    "what're": "what are", "where're": "where are", "who're": "who are", "how're": "how are",
    "why're": "why are", "when're": "when are", "there're": "there are",
    "what've": "what have", "where've": "where have", "who've": "who have",
    "how've": "how have", "why've": "why have", "what'll": "what will",
    "who'll": "who will", "where'll": "where will", "how'll": "how will",
    "when'll": "when will", "it'll": "it will", "that'll": "that will",
    "they'll": "they will", "he'll": "he will", "she'll": "she will",
    "there'll": "there will", "when'd": "when did", "they'd": "they would",
    "he'd": "he would", "she'd": "she would", "it'd": "it would", "that'd": "that would",
    "whatcha": "what are you", "watcha": "what are you", "whaddaya": "what do you",
    "d'ya": "do you", "y'know": "you know", "ain't": "is not", "innit": "is not it",
}


I_WORDS = word_set("i me my mine myself i'm i've i'd i'll im ive")


YOU_WORDS = word_set(
    "you your yours yourself yourselves you're you've you'd you'll youre youve ya"
)


STOPWORDS = word_set(
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
    # "i've always wondered what recruiters look for": present perfect invites the answer (a
    # plain past "i wondered what he meant" tells a story)
    r"i (?:have |had )?(?:always |often |sometimes |long |never really |kind of |sort of )"
    r"wondered (?:what|how|why|where|who|which|when|whether|if|about)\b",
    r"i have wondered (?:what|how|why|where|who|which|when|whether|if|about)\b",
    # a repair: "sorry i didn't catch what you do", "i missed where you said you work"
    r"i (?:did not|do not|didn't|never) (?:quite |really )?(?:(?:catch|hear) (?:what|where|who|"
    r"how|which|when|why|your)|get what you)\b",
    r"i (?:missed|misheard) (?:what|where|who|how|which|when|why)\b",
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
    # a question announced: "i was going to ask you if you had kids", "i wanted to ask where"
    # (the question itself must follow: "i was going to ask you the same thing" asks nothing)
    r"i (?:was |am )?(?:going to|meaning to|about to|wanted to|want to) ask(?: you)?"
    r" (?:if|whether|what|how|where|who|why|when|which|about (?:your|you))\b",
]


EMBEDDED_RE = re.compile(r"(?:^| )(?:" + "|".join(_EMBEDDED) + r")")


MIRROR_RE = re.compile(
    r"\b(?:(?:what|how) about (?:you|yourself|yours)(?: guys)?|same (?:question )?(?:to|for) you"
    r"|(?:what|how) about (?:on )?your (?:end|side))(?: actually| too| then| though)?$"
    r"|^(?:and |so |but )?(?:you|yourself|yours|you guys)$"
    r"|\band (?:you|yourself|yours)$"
    r"|\b(?:thanks|good|great|fine|well|bad|busy|okay|ok) (?:and )?(?:you|yourself)$"
    r"|^(?:and )?(?:do|are|have|did|would|can|were|will|could|is|was) (?:you|yours)(?: too)?$"
    r"|\b(?:wbu|hbu|wby|hby)$"  # chat: "what/how about you"
)


INTRO_RE = re.compile(
    r"\b(?:what (?:do|does) you do\b|what is your (?:name|role|background|line of work)"
    r"|what brings you|what brought you|how (?:are|is) (?:you|it going|your day|the event|the"
    r" conference|things)|how is it going|how do you know (?:the|our)|where are you from"
    r"|where do you work|who do you work for|what do you work on|what line of work"
    r"|what field are you|what company are you|(?:is|was) this your first"
    r"|have you been (?:to|here) before|are you (?:enjoying|having fun|here for)"
    r"|first time (?:here|at)|what are you working on|what kind of work do you"
    r"|what sort of work do you|what do you do for)"
)


FOLLOW_PHRASE_RE = re.compile(
    r"^(?:how so|why|why not|how come|what happened|what happened (?:next|then|after that)"
    r"|in what way|like what|such as|what do you mean|and then what|what then|how"
    r"|tell me more|tell me more about (?:it|that|them|him|her)|how did (?:it|that) go"
    r"|how was (?:it|that)|what was (?:it|that) like|what is (?:it|that) like|really|seriously"
    r"|no way|such as what|for example|meaning|what kind)(?: then| exactly)?$"
)


OFFER_RE = re.compile(
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
    r"|how can i help|anything i can do to help|can i help"
    # asking how to help is an offer ("figure out how you can help them"): "is there anything
    # i could do to help", "how could we support you", "do you need a hand with the boxes"
    r"|anything (?:else )?(?:i|we) (?:can|could|might) (?:do (?:to help|for you)|help (?:with|out))"
    r"|(?:is there )?(?:any way|anything) (?:that )?(?:i|we) (?:can|could|might) (?:help|support|"
    r"be of use|chip in|pitch in)"
    r"|how (?:can|could|might) (?:i|we) (?:\w+ )?(?:help|support you|chip in|pitch in|be useful)"
    r"|what (?:can|could|should) (?:i|we) do to help|what (?:can|could) (?:i|we) help (?:with|out)"
    r"|(?:can|could|may) (?:i|we) help (?:with anything|at all|out|in any way|you with)"
    r"|do you need (?:a hand|any help|help|an extra pair of hands|more volunteers) with)"
)


ASK_RE = re.compile(
    r"\b(?:(?:grab|get|have|do) (?:a )?(?:coffee|lunch|drink|drinks|a bite|breakfast)"
    r"|coffee (?:sometime|some time|next|later|soon)|(?:swap|exchange|trade|share)"
    r" (?:contacts|contact info|numbers|cards|business cards|details|info|emails|linkedins)"
    r"|connect on linkedin|add you on linkedin|(?:let us|we should|can we|could we|we could"
    r"|love to|like to|happy to) (?:connect|stay in touch|keep in touch|catch up|meet"
    r"|talk more|chat more|continue)|(?:stay|keep) in touch(?! with (?!me\b|you\b|each other\b))"
    r"|(?:send|drop|shoot) me (?:an |a )?(?:email|message|note|line|text)"
    r"|(?:can|could|may) i (?:get|have|grab|take) your (?:email|number|card|contact|details"
    r"|info|linkedin)|your (?:card|business card|email address|linkedin)"
    r"|(?:do|does) you have a (?:business )?card|(?:email|message|text|call) you"
    r" (?:next week|tomorrow|later|sometime|after)|meet (?:up )?again|(?:set|schedule|book)"
    r" (?:up )?(?:a|some) (?:call|meeting|time|chat)|follow up (?:with you|next week|by"
    r" email)|(?:continue|pick up) (?:this|the|our) conversation|catch up (?:again|sometime"
    r"|soon|next|over)|find (?:a|some) time|talk again|chat again"
    r"|(?:can|could|may|should|would it be (?:ok|okay|alright|all right|fine) if|do you mind if"
    r"|is it (?:ok|okay|alright|all right|fine) if|would you mind if) i (?:email(?:ed)?"
    r"|message(?:d)?|text(?:ed)?|call(?:ed)?|contact(?:ed)?|reach(?:ed)? out to|write to|wrote to"
    r"|follow(?:ed)? up with|connect(?:ed)? with|add(?:ed)?|dropped you|drop you) (?:you)?"
    r"|(?:message|email|connect with|add|find) you on linkedin)"
)


GOODBYE_RE = re.compile(
    r"\b(?:bye|goodbye|good bye|see you|see ya|take care(?! of)|nice meeting you|(?:great|good|nice"
    r"|lovely) (?:talking|chatting|meeting|speaking)|was (?:great|nice|good|lovely|a pleasure)"
    r" (?:to meet|meeting|talking|chatting|speaking)|have a (?:good|great|nice|lovely)"
    r" (?:one|day|night|evening|weekend|rest)|enjoy the rest of|talk soon|catch you later"
    r"|(?:i will|i should|i better|i had better|i would better) let you go|i (?:have to|must"
    r"|should|need to|got to) (?:run|go|head off|get going)|thanks for (?:your time|chatting"
    r"|the chat|talking))\b"
)


GREETING_RE = re.compile(
    r"^(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|howdy|greetings)\b"
    r"|^(?:morning|afternoon|evening)(?:$| (?:all|everyone|there|folks|i am)\b)"
    r"|\b(?:(?:nice|good|great|pleased|lovely) to meet you|my name is|i am \w+ from"
    r"|i do not think we have met|we have not met)\b"
)


# Words after "i am" that are not a name (so "i am curious" is no self-introduction).
NOT_NAME = STOPWORDS | word_set(
    """happy glad curious interested looking working doing fine well sorry new here from in
    with at an also actually currently based trying hoping still really just pretty quite
    so not sure excited thrilled tired busy okay ok great good the a between into without off
    over under out originally part one always usually normally mostly afraid"""
)


FILLER_WORDS = word_set("um umm uh uhh er erm ah uhm hmm basically literally")


TOKEN_RE = re.compile(r"[a-z0-9]+(?:['\u2019\-][a-z0-9]+)*|[?.!;,\n]")


def tokens(text: str) -> list[str]:
    """Lowercase word tokens plus punctuation marks (?.!;,) that matter for clause splitting."""
    t = text.lower().replace("\u2019", "'").replace("\u2026", ".")
    return TOKEN_RE.findall(t)


def expand(words: list[str]) -> list[str]:
    """Contractions spelled out ("what's" -> "what", "is"); a possessive "'s" kept apart."""
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


def content_stems(words: Sequence[str]) -> set[str]:
    """Stems of the words that carry content (3+ letters, not a stop word, not a number)."""
    return {stem(w) for w in words if len(w) >= 3 and w not in STOPWORDS and not w.isdigit()}


def words_with_marks(tokens: list[str]) -> tuple[list[str], list[str]]:
    """The words of `tokens`, and for each the punctuation mark just before it ("" if none)."""
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
