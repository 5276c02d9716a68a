"""Turn analysis: question detection and kinds, follow-ups and hooks, fillers, pace, focus, acts.

Accuracy thresholds are asserted on the labelled sets in tests/data (the figures
benchmarks/analysis.py prints); the examples below pin behaviour a user would notice.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

# benchmarks/ is a package at the repository root (not installed): `pytest` alone needs this.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.analysis import (  # noqa: E402
    followup_scores,
    load_dialogues,
    load_utterances,
    question_scores,
    strip_text,
)
from trainer.analysis import (  # noqa: E402
    HookCue,
    TurnContext,
    analyze_utterance,
    hook_followed,
)
from trainer.types import Word  # noqa: E402

PUPPY = HookCue("puppy", ("puppy", "biscuit", "dog", "rescue"), "rescue puppy Biscuit",
                "How long have you had Biscuit?")
LISBON = HookCue("lisbon", ("lisbon", "portugal"), "trip to Lisbon")
DANA = TurnContext(
    partner_text="I'm Dana. Sorry if I look tired, I just adopted a rescue puppy called Biscuit.",
    partner_name="Dana", hooks=(PUPPY,))


# --- accuracy on the labelled sets ----------------------------------------------------------------


@pytest.fixture(scope="module")
def rows():
    return load_utterances()


def test_the_labelled_set_is_large_and_covers_every_question_form(rows):
    assert len(rows) >= 400
    forms = {r.form for r in rows if r.is_question}
    assert {"wh", "yes_no", "tag", "declarative", "embedded", "mirror"} <= forms
    acts = {a for r in rows for a in r.acts}
    assert {"backchannel", "opener", "offer", "ask", "goodbye"} <= acts
    unpunctuated = [r for r in rows if r.text == r.text.lower() and r.text[-1:] not in ".?!"]
    assert len(unpunctuated) >= 150


def test_question_f1_as_written_beats_the_question_mark_rule(rows):
    ours = question_scores(rows, stripped=False)
    naive = question_scores(rows, stripped=False, baseline=True)
    assert ours[2] >= 0.97
    assert ours[2] > naive[2] + 0.25


def test_question_f1_without_punctuation_or_capitals(rows):
    precision, recall, f1 = question_scores(rows, stripped=True)
    assert f1 >= 0.95
    assert precision >= 0.95 and recall >= 0.9


def test_question_f1_on_held_out_lines_without_punctuation(rows):
    held = [r for r in rows if r.split == "test"]
    assert len(held) >= 80
    assert question_scores(held, stripped=True)[2] >= 0.9


def test_open_or_closed_matches_the_labels(rows):
    labelled = [r for r in rows if r.is_open is not None]
    right = sum(analyze_utterance(r.text).is_open == r.is_open for r in labelled)
    assert right / len(labelled) >= 0.95


@pytest.mark.parametrize("act,flag", [("backchannel", "is_backchannel"), ("opener", "is_opener"),
                                      ("offer", "is_offer"), ("ask", "is_ask"),
                                      ("goodbye", "is_goodbye")])
def test_acts_are_found_and_not_invented(rows, act, flag):
    with_act = [r for r in rows if act in r.acts]
    without = [r for r in rows if act not in r.acts]
    found = sum(getattr(analyze_utterance(strip_text(r.text)), flag) for r in with_act)
    invented = sum(getattr(analyze_utterance(r.text), flag) for r in without)
    assert found / len(with_act) >= 0.85, act
    assert invented / len(without) <= 0.02, act


def test_follow_up_detection_on_the_dialogues():
    cases = load_dialogues()
    assert len({c.dialogue for c in cases}) >= 20
    precision, recall, f1, exact = followup_scores(cases)
    base = followup_scores(cases, baseline=True)
    assert f1 >= 0.85 and precision >= 0.95
    assert exact >= 0.8
    assert f1 > base[2] + 0.3


# --- question forms and kinds ------------------------------------------------------------------


@pytest.mark.parametrize("text,form,is_open", [
    ("What do you do?", "wh", True),
    ("how did you end up in logistics", "wh", True),
    ("Do you enjoy it?", "yes_no", False),
    ("have you been to this meetup before", "yes_no", False),
    ("You work in finance, right?", "tag", False),
    ("you work in finance right", "tag", False),
    ("its a pretty small team isnt it", "tag", False),
    ("So you work in finance?", "declarative", False),
    ("so you work in finance", "declarative", False),
    ("I wonder what the keynote will be about.", "embedded", True),
    ("i was wondering if you had any advice for a new grad", "embedded", False),
    ("tell me more about the mentoring", "embedded", True),
    ("and you", "mirror", True),
    ("im from ohio originally and you", "mirror", True),
])
def test_question_forms_with_and_without_punctuation(text, form, is_open):
    f = analyze_utterance(text)
    assert f.is_question and f.question_form == form and f.is_open is is_open


@pytest.mark.parametrize("text", [
    "i know what you mean", "what i do is mostly data cleaning", "thats exactly right",
    "when i was a kid i wanted to be a pilot", "you should try the dumplings",
    "which is why i came tonight", "Really?", "mm hmm", "have a good one",
    "i wonder sometimes if i picked the right field",
])
def test_statements_and_back_channels_are_not_questions(text):
    f = analyze_utterance(text)
    assert not f.is_question and f.is_open is None and f.question_kind is None


def test_run_on_text_counts_each_question():
    f = analyze_utterance("thats great how long have you been doing it do you enjoy it")
    assert f.question_count == 2
    assert f.questions == ["how long have you been doing it", "do you enjoy it"]


def test_follow_up_on_a_hook_names_the_hook():
    f = analyze_utterance("oh no way how old is biscuit", DANA)
    assert f.question_kind == "follow_up"
    assert f.follow_up == "hook:puppy" and f.follow_up_hook == "puppy"
    assert f.hooks_taken == ["puppy"]


def test_a_pronoun_after_a_hook_cue_is_a_follow_up_on_the_hook():
    f = analyze_utterance("oh a rescue puppy how long have you had him", DANA)
    assert f.follow_up == "hook:puppy"


# Lines as the personas say them (a reply's lines joined: reaction, hook mention, prompt).
DANA_PUPPY = TurnContext(
    partner_text="Lovely to meet you. My phone background? That's Biscuit, our new rescue puppy. "
                 "Two weeks home and he's already eaten a shoe. Are you in your final year?",
    partner_name="Dana Whitfield",
    hooks=(HookCue("puppy", ("puppy", "biscuit", "dog", "rescue", "pup", "adopt")),))
DAUGHTER = HookCue("daughter", ("daughter", "amara", "glasgow", "university", "eldest"))
BEES = HookCue("bees", ("bees", "bee", "hive", "hives", "honey", "allotment", "beekeeping"))
MARCUS_BEES = TurnContext(
    partner_text="Good to meet you. Weekends are this place and my bees. I've got two hives on "
                 "the allotment, about sixty thousand employees who never complain. Do you "
                 "live nearby?", partner_name="Marcus", hooks=(BEES,))
MARCUS_DAUGHTER = TurnContext(
    partner_text="Nice to meet you. I'm a bit distracted today. My eldest, Amara, just started "
                 "at Glasgow University, and she hasn't called since Wednesday. Do you live "
                 "nearby?", partner_name="Marcus", hooks=(DAUGHTER,))
RUNNER = TurnContext(
    partner_text="I'm a nurse at St Mary's. Mostly nights, which is tough when you're training "
                 "for your first marathon.",
    hooks=(HookCue("marathon", ("marathon", "running", "run", "race")),))


@pytest.mark.parametrize("ctx,text,hook", [
    # Incidental word overlap with the line that dropped the hook is no follow-up on it.
    (DANA_PUPPY, "what do you think of the new iphone", None),
    (MARCUS_BEES, "so whats the toughest bit of running this place", None),
    (MARCUS_DAUGHTER, "so whats the toughest bit of running this place", None),
    (DANA_PUPPY, "are they hiring at the moment", None),
    # A cue word, a pointer back, or a word said next to the hook is one.
    (DANA_PUPPY, "how is biscuit settling in", "puppy"),
    (DANA_PUPPY, "haha what breed is he", "puppy"),
    (MARCUS_DAUGHTER, "whats she studying", "daughter"),
    (MARCUS_DAUGHTER, "oh how is she finding it", "daughter"),
    (MARCUS_BEES, "wow how long have you been doing that", "bees"),
    (MARCUS_BEES, "tell me more", "bees"),
    (RUNNER, "how's the training going", "marathon"),
    (TurnContext(partner_text="Sorry I'm late, I had to drop my twins at swimming.",
                 hooks=(HookCue("twins", ("twins", "kids")),)), "no worries how old are they",
     "twins"),
])
def test_hook_uptake_is_one_rule(ctx, text, hook):
    f = analyze_utterance(text, ctx)
    assert f.follow_up_hook == hook and f.hooks_taken == ([hook] if hook else [])
    assert hook_followed(f.questions[-1], ctx) == hook


def test_sharing_a_common_word_is_no_follow_up_on_the_line():
    f = analyze_utterance("what do you think of the new iphone", DANA_PUPPY)
    assert f.follow_up is None and f.question_kind == "topic_switch"


def test_follow_up_on_the_partner_line_without_a_hook():
    ctx = TurnContext(partner_text="I spent ten years in consulting before product.")
    f = analyze_utterance("do you miss consulting at all", ctx)
    assert f.question_kind == "follow_up" and f.follow_up == "partner"
    assert f.follow_up_hook is None


def test_a_hook_dropped_earlier_still_counts():
    ctx = TurnContext(partner_text="Two rounds, a case and a chat.", hooks=(PUPPY, LISBON))
    assert analyze_utterance("so how was lisbon", ctx).follow_up == "hook:lisbon"


def test_mirror_introductory_and_topic_switch():
    asked = TurnContext(partner_text="So what do you do?")
    assert analyze_utterance("I'm an analyst. What about you?", asked).question_kind == "mirror"
    assert analyze_utterance("I'm an analyst. What do you do?", asked).question_kind == "mirror"
    first = TurnContext(partner_text="Hi there.", first_user_turn=True)
    assert analyze_utterance("Hi! How's your evening going?", first).question_kind == \
        "introductory"
    later = TurnContext(partner_text="Lots of coffee and blackout curtains.")
    switch = analyze_utterance("did you see the keynote earlier", later)
    assert switch.question_kind == "topic_switch" and switch.follow_up is None


def test_a_pronoun_about_the_users_own_topic_is_not_a_follow_up():
    ctx = TurnContext(partner_text="Pretty good, the food is excellent.")
    f = analyze_utterance("Yeah, the dumplings are great. Have you tried them?", ctx)
    assert f.question_kind == "topic_switch"


def test_statements_that_build_on_the_partner_are_marked():
    f = analyze_utterance("consulting must have been exhausting",
                          TurnContext(partner_text="I spent ten years in consulting."))
    assert not f.is_question and f.follow_up is None and f.builds_on == "partner"


# --- fillers, pace, focus ----------------------------------------------------------------------


@pytest.mark.parametrize("text,fillers", [
    ("um so like i basically do marketing", ["um", "like", "basically"]),
    ("i like hiking and i would like to travel", []),
    ("it looks like rain", []),
    ("we were there for like ten years", ["like"]),
    ("and i was like okay this is my chance", ["like"]),
    ("you know i never thought about it", ["you know"]),
    ("do you know the host", []),
    ("what kind of work do you do", []),
    ("its kind of a mix of things", ["kind of"]),
    ("uh i mean it depends", ["uh", "i mean"]),
])
def test_fillers(text, fillers):
    assert analyze_utterance(text).fillers == fillers


@pytest.mark.parametrize("text", [
    # A filler set off by commas used to split off a fragment read as a question.
    "We want a place where we can, you know, set our own hours.",
    "I basically, like, really want to get back into research.",
    "She runs a podcast, which gets, um, a few thousand listeners.",
    "I moved to Berlin, which led me to startups.",
    "I met Sam, who got me into climbing.",
    "so i can uh do the whole thing from home",
])
def test_statements_with_fillers_are_not_questions(text):
    f = analyze_utterance(text)
    assert not f.is_question, f.questions


@pytest.mark.parametrize("text,form", [
    ("Could you, um, tell me a bit about your team?", "embedded"),
    ("Have you, like, worked with them before?", "yes_no"),
    ("Um, where, uh, where did you study?", "wh"),
    ("you know what i mean", "tag"),
    ("you know the host right", "tag"),
    ("do you know anyone at the bank", "yes_no"),
    ("Oh cool, who got you into that?", "wh"),
    ("I have two offers, which one should I take?", "wh"),
])
def test_questions_with_fillers_or_commas_stay_questions(text, form):
    assert analyze_utterance(text).question_form == form


def test_filler_rate_is_fillers_per_word():
    f = analyze_utterance("um i uh work in sales")
    assert f.word_count == 6 and f.filler_rate == pytest.approx(2 / 6)


def test_pace_from_word_timings_and_from_duration():
    words = [Word(w, i * 0.4, i * 0.4 + 0.3) for i, w in enumerate(["i", "work", "in", "sales"])]
    f = analyze_utterance("i work in sales", words=words)
    assert f.wpm == pytest.approx(4 / 1.5 * 60)
    assert analyze_utterance("one two three four five", duration_s=2.0).wpm == \
        pytest.approx(150.0)
    assert analyze_utterance("yeah", duration_s=0.2).wpm is None
    assert analyze_utterance("no timings here").wpm is None


def test_focus_counts_i_and_you_words_but_not_filler_you_know():
    f = analyze_utterance("I think my team, you know, is great. What do you and your team do?")
    assert f.i_words == 2 and f.you_words == 2


# --- opener, offer, ask, name, goodbye, back-channel --------------------------------------------


def test_opener_offer_ask_goodbye():
    assert analyze_utterance("hi im sam nice to meet you").is_opener
    assert analyze_utterance("i'm chris i just started at the clinic").is_opener
    assert not analyze_utterance("i'm curious about the keynote").is_opener
    assert analyze_utterance("happy to send you the slides after").is_offer
    assert analyze_utterance("i could introduce you to our head of engineering").is_offer
    assert not analyze_utterance("you should introduce yourself to her").is_offer
    assert analyze_utterance("could we swap numbers").is_ask
    assert analyze_utterance("lets connect on linkedin").is_ask
    assert not analyze_utterance("i drink a lot of coffee").is_ask
    assert analyze_utterance("it was great talking to you take care").is_goodbye
    assert not analyze_utterance("who will take care of the dog").is_goodbye


def test_partner_name_even_when_misspelled_by_asr():
    ctx = TurnContext(partner_name="Priyanka Shah")
    assert analyze_utterance("thanks priyanka that helps", ctx).uses_name
    assert analyze_utterance("thanks priyanca that helps", ctx).uses_name
    assert not analyze_utterance("thanks that helps", ctx).uses_name


def test_back_channels():
    for text in ("mm-hm", "Mhm.", "uh huh", "got it", "right", "oh wow", "that makes sense"):
        f = analyze_utterance(text)
        assert f.is_backchannel and not f.is_question, text
    assert not analyze_utterance("right so what do you do").is_backchannel


def test_empty_text():
    f = analyze_utterance("   ")
    assert f.is_empty and f.word_count == 0 and not f.is_question


def test_a_long_unpunctuated_monologue_is_analysed_quickly():
    text = " ".join(["um so i work in sales and like the team is great you know"] * 400)
    t0 = time.perf_counter()
    f = analyze_utterance(text, DANA)
    assert time.perf_counter() - t0 < 1.0  # 5,600 words; the clause splitter is linear
    assert f.word_count == 5600 and not f.is_question and len(f.fillers) == 1200


# --- robustness ----------------------------------------------------------------------------------

_VOCAB = [
    "what", "how", "do", "you", ",", "?", ".", "i", "am", "like", "um", "you", "know", "right",
    "so", "and", "the", "puppy", "kind", "of", "mean", "is", "it", "'s", "-", "biscuit", "who",
    "which", "tell", "me", "wonder", "if"
]


@settings(max_examples=400, deadline=None)
@given(text=st.text(), partner=st.text(), first=st.booleans(),
       cues=st.lists(st.text(max_size=12), max_size=3))
def test_never_raises_on_any_string(text, partner, first, cues):
    ctx = TurnContext(partner_text=partner, partner_name=partner[:8] or None,
                      hooks=(HookCue("h", tuple(cues)),), first_user_turn=first)
    for f in (analyze_utterance(text), analyze_utterance(text, ctx, duration_s=1.0)):
        assert f.question_count >= int(f.is_question)
        assert 0.0 <= f.filler_rate <= 1.0
        assert (f.is_open is None) == (not f.is_question)
        assert f.follow_up is None or f.is_question


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_VOCAB), max_size=20))
def test_never_raises_on_word_salad(words):
    ctx = TurnContext(partner_text="I have a puppy called Biscuit", hooks=(PUPPY,))
    f = analyze_utterance(" ".join(words), ctx)
    assert f.word_count >= 0


# --- issue 13: questions as people say them, follow-ups by meaning, hooks as content ----------


@pytest.mark.parametrize("text", [
    "are are you from around here", "what what kind of work do you do",
    "do you do you like it there", "uh did the judge say anything", "so um what year",
    "where you from", "what year", "where up north", "and you like london or do you miss it",
    "or is it more of a hobby", "coffee or tea", "you live on or off campus", "weird huh",
    "you really think so", "btw whats your major", "hello are you still there", "you there",
    "lol same whens your last day", "oh cool which app", "is translation work steady",
    "nice range which book was that", "i can imagine where do you record",
])
def test_spoken_and_chat_questions_without_punctuation(text):
    assert analyze_utterance(text).is_question, text


@pytest.mark.parametrize("text", [
    "what a day", "when the talk ended we went for dinner", "where i grew up it rained a lot",
    "was a good day for me", "the cool thing is you can work from anywhere", "i know right",
    "bye bye", "no no that's fine", "how cool", "one or two of them",
])
def test_statements_that_look_like_those_questions_are_not(text):
    assert not analyze_utterance(text).is_question, text


def test_an_echo_or_a_you_check_is_a_question_only_after_a_claim():
    claim = TurnContext(partner_text="This round ends in three days. I never tried the sushi.")
    asked = TurnContext(partner_text="When does the round end?")
    assert analyze_utterance("in three days", claim).is_question
    assert analyze_utterance("you didnt try the sushi", claim).is_question
    assert not analyze_utterance("in three days", asked).is_question  # that is an answer
    assert not analyze_utterance("no three days", claim).is_question
    assert not analyze_utterance("in three days").is_question


class _Fake:
    """The fake embedder of tests/meaning_fake.py."""

    def __new__(cls):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from meaning_fake import FakeEmbedder

        return FakeEmbedder()


def test_a_follow_up_by_meaning_needs_the_embedder_and_not_a_shared_word():
    ctx = TurnContext(partner_text="Our warehouses ship groceries overnight to every store.")
    question = "what keeps the drivers awake"
    assert analyze_utterance(question, ctx).question_kind != "follow_up"
    fake = _Fake()

    class Close:  # a model that finds the two lines close in meaning
        def embed(self, texts):
            import numpy as np

            return np.ones((len(texts), 4), dtype=np.float32) / 2.0

    assert analyze_utterance(question, ctx, meaning=Close()).question_kind == "follow_up"
    assert analyze_utterance(question, ctx, meaning=fake).question_kind != "follow_up"
    assert fake.calls > 0


def test_a_question_about_the_line_before_last_follows_up():
    ctx = TurnContext(partner_text="The roof is on. Everything else is a tarpaulin.",
                      earlier_partner_text="I'm an architect, mostly schools.")
    f = analyze_utterance("What's the most interesting school you've designed?", ctx)
    assert f.question_kind == "follow_up" and f.follow_up == "partner"


def test_hooks_said_by_content_and_by_meaning():
    from trainer.analysis import hooks_said

    teaching = HookCue("teaching", ("chemistry", "teacher", "taught"), "used to teach chemistry")
    marathon = HookCue("marathon", ("marathon", "running", "training", "race"), "first marathon")
    line = "I taught chemistry for six years. It was excellent training for career fairs."
    assert hooks_said(line, (teaching, marathon)) == ["teaching"]  # two cues; one is not enough
    assert hooks_said("Recruiting is fun.", (teaching, marathon)) == []


def test_hook_followed_is_one_rule_with_or_without_meaning():
    ctx = TurnContext(partner_text="Our parents have a small vineyard in Portugal.",
                      hooks=(HookCue("vineyard", ("vineyard", "wine"), "family vineyard"),))

    class Close:
        def embed(self, texts):
            import numpy as np

            return np.ones((len(texts), 4), dtype=np.float32) / 2.0

    assert hook_followed("what do you grow in portugal at harvest", ctx) is None
    assert hook_followed("what do you grow in portugal at harvest", ctx,
                         meaning=Close()) == "vineyard"
    f = analyze_utterance("what do you grow in portugal at harvest", ctx, meaning=Close())
    assert f.hooks_taken == ["vineyard"]


def test_questions_in_real_chat_written_by_others():
    from benchmarks.analysis import chat_question_scores, load_chitchat

    test = [c for c in load_chitchat() if c.split == "test"]
    assert len(test) >= 700
    ours = chat_question_scores(test)
    before = chat_question_scores(test, legacy_rules=True)
    assert ours[2] >= 0.86 and ours[0] >= 0.88
    assert ours[1] > before[1] + 0.05


def test_follow_ups_on_our_dialogues_with_the_real_model():
    from benchmarks.analysis import dialogue_scores, load_dialogue_set
    from trainer.meaning import Meaning

    test = [d for d in load_dialogue_set() if d.split == "test"]
    assert len(load_dialogue_set()) >= 60
    ours = dialogue_scores(test, meaning=Meaning())
    before = dialogue_scores(test, legacy_rules=True)
    assert ours[2] >= 0.82 and ours[0] >= 0.9
    assert ours[2] > before[2] + 0.05
