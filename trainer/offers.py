"""Offers of help in the user's own words (issue 12): one rule for the persona and the
scorecard.

"I work in IT, I could maybe help with your stock database" is an offer that no set phrase
catches; "I've got a cat. What about you?" is not one. An offer needs agency words ("I could",
"happy to", "I know someone") and a meaning close to offering help, measured against a few
example offers with the shared sentence embedder (handed in: this module stays pure).
"""

from __future__ import annotations

import re

# Where "...what about you?" starts in a line that first says something of the user's own
# ("I mostly cycle. What's yours?"): the part before it says what "the same" means.
ASK_BACK_RE = re.compile(
    r"(?:^|[.,!?;:]\s*|\s)(?:and |so |but |well )?(?:what about you(?:rself)?|how about "
    r"you(?:rself)?|(?:what|how|which)(?:'s| is| was| were| eats| does)? yours|and you(?:rself)?"
    r"|you\?|did you|do you|have you|are you)\b", re.IGNORECASE)
# An offer of help in the user's own words (issue 12): agency words plus meaning close to one
# of these. Measured on the eval set's offers and statements (benchmarks/persona_eval.py).
AGENCY_RE = re.compile(
    r"\b(?:i could|i can|i'?ll|i will|i would|i'?d|let me|want me to|happy to|glad to|"
    r"i know (?:a|an|some|someone|somebody|people)|my \w+ (?:could|can|runs|works|has)|"
    r"i(?:'ve| have) got|if you need|shall i)\b(?!'t| not| never| love| like| probably| tell(?! (?:my|people|everyone|others|friends|them|the|our|all|everybody)\b)| see| imagine| relate| understand| say| believe| guess| bet)"
    r"(?! be\b(?! (?:happy|glad|keen|up for|delighted|more than happy|a|an|your)\b))",
    re.IGNORECASE)
# ...aimed at the partner: "I could get you", "send you", "if you need", "if that helps".
FOR_THEM_RE = re.compile(
    r"\b(?:you|your|yours|want me to|if (?:you|it|that)(?:'s| is| would| ever)? ?"
    r"(?:need|want|like|helps?|any use|useful)|for free|put you in touch|introduce|put \w+(?: \w+)? "
    r"forward|recommend \w+|vouch)\b", re.IGNORECASE)
# Offers without "I could": "you'd be welcome to...", "if you want someone to..., I'm good at";
# an invitation ("we could get you in to give a talk", "would you fancy doing your talk at our
# meetup?"); one's own time ("I'd love to volunteer", "I'm happy to spread the word").
WELCOME_RE = re.compile(
    r"\b(?:you'?d be (?:very )?welcome to|you(?:'re| are) (?:very )?welcome to|"
    r"if you (?:want|need|ever need|ever want) (?:someone|somebody|a hand|help|anyone)|"
    r"happy to help|glad to help|more than happy to|"
    r"i'?d (?:love|like|be keen|be glad|be happy) to (?:volunteer|help out|sign up|do a shift|"
    r"pitch in|lend a hand|get involved|help)|"
    r"(?:happy|glad) to (?:tell people|spread the word|share it|pass it on))\b", re.IGNORECASE)
# An invitation, often asked: "we could get you in to give a talk", "would you fancy doing your
# talk at our meetup?"
INVITE_RE = re.compile(
    r"\b(?:we (?:could|can|would love to|'d love to) (?:get|have|host|invite|put) you|"
    r"would you (?:fancy|like|want|be up for) (?:to )?(?:come |coming )?(?:and )?(?:speak|"
    r"speaking|give|giving|do|doing|run|running) (?:a |your |the )?(?:talk|session|workshop))\b",
    re.IGNORECASE)
# Agency words that only say what the speaker has ("I've got an idea for an app", "I know
# someone at Northwind"): an offer only when aimed at the partner, not asked, and plainly help.
WEAK_AGENCY_RE = re.compile(
    r"^(?:i(?:'ve| have) got|i know (?:a|an|some|someone|somebody|people)|my \w+ (?:runs|works|"
    r"has))$", re.IGNORECASE)
OFFER_EXAMPLES = (
    "I could help you with that.",
    "I can introduce you to someone who works there.",
    "I'd be happy to send you the link.",
    "My brother runs a van hire company, I could ask him if he can lend you a van.",
    "If you need more volunteers on Tuesdays I'm free and I can drive.",
    "Want me to put you in touch with her?",
    "I can share my notes from the workshop with you.",
    "I know a designer who might help, I'll connect you.",
    "Let me know if I can do anything for your project.",
    "I could review your slides before the next talk if that helps.",
    "I could bring some of my classmates to help next time.",
    "I have a friend in that team, shall I ask her for you?",
)
OFFER_THRESHOLD = 0.38  # agency words alone: meaning must be close to an offer
OFFER_NEAR = 0.15  # agency aimed at the partner: only not plainly about something else

_VECTORS: dict[int, tuple[object, object]] = {}  # id(embedder) -> (embedder, example vectors)


def _examples(embedder):
    got = _VECTORS.get(id(embedder))
    if got is None or got[0] is not embedder:
        got = _VECTORS[id(embedder)] = (embedder, embedder.embed(list(OFFER_EXAMPLES)))
    return got[1]


def offered_help(text: str, embedder, asked: bool = False) -> bool:
    """Whether `text` offers the partner help, by agency words plus meaning.

    `asked`: the line is a question (an offer is rarely one; "you'd be welcome to..." needs a
    statement). The embedder gives unit vectors (trainer.meaning.Meaning or a fake).
    """
    if embedder is None or not text.strip():
        return False
    if (WELCOME_RE.search(text) and not asked) or INVITE_RE.search(text):
        return True
    agency = [m.group(0) for m in AGENCY_RE.finditer(text)]
    if not agency:
        return False
    v = embedder.embed([text])[0]
    sim = max(float(row @ v) for row in _examples(embedder))
    own = text
    head = ASK_BACK_RE.search(own)
    if head is not None and head.start() > 0:
        own = own[:head.start()]  # "I've got a cat. What about you?": the "you" asks back
    if all(WEAK_AGENCY_RE.match(a) for a in agency):
        return not asked and bool(FOR_THEM_RE.search(own)) and sim >= OFFER_THRESHOLD
    if FOR_THEM_RE.search(own):
        return sim >= OFFER_NEAR  # phrased as help for them, and not about something else
    return sim >= OFFER_THRESHOLD
