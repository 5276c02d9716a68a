"""Has the user finished? The pure end-of-turn judge on draft transcripts (issue 15).

The texts are the kind tiny.en writes for a reply cut at a pause (its punctuation included);
the live path with real drafts: tests/test_mic.py and benchmarks/latency.py.
"""

from __future__ import annotations

import pytest

from trainer.turn_end import EndOfTurnOptions, asks_for_story, draft_judge, judge
from trainer.types import Transcript

OPTS = EndOfTurnOptions()


@pytest.mark.parametrize("text", [
    "How did you start Loopware?",
    "That makes sense. What skills are you looking for?",
    "what brings you to the fair",  # no mark: the word pattern says question
    "I work in sales, what do you do",
    "I would love to hear more about the logistics side.",
    "Where are you from?",  # ends on a preposition, but it is a question
])
def test_a_finished_question_is_answered_at_once(text):
    v = judge(text)
    assert v.kind == "question" and v.silence_s == OPTS.question_s


@pytest.mark.parametrize("text", [
    "I work on data pipelines and",
    "It has been busy and...",
    "I'm new in town, so...",
    "So um",
    "There are, um...",
    "I use Python, SQL,",
    "I was at, uh",
    "I mostly work on the back end, but",
    "When I started at the food bank,",
    "I was thinking that maybe...",
    "It was kind of",
    "If the team is kind.",  # a subordinate clause with no main clause
    "Because the trucks were late.",
    "I think.",
])
def test_unfinished_speech_waits_long(text):
    v = judge(text)
    assert v.kind == "unfinished", v
    assert v.silence_s >= OPTS.unfinished_s > 0.9  # longer than any pause in the benchmark set


@pytest.mark.parametrize("text", [
    "I am studying computer science and I am in my final year.",
    "I think so, it was a good year.",
    "I ran a half marathon last spring, so I know the feeling.",
    "If the team is kind, I can learn almost anything.",  # the main clause came
])
def test_a_finished_sentence_waits_a_little(text):
    v = judge(text)
    assert v.kind == "finished" and v.silence_s == OPTS.finished_s


def test_context_a_story_prompt_and_a_why_question():
    story = "Tell me about the project you mentioned."
    assert asks_for_story(story) and asks_for_story("How did you get into data?")
    assert asks_for_story("What's the story behind that?")
    assert not asks_for_story("What do you do?") and not asks_for_story("Nice to meet you.")
    plain = judge("We built a routing tool for farmers.")
    longer = judge("We built a routing tool for farmers.", partner_text=story)
    assert longer.silence_s == pytest.approx(plain.silence_s + OPTS.story_extra_s)
    # a question still hands the turn over at once after a story prompt
    assert judge("Have you been?", partner_text=story).silence_s == OPTS.question_s
    # "Because ..." answers a why-question: finished there, unfinished elsewhere
    assert judge("Because my sister lives here.", partner_text="Why did you move?").kind == "finished"
    assert judge("Because my sister lives here.", partner_text="How was the move?").kind == "unfinished"


def test_a_brief_statement_no_mark_or_no_words_keep_the_fixed_wait():
    for brief in ("Mostly Python.", "Mostly Python SQL.", "I run. I cook.", "I am a nurse.",
                  "Yes, I do.", "I think so."):
        assert judge(brief).silence_s == OPTS.brief_wait_s, brief
    unclear = judge("I think the people more than the code")
    assert unclear.kind == "unclear" and unclear.silence_s == OPTS.brief_wait_s
    assert judge("").kind == "empty"
    assert judge("...").silence_s == OPTS.empty_s


def test_draft_judge_reads_the_draft_text():
    j = draft_judge("What tools do you use?")
    assert j(Transcript(text="Mostly Python.")) == OPTS.brief_wait_s
    assert j(Transcript(text="Mostly Python, and some SQL at work.")) == OPTS.finished_s
    assert j(Transcript(text="Mostly Python and")) == OPTS.unfinished_s
