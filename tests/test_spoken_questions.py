"""Questions as people say them in speech, read as a transcript arrives (lower-case, no "?").

Forms from issue 13 (restarts, broken-off words, run-on questions, tags, dropped verbs) and the
statements that look like them and must stay statements.
"""

from __future__ import annotations

import pytest

from trainer.analysis import TurnContext, analyze_utterance

QUESTIONS = [
    "it w actually do we have a naming convention for the files",  # run-on after a fragment
    "if we just went for the blue case did we decide on the colour",
    "okay so are we gonna keep the cost down",
    "see shall we wait for her",
    "as it is and is it waterproof",
    "it could be a darker green couldn't it",  # any negative tag
    "that won't take long to set up will it",  # a positive tag after a statement
    "so i think that was the plan no",  # a final "no" as a tag
    "h how does that work",  # a broken-off word said again
    "sh sh shouldn't we ask them first",
    "it depends how well did we do on the test",
    "for what purpose",
    "in what way",
    "since when",
    "you agree",
    "you didn't try it",
    "you haven't been back since",
    "any pets",
    "and your husband",
    "like what kind",
    "pardon",
    "how many of you are there",
    "how long you been here",
    # the auxiliary dropped before the subject (issue 13, spoken-style dev set)
    "you working on anything fun these days",
    "they treating you alright over there",
    "anybody sitting in this seat",
    "you a nurse",
    "you all set",
    "you guys need anything from the store",
    "they in the same school",
    "so is the parking free or",  # a choice left open
    "which one's your car",
    "what time's the keynote",
    "uh-huh do you",
    "you have any pets",
    "you been there long",
    "so you'd rather stay home",
    "i was going to ask you if you had kids",
    "whereabouts in texas",
    "i don't know do you",  # the turn handed back at its end
    "you know what i'm saying",
    "you watch much tv",
    "y'all get much snow up there",
    "you went where",
    "when you leaving",
    "which is better",
    "you from around here",
    "and now you run the whole team",
]

STATEMENTS = [
    "so do we",
    "and neither did they",
    "how much time we could have saved",
    "i said no",
    "the answer is no",
    "any time",
    "c is my favourite language",
    "you didn't have to do that",
    "you don't need to worry about it",
    "i know you do",
    "that is what we did we went home early",
    "i wonder if we could meet earlier",
    "who you know matters more than what you know",  # "you know" is the verb here
    "how long it takes depends on the weather",
    "how gorgeous was that sunset",
    "who knows",
    "how about that",
    "or you could just text her",
    "i was wondering the same thing",
    "do your best",
    "i'll think about it or",  # "i" trailing off, no choice put to them
    "you being there meant a lot",
    "and now you i suppose",
    "you been great",
    "you have a point",
    "so you'd think it would be easy",
    "i was going to ask her out",
    "i was going to ask you the same thing",
    "his whereabouts are unknown",
    "as much as you do",
    "you don't watch much tv",
    "the thing is what",  # a turn cut off, not a wh-word left in place
    "guess what",
    "i was i was wondering about that myself",
    "when you think about it it's kind of scary",
    "which is you know kind of sad",
    "isn't that something",
    "they in turn told us",
    "they at least tried",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_spoken_question_forms_are_questions(text):
    assert analyze_utterance(text).is_question, text


@pytest.mark.parametrize("text", STATEMENTS)
def test_statements_that_look_like_them_are_not(text):
    assert not analyze_utterance(text).is_question, text


def test_which_one_they_mean_is_asked_only_after_their_telling():
    # "the one by the station" checks which place they mean after they told of it; after
    # their question it is an answer.
    told = TurnContext("we finally tried that new ramen place")
    asked = TurnContext("which ramen place did you go to")
    assert analyze_utterance("the one by the station", told).is_question
    assert not analyze_utterance("the one by the station", asked).is_question


def test_a_long_restart_counts_one_question():
    # The scorecard counts questions: a restart of three words is one question said once.
    f = analyze_utterance("did you ever uh did you ever go back")
    assert f.question_count == 1 and f.questions == ["did you ever go back"]
    assert analyze_utterance("what do you what do you do for fun").question_count == 1


def test_short_fragments_of_the_trigger_words_never_raise():
    # Speech is cut off anywhere: every one- to three-word fragment of the words the spoken
    # rules look at gets an answer, never an exception ("they in" once raised IndexError).
    words = ["you", "they", "guys", "all", "in", "at", "with", "been", "need", "much", "or",
             "what", "when", "which", "how", "is", "do", "the", "one", "'s", "not", "and",
             "now", "so", "uh-huh", "whereabouts", "ask", "going"]
    for a in words:
        for b in words:
            for text in (a, f"{a} {b}", f"{a} {b} {a}", f"{b} {a} or"):
                analyze_utterance(text, TurnContext("we went to the lake"))
