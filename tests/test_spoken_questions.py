"""Questions as people say them in speech, read as a transcript arrives (lower-case, no "?").

Forms from issue 13 (restarts, broken-off words, run-on questions, tags, dropped verbs) and the
statements that look like them and must stay statements.
"""

from __future__ import annotations

import pytest

from trainer.analysis import analyze_utterance

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
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_spoken_question_forms_are_questions(text):
    assert analyze_utterance(text).is_question, text


@pytest.mark.parametrize("text", STATEMENTS)
def test_statements_that_look_like_them_are_not(text):
    assert not analyze_utterance(text).is_question, text
