"""The persona listens (issue 12): replies chosen by meaning, memory, one consistent story.

Core behaviour runs with the fake embedder (milliseconds); the per-persona rounds use the real
sentence-embedding model, asserting the topic reached (not the wording), with questions a user
would say that are not copies of the persona file's own examples.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from tests.meaning_fake import FakeEmbedder
from trainer.conversation import SYMPATHY_LINES, Conversation, key_phrase
from trainer.errors import PersonaError
from trainer.personas import list_personas, load_persona, validate_persona
from trainer.routing import MeaningRouter

PERSONAS = Path(__file__).resolve().parent.parent / "personas"


def _data(pid: str) -> dict:
    return yaml.safe_load((PERSONAS / f"{pid}.yaml").read_text(encoding="utf-8"))


def _fake_round(pid: str, seed: int = 1) -> Conversation:
    p = load_persona(pid)
    conv = Conversation(p, seed=seed, router=MeaningRouter(p, FakeEmbedder()))
    conv.start()
    return conv


# --- one consistent story ---------------------------------------------------------------------


def test_every_persona_states_its_facts():
    for p in list_personas():
        assert len(p.facts) >= 6, p.id
        assert any(isinstance(f.value, int) for f in p.facts), p.id


def _first_number_fact(data: dict) -> dict:
    return next(f for f in data["facts"] if isinstance(f["value"], int) and f.get("unit"))


@pytest.mark.parametrize("pid", [p.stem for p in sorted(PERSONAS.glob("*.yaml"))])
def test_a_planted_number_contradiction_is_caught_and_named(pid):
    data = _data(pid)
    fact = _first_number_fact(data)
    wrong = fact["value"] + 7
    planted = copy.deepcopy(data)
    line = f"It has been {wrong} {fact['unit']} now, {fact['near'][0]} and all."
    planted["topics"][0]["answers"].append(line)
    with pytest.raises(PersonaError) as exc:
        validate_persona(planted, f"{pid}.yaml")
    hits = [p for p in exc.value.problems if f"fact {fact['id']}" in p]
    assert hits, exc.value.problems
    assert "topics[0].answers[" in hits[0] and str(wrong) in hits[0]
    # the same line with the fact's own value is fine
    planted["topics"][0]["answers"][-1] = line.replace(str(wrong), str(fact["value"]))
    validate_persona(planted, f"{pid}.yaml")


def test_a_planted_name_contradiction_is_caught():
    data = _data("dana")
    names = [f for f in data["facts"] if isinstance(f["value"], str)]
    assert names
    fact = names[0]
    planted = copy.deepcopy(data)
    planted["topics"][0]["answers"].append(f"Our {fact['near'][0]} Bartholomew says hello.")
    with pytest.raises(PersonaError) as exc:
        validate_persona(planted, "dana.yaml")
    assert any("Bartholomew" in p and f"fact {fact['id']}" in p for p in exc.value.problems)


def test_a_steer_back_that_claims_ignorance_is_refused():
    data = _data("marcus")
    data["deflections"][0] = "No idea, honestly! What brings you here?"
    with pytest.raises(PersonaError) as exc:
        validate_persona(data, "marcus.yaml")
    assert any("deflections[0]" in p and "ignorance" in p for p in exc.value.problems)


def test_persona_check_cli_fails_on_a_contradiction(cli, tmp_path):
    data = _data("dana")
    fact = _first_number_fact(data)
    data["hooks"][0]["mentions"][0] = (f"Sorry, {fact['value'] + 3} {fact['unit']} of "
                                       f"{fact['near'][0]} does that to you.")
    path = tmp_path / "dana.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    proc = cli("persona", "check", str(path))
    assert proc.returncode == 1
    assert f"fact {fact['id']}" in proc.stdout + proc.stderr


# --- memory: no repeats, follow-ups continue the subject, "and you?" --------------------------


@pytest.mark.parametrize("pid", [p.stem for p in sorted(PERSONAS.glob("*.yaml"))])
def test_no_answer_is_said_twice_in_a_round(pid):
    conv = _fake_round(pid)
    p = conv.persona
    said: list[str] = []
    topic = p.topic("path")
    for ask in [*topic.asks, *topic.asks][:8]:
        if conv.finished:
            break
        for line in conv.respond(ask).lines:
            if line.kind in ("answer", "hook_answer"):
                said.append(line.text)
    assert said and len(said) == len(set(said)), said


@pytest.mark.parametrize("pid", [p.stem for p in sorted(PERSONAS.glob("*.yaml"))])
def test_a_follow_up_on_the_last_answer_continues_its_subject(pid):
    p = load_persona(pid)
    # an answer with follow-up details, asked for by its own topic, then "why?"-style follow-up
    topic, ans = next((t, a) for t in p.topics for a in t.answers
                      if a.follow_ups and t.kind == "answer" and a.asks)
    conv = Conversation(p, seed=3, router=MeaningRouter(p, FakeEmbedder()))
    conv.start()
    first = conv.respond(ans.asks[0])
    said = [ln for ln in first.lines if ln.kind in ("answer", "hook_answer")]
    assert said and said[0].topic == topic.id
    answer = next(a for a in topic.answers if a.text == said[0].text)
    if not answer.follow_ups:
        pytest.skip("the chosen answer has no follow-ups")  # pragma: no cover - content
    follow = conv.respond(answer.follow_ups[0].asks[0])
    texts = [ln.text for ln in follow.lines if ln.kind in ("answer", "hook_answer")]
    details = {fu.text for fu in answer.follow_ups}
    assert texts and (texts[0] in details or follow.lines[-1].topic == topic.id), texts


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_pointing_back_question_continues_the_last_subject(seed):
    conv = _fake_round("dana", seed=seed)
    p = conv.persona
    first = conv.respond(p.topic("path").asks[0])
    said = [ln for ln in first.lines if ln.kind in ("answer", "hook")]
    nxt = conv.respond("Oh wow. Why was that?")
    content = [ln for ln in nxt.lines if ln.kind in ("answer", "hook_answer")]
    assert content
    if said[-1].kind == "hook":  # the last thing said was a detail in passing: that one
        assert content[0].kind == "hook_answer" and said[-1].hooks[0] in content[0].hooks
    elif content[0].kind == "hook_answer":  # a hook the answer itself told ("I taught...")
        assert set(content[0].hooks) & set(said[-1].hooks), (said, content)
    else:
        assert content[0].topic == said[-1].topic


def test_and_you_gets_the_personas_own_answer_to_its_question():
    for pid in ("dana", "marcus", "priya"):
        p = load_persona(pid)
        conv = Conversation(p, seed=2, router=MeaningRouter(p, FakeEmbedder()))
        opener = conv.start()[0]
        own = next(o.own for o in p.opener if o.text == opener.text)
        if not own:
            continue
        reply = conv.respond("Oh, good question. And you?")
        assert any(ln.text == own for ln in reply.lines), (pid, [ln.text for ln in reply.lines])


def test_a_statement_gets_a_reaction_that_uses_what_was_said():
    conv = _fake_round("dana")
    conv.respond("Hi, I'm Alex.")
    reply = conv.respond("I'm studying marine biology at the moment.")
    assert any("marine biology" in ln.text.lower() for ln in reply.lines), [
        ln.text for ln in reply.lines]


@pytest.mark.parametrize("text,phrase", [
    ("I'm studying computer science, second year", "computer science"),
    ("I work at a bakery in town and I love it", "a bakery in town"),
    ("my dog is called Pip", "your dog"),
    ("yeah", None),
    ("I just started a new job in marketing last month.", "a new job in marketing"),
    ("I volunteered at a soup kitchen when I was at uni.", "a soup kitchen"),
    ("We've been trying to get a community garden going on our street.", "a community garden"),
    ("I'm from Cardiff originally.", "Cardiff"),
    ("I've got a job interview on Monday.", "a job interview"),
    ("I don't know", None),
    ("I mean, it's fine", None),
    ("this is my first one of these", "your first one of these"),
    ("we use postgres for everything, even the queues", "postgres for everything"),
    ("i've only just moved to birmingham so i'm trying to meet people", "birmingham"),
])
def test_key_phrase(text, phrase):
    assert key_phrase(text) == phrase


def test_asking_about_a_hook_directly_counts_as_taking_it_up():
    p = load_persona("dana")
    hook = next(h for h in p.hooks if h.asks)
    conv = Conversation(p, seed=1, router=MeaningRouter(p, FakeEmbedder()))
    conv.start()
    reply = conv.respond(hook.asks[0])
    assert any(ln.kind == "hook_answer" and hook.id in ln.hooks for ln in reply.lines)
    assert hook.id in conv.hooks_followed and hook.id in conv.hooks_dropped


# --- real model: ordinary questions reach the right topic, for every persona -----------------

# Ways a user might put it at the event, written for this test (not the files' own `asks`).
ORDINARY = {
    "dana": [("So what does a normal day look like for you?", "work_day"),
             ("What do you get up to at the weekend?", "weekends"),
             ("How did you end up doing recruiting?", "path"),
             ("Any advice for someone about to graduate?", "advice")],
    "grace": [("What do you do when you're not organising these?", "weekends"),
              ("How did you end up running a literacy charity?", "path"),
              ("What's the hardest part of running all this?", "week_hard"),
              ("Do you have family around here?", "family")],
    "marcus": [("What's a typical day at the food bank like for you?", "work_day"),
               ("What do you do to relax outside of this?", "weekends"),
               ("How did you get into food bank work?", "path"),
               ("What are you working on at the moment?", "current_work")],
    "priya": [("What does Loopware actually do?", "organisation"),
              ("How did you come up with the idea?", "path"),
              ("What do you do when you're not working on the startup?", "weekends"),
              ("What's been the best part of your week?", "week_best")],
    "ewan": [("What do you do outside of work?", "weekends"),
             ("What's the strangest thing you've learned in your job?", "surprising"),
             ("Any advice for an engineer a few years into their career?", "advice"),
             ("What are you working on right now?", "current_work")],
    "sam": [("What do you work on day to day?", "work_day"),
            ("What do you like doing outside of work?", "weekends"),
            ("How did you get into data analysis?", "path"),
            ("What brought you to the meetup tonight?", "event")],
}


@pytest.fixture(scope="module")
def meaning():
    from trainer.meaning import Meaning

    return Meaning()


@pytest.mark.model
@pytest.mark.parametrize("pid", sorted(ORDINARY))
def test_ordinary_networking_questions_get_on_topic_answers(pid, meaning):
    p = load_persona(pid)
    router = MeaningRouter(p, meaning)
    for question, topic in ORDINARY[pid]:
        conv = Conversation(p, seed=5, router=router)
        conv.start()
        reply = conv.respond(question)
        got = [ln.topic for ln in reply.lines if ln.kind in ("answer", "deflection")
               and ln.topic]
        assert got and got[0] == p.topic(topic).id, (question, [(ln.kind, ln.topic, ln.text)
                                                    for ln in reply.lines])


@pytest.mark.model
def test_a_typed_practice_round_answers_by_meaning(cli):
    """`trainer practice --input text`: the router loads from its package in the round and the
    persona answers what was asked, remembers the subject, and never repeats an answer."""
    p = load_persona("marcus")
    weekends = {a.text for a in p.topic("weekends").answers}
    path = {a.text for a in p.topic("path").answers}
    replies = ["Hi, I'm Sam, first time volunteering.",
               "So what do you get up to at the weekend when you're not here?",
               "How did you end up running a food bank?",
               "How did you end up running a food bank?",
               "goodbye"]
    proc = cli("practice", "--persona", "marcus", "--input", "text", "--no-voice",
               "--seed", "4", input="\n".join(replies) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = " ".join(proc.stdout.split())
    assert any(" ".join(t.split()) in out for t in weekends), out[:2000]
    said_path = [t for t in path if " ".join(t.split()) in out]
    assert len(said_path) == 2, out[:3000]  # asked twice: two different answers


def test_the_scorecard_counts_a_hook_asked_about_before_it_was_mentioned():
    """The persona and the scorecard agree: asking directly takes a hook up."""
    from trainer.scoring import score_round
    from trainer.types import Turn

    p = load_persona("dana")
    hook = next(h for h in p.hooks if h.asks)
    conv = Conversation(p, seed=1, router=MeaningRouter(p, FakeEmbedder()))
    turns, i = [], 0
    for line in conv.start():
        turns.append(Turn(index=i, speaker="persona", text=line.text, kind=line.kind,
                          hooks=line.hooks))
        i += 1
    for said in ("Hi, I'm Alex.", hook.asks[0], "goodbye"):
        turns.append(Turn(index=i, speaker="user", text=said))
        i += 1
        for line in conv.respond(said).lines:
            turns.append(Turn(index=i, speaker="persona", text=line.text, kind=line.kind,
                              hooks=line.hooks))
            i += 1
    assert hook.id in conv.hooks_followed
    card = score_round(turns, p.hook_cues(), p.name)
    outcome = next(o for o in card.hooks if o.id == hook.id)
    assert outcome.taken_up, card.hooks


def test_bad_news_gets_sympathy_not_a_cheerful_reaction():
    conv = _fake_round("priya")
    conv.respond("Hi, I'm Alex.")
    reply = conv.respond("I got laid off from a fintech last month, so I'm figuring out what's next.")
    texts = " ".join(ln.text for ln in reply.lines).lower()
    assert "cool" not in texts and "nice" not in texts
    assert any(w in texts for w in ("sorry", "hard", "tough", "a lot")), texts


@pytest.mark.model
@pytest.mark.parametrize("line,offer", [
    ("My brother has a van, I could ask him to help on Tuesdays.", True),
    ("I help run a meetup in Glasgow. You'd be welcome to give the talk there.", True),
    ("How do you switch off after a day like this? I'd be wrecked.", False),
    ("I'd love to work somewhere like this one day.", False),
    ("I can tell you really love your job.", False),
    ("I've got a cat called Mango who runs my life. What about you, any pets?", False),
    ("I could be a mentor for one of your volunteers, if that's any use.", True),
    ("I could be wrong, but isn't it busier on Saturdays?", False),
])
def test_an_offer_of_help_is_recognised_in_the_users_own_words(line, offer, meaning):
    p = load_persona("marcus")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    conv.respond("Hi, I'm Alex, first time here.")
    conv.respond(line)
    assert bool(conv.facts()["offered"]) is offer


def test_tell_me_is_asked_and_whats_yours_gets_the_own_answer():
    p = load_persona("dana")
    conv = Conversation(p, seed=2, router=MeaningRouter(p, FakeEmbedder()))
    opener = conv.start()[0]
    own = next(o.own for o in p.opener if o.text == opener.text)
    reply = conv.respond("Chemical engineering, final year. What's yours?")
    assert own is None or any(ln.text == own for ln in reply.lines)
    reply = conv.respond("Tell me something surprising about logistics.")
    assert any(ln.kind in ("answer", "hook_answer") for ln in reply.lines), reply.lines


class _CachingFake(FakeEmbedder):
    """The real model caches by text; so does this fake, and it counts what it computed."""

    def __init__(self):
        super().__init__()
        self._seen: dict[str, object] = {}
        self.computed: list[str] = []

    def embed(self, texts):
        out = super().embed(texts)
        for t, v in zip(texts, out, strict=True):
            if t not in self._seen:
                self._seen[t] = v
                self.computed.append(t)
        return out


def test_prepare_on_the_draft_leaves_nothing_to_embed_when_the_turn_ends():
    """Turn latency (issue 12): the speculative transcript's vectors are computed during the
    end-of-turn silence; the reply to the same text then embeds nothing new for the line."""
    p = load_persona("dana")
    fake = _CachingFake()
    conv = Conversation(p, seed=1, router=MeaningRouter(p, fake))
    conv.start()
    text = "So what do you get up to at the weekend?"
    conv.prepare(text)
    before = list(fake.computed)
    assert any(text in t for t in before)
    reply = conv.respond(text)
    assert [t for t in fake.computed[len(before):] if text in t] == []
    assert any(ln.topic for ln in reply.lines)


@pytest.mark.model
def test_what_about_you_after_a_statement_asks_the_persona_the_same(meaning):
    """"I spend Sundays climbing. What about you?" asks about the persona's weekends; after the
    persona asked "What are you studying?", "Computer science. And you?" gets its own answer."""
    p = load_persona("dana")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond("I'm in a five-a-side team, it eats most of my weekend. "
                         "What about you, outside work?")
    answers = [ln for ln in reply.lines if ln.kind in ("answer", "hook_answer")]
    assert answers and answers[0].topic in ("weekends", "family"), reply.lines
    asked = next(c for c in p.opener if c.own and "studying" in c.text.lower())
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    conv.ask(asked.text)
    reply = conv.respond("I'm doing computer science, second year. And you?")
    assert any(ln.text == asked.own for ln in reply.lines), reply.lines


def test_a_user_who_gives_their_name_is_greeted_by_it():
    conv = _fake_round("grace")
    reply = conv.respond("Thank you so much for hosting, I'm Amira.")
    texts = [ln.text for ln in reply.lines]
    assert any("Amira" in t for t in texts), texts
    assert not set(texts) & set(load_persona("grace").reactions.acknowledge), texts
    reply = conv.respond("Thanks, the quartet is lovely.")
    assert not set(ln.text for ln in reply.lines) & set(
        load_persona("grace").reactions.acknowledge), reply.lines


@pytest.mark.parametrize("pid", [p.stem for p in sorted(PERSONAS.glob("*.yaml"))])
def test_the_persona_does_not_ask_back_what_it_was_just_asked_nor_ask_twice(pid):
    conv = _fake_round(pid)
    first = conv.persona.phase(conv.phase).prompts[0].text
    reply = conv.respond(first)  # the user asks the persona's own question first
    assert first not in [ln.text for ln in reply.lines if ln.kind == "prompt"], reply.lines
    asked = [ln.text for ln in reply.lines if ln.kind == "prompt"]
    for line in ("I work in marketing.", "I live near the river.", "I like cooking.",
                 "It's been a long week.", "I came with a friend.", "I play football."):
        asked += [ln.text for ln in conv.respond(line).lines if ln.kind == "prompt"]
        if conv.finished:
            break
    assert len(asked) == len(set(asked)), asked


@pytest.mark.model
def test_a_line_that_names_a_hook_is_about_that_hook(meaning):
    """"I'm doing the Riverside Half too! Is it your first one?" is about Dana's race, not the
    graduates' first year; "what do engineers make there, roughly?" is a pay question."""
    p = load_persona("dana")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond("Oh nice, I'm doing the Riverside Half too! Is it your first one?")
    assert any("half_marathon" in ln.hooks or ln.kind == "hook_answer" for ln in reply.lines), \
        reply.lines
    p = load_persona("ewan")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond("What do principal engineers make at your place, roughly?")
    private = {t.id for t in p.topics if t.kind == "personal"}
    assert any(ln.topic in private for ln in reply.lines), reply.lines


def test_an_introduction_with_a_question_is_greeted_by_name_then_answered():
    conv = _fake_round("marcus")
    reply = conv.respond("Hi, I'm Joe! How did you hear about this event?")
    assert "Joe" in reply.lines[0].text and reply.lines[0].kind == "reaction", reply.lines
    assert any(ln.kind in ("answer", "hook_answer") for ln in reply.lines[1:]), reply.lines


@pytest.mark.parametrize("pid", [p.stem for p in sorted(PERSONAS.glob("*.yaml"))])
def test_a_statement_that_touches_a_detail_of_the_persona_finds_common_ground(pid):
    """"I've always been into running" -> the persona mentions its half-marathon next."""
    conv = _fake_round(pid)
    conv.respond("Hi, I'm Alex. Nice to meet you.")
    hook = next((h for h in conv.persona.hooks if h.id not in conv.hooks_dropped
                 and any(len(c) >= 4 and c.isalpha() for c in h.cues)), None)
    if hook is None:
        pytest.skip("every detail already mentioned")
    cue = next(c for c in hook.cues if len(c) >= 4 and c.isalpha())
    reply = conv.respond(f"I've always been into {cue}, to be honest.")
    assert any(hook.id in ln.hooks for ln in reply.lines), (cue, reply.lines)
    assert any(cue in ln.text.lower() for ln in reply.lines if ln.kind == "reaction"), reply.lines


@pytest.mark.model
def test_a_detail_asked_for_directly_comes_with_its_answer(meaning):
    """"Where are the warehouses?" before Dana said anything about them: what Northwind is,
    and where its warehouses are, not only the first half."""
    p = load_persona("dana")
    found = [(a, fu) for t in p.topics for a in t.answers for fu in a.follow_ups
             if any(q.lower().startswith("where are the warehouses") for q in fu.asks)]
    if not found:
        pytest.skip("the persona file no longer has that detail")
    answer, detail = found[0]
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = " ".join(ln.text for ln in conv.respond("Where are the warehouses?").lines)
    assert detail.text in reply and answer.text in reply, reply


@pytest.mark.model
@pytest.mark.parametrize("line", ["how big is northwind like how many people work there",
                                  "How many people does Northwind Logistics employ?"])
def test_the_organisations_name_does_not_drown_the_question(line, meaning):
    """"How big is Northwind?" is about size: the answer says a number, not where the head
    office is (the name alone matched "Where's Northwind based?" best)."""
    p = load_persona("dana")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    answers = [ln.text for ln in conv.respond(line).lines if ln.kind == "answer"]
    assert answers and re.search(r"\b(?:thousand|hundred|\d{3,})\b", answers[0]), answers


@pytest.mark.model
def test_persona_warm_caches_the_vectors_a_round_needs(cli, tmp_path):
    """`trainer persona warm` (run by scripts/setup) leaves the vectors where a round finds
    them, so the first round with a persona does not compute them."""
    cache = tmp_path / "cache"
    res = cli("persona", "warm", "sam", env={"TRAINER_CACHE": str(cache)})
    assert res.returncode == 0 and res.stdout.startswith("ok sam: "), res.stderr
    assert any(cache.rglob("*")), "nothing cached"
    res = cli("persona", "warm", "nobody", env={"TRAINER_CACHE": str(cache)})
    assert res.returncode != 0 and "no persona with id 'nobody'" in res.stderr


@pytest.mark.parametrize("pid", [p.stem for p in sorted(PERSONAS.glob("*.yaml"))])
def test_a_reaction_that_asks_about_the_statement_is_not_buried(pid):
    """"A soup kitchen! What was that like?" hands the turn back: no second question after it."""
    conv = _fake_round(pid)
    if not any(e.rstrip().endswith("?") for e in conv.persona.reactions.echo):
        pytest.skip("no echo line of this persona asks")
    for _ in range(len(conv.persona.reactions.echo) + 1):
        reply = conv.respond("I volunteered at a soup kitchen when I was at uni.")
        first = reply.lines[0]
        if first.kind == "reaction" and first.text.rstrip().endswith("?"):
            assert "soup kitchen" in first.text.lower(), reply.lines
            assert len(reply.lines) == 1, reply.lines
            return
        assert not conv.finished, reply.lines
    pytest.fail("no reaction asked about the statement")


@pytest.mark.parametrize("pid", [p.stem for p in sorted(PERSONAS.glob("*.yaml"))])
def test_asking_about_every_detail_twice_never_repeats_a_line(pid):
    """Each hook asked about directly, twice, then its label: the persona tells what it has,
    once, and steers on when it is all told - never the same words again."""
    conv = _fake_round(pid)
    said: list[str] = []
    for h in conv.persona.hooks:
        for ask in [*h.asks[:2], *h.asks[:2], h.label]:
            if conv.finished:
                break
            for line in conv.respond(ask).lines:
                if line.kind in ("answer", "hook_answer"):
                    said.append(line.text)
    assert said and len(said) == len(set(said)), [t for t in said if said.count(t) > 1]


@pytest.mark.parametrize("line", ["Sorry, what was your name again?",
                                  "sorry i didn't catch your name"])
def test_asked_its_name_the_persona_says_it(line):
    conv = _fake_round("dana")
    conv.respond("Hi, I'm Alex, I study economics.")
    texts = [ln.text for ln in conv.respond(line).lines if ln.kind == "answer"]
    assert texts and "Dana" in texts[0] and "Biscuit" not in texts[0], texts


def test_keeping_in_touch_with_someone_else_is_not_an_ask_to_meet():
    conv = _fake_round("dana")
    conv.respond("How did you get into recruiting?")
    conv.respond("Do you still keep in touch with Leah?")
    assert not conv.finished and not conv.facts()["asked_to_meet"]



@pytest.mark.model
@pytest.mark.parametrize("pid,line", [
    ("ewan", "A friend of mine is a great SRE and fed up where she is, shall I send her to you?"),
    ("priya", "My flatmate writes backend code for a living. I could introduce you two?"),
    ("marcus", "I run a football club on Sundays, want me to ask the parents to bring tins?"),
    ("sam", "We host a data meetup in Leeds. Would you fancy giving a talk there some time?"),
])
def test_an_offer_put_as_a_question_is_thanked_not_answered_as_a_question(pid, line, meaning):
    """"...want me to send them your way?" asks only to make the offer: the persona thanks
    them, and says no answer about some topic the words happened to touch."""
    p = load_persona(pid)
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond(line)
    kinds = [ln.kind for ln in reply.lines]
    assert conv.facts()["offered"], kinds
    assert not {"answer", "hook_answer", "deflection"} & set(kinds), [
        (ln.kind, ln.text) for ln in reply.lines]


@pytest.mark.model
def test_an_offer_with_a_real_question_gets_the_thanks_and_the_answer(meaning):
    p = load_persona("priya")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond("I could introduce you to my cousin. What kind of engineer are you "
                         "hoping to hire?")
    kinds = [ln.kind for ln in reply.lines]
    assert conv.facts()["offered"] and {"answer", "hook_answer"} & set(kinds), kinds


@pytest.mark.model
@pytest.mark.parametrize("pid", ["dana", "ewan", "grace", "marcus", "priya", "sam"])
def test_how_old_is_she_asks_about_someone_else_not_for_the_personas_own_age(pid, meaning):
    """After the persona talks about home, "how old is she?" is about the daughter, the cat,
    the partner: never the persona's own polite "rather not say" about its age, which "how
    old are you?" still gets."""
    p = load_persona(pid)
    router = MeaningRouter(p, meaning)
    personal = {t.id for t in p.topics if t.kind == "personal"}
    for ask in ("aw how old is she", "how old is he", "and how old are they now"):
        conv = Conversation(p, seed=1, router=router)
        conv.start()
        conv.respond("Do you have family around here?")
        reply = conv.respond(ask)
        assert not [ln for ln in reply.lines if ln.topic in personal], [
            (ln.kind, ln.topic, ln.text) for ln in reply.lines]
    conv = Conversation(p, seed=1, router=router)
    conv.start()
    reply = conv.respond("how old are you, if you don't mind me asking?")
    assert [ln for ln in reply.lines if ln.topic in personal], [
        (ln.kind, ln.topic, ln.text) for ln in reply.lines]


@pytest.mark.model
@pytest.mark.parametrize("pid,line", [("dana", "any wins lately"), ("grace", "any wins lately"),
                                      ("marcus", "any wins lately"),
                                      ("priya", "any big moments this week")])
def test_any_wins_lately_without_a_question_mark_is_asked_not_reacted_to(pid, line, meaning):
    """Transcripts drop the "?": "any wins lately", said right after the persona's opening
    question, asks about the persona's week; "Oh, really? Tell me more." is no answer."""
    p = load_persona(pid)
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond(line)
    got = [ln.topic for ln in reply.lines if ln.kind == "answer"]
    assert got == [p.topic("week_best").id], [(ln.kind, ln.topic, ln.text) for ln in reply.lines]


@pytest.mark.model
def test_a_question_after_a_statement_without_its_question_mark_is_answered(meaning):
    """"I'm just starting out in data, would learning SQL first make sense" asks (a modal
    before its subject, no "?"): Sam answers about tools, not "Mm. Nice." to the statement."""
    p = load_persona("sam")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond("i'm just starting out in data, would learning sql first make sense")
    got = [ln.topic for ln in reply.lines if ln.kind == "answer"]
    assert got == [p.topic("tools").id], [(ln.kind, ln.topic, ln.text) for ln in reply.lines]


@pytest.mark.model
def test_a_detail_of_the_answer_just_given_beats_a_topic_with_two_loose_matches(meaning):
    """"How far have you got up to?" right after Dana's running answer asks how far she runs;
    the house's "How far is it from here?" (and another loose "how far" ask of that topic) is
    no reason to talk about where she lives."""
    p = load_persona("dana")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    first = conv.respond("do you do any sport")
    assert [ln.topic for ln in first.lines if ln.kind == "answer"] == ["weekends"]
    reply = conv.respond("nice, how far have you got up to")
    got = [(ln.kind, ln.topic) for ln in reply.lines if ln.kind in ("answer", "hook_answer")]
    assert got == [("answer", "weekends")], [(ln.kind, ln.topic, ln.text) for ln in reply.lines]


@pytest.mark.model
def test_how_long_have_you_been_doing_that_asks_about_the_answer_just_given(meaning):
    """"That" is what the persona just said (the cat shelter), a seven-word line leans on it
    like a short one: how long Sam has volunteered, not how Sam got into data, nor a shelter
    story that says no duration."""
    p = load_persona("sam")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    first = conv.respond("what do you do at weekends")
    assert [ln.topic for ln in first.lines if ln.kind == "answer"] == ["hobbies"]
    reply = conv.respond("and how long have you been doing all that")
    said = [ln for ln in reply.lines if ln.kind in ("answer", "hook_answer")]
    assert [(ln.kind, ln.topic) for ln in said] == [("answer", "hobbies")], [
        (ln.kind, ln.topic, ln.text) for ln in reply.lines]
    assert re.search(r"\b(?:years?|months?|weeks?|since)\b", said[0].text, re.I), said[0].text


@pytest.mark.model
def test_an_answer_that_says_no_duration_comes_with_the_detail_that_does(meaning):
    """"How long have you been doing it?" about Priya's sea swim reaches her answer on how the
    training goes ("better than I feared"), which says no duration: its detail that does
    ("Since January") comes with it, so the question is answered."""
    p = load_persona("priya")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    conv.respond("what do you do for fun")
    reply = conv.respond("how long have you been doing it")
    said = " ".join(ln.text for ln in reply.lines if ln.kind in ("answer", "hook_answer"))
    duration = (r"\bsince\b|\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten|a few|"
                r"a couple of|several) (?:weeks|months|years)\b(?! away)")
    assert re.search(duration, said, re.I), said


@pytest.mark.model
def test_a_why_question_gets_the_answer_with_its_reason(meaning):
    """"What made you leave the supermarket in the end": Marcus's answer on his supermarket
    years says no reason by itself; the detail that gives it (the yogurts in a skip, because
    the labels were wrong) comes with it."""
    p = load_persona("marcus")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    conv.respond("how did you end up working here")
    reply = conv.respond("what made you leave the supermarket in the end")
    said = " ".join(ln.text for ln in reply.lines if ln.kind in ("answer", "hook_answer"))
    assert re.search(r"\b(?:because|so that|the reason|that's why)\b", said, re.I), said


@pytest.mark.model
def test_a_short_reply_to_a_closed_question_is_the_detail_asked_for(meaning):
    """Sam answers a closed question short; "is the hospital big?" asks the size detail of
    the answer on where the hospital is: the short reply is that detail (a number), not the
    first sentence of the answer ("In Birmingham, about forty minutes' walk...")."""
    p = load_persona("sam")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond("is the hospital a big one?")
    said = [ln for ln in reply.lines if ln.kind == "answer"]
    assert [ln.topic for ln in said] == ["organisation"], [(ln.kind, ln.text) for ln in reply.lines]
    assert re.search(r"\b(?:\d+|hundred|thousand|big|huge|small)\b", said[0].text, re.I), said


def test_a_way_of_asking_written_twice_in_a_topic_counts_once():
    """Dana's "What's the starting salary?" is written under the role topic and under one of
    its answers: one piece of evidence, so the topic scores the same as with it written once
    (two copies in the mean of the best two would lift the topic over better-fitting ones)."""
    data = _data("dana")
    p = validate_persona(copy.deepcopy(data), "dana.yaml")
    role = p.topic("the_role")
    ask = next(a for a in role.asks if any(a in ans.asks for ans in role.answers))
    once = copy.deepcopy(data)
    for t in once["topics"]:
        if t["id"] == "the_role":
            for ans in t["answers"]:
                if isinstance(ans, dict) and ask in ans.get("asks", []):
                    ans["asks"] = [a for a in ans["asks"] if a != ask]
    twice = MeaningRouter(p, FakeEmbedder()).match(ask, ask).scores["topic:the_role"]
    single = MeaningRouter(validate_persona(once, "dana.yaml"), FakeEmbedder()).match(
        ask, ask).scores["topic:the_role"]
    assert twice == pytest.approx(single), (ask, twice, single)


def test_the_kind_of_thing_an_answer_says_reads_capitals_as_names_and_places():
    """"Where should I start?" is not answered by "Ask the people who type the data in"
    (only "in" + a capitalised word is a place), "who started it?" is by "Funmi, a retired
    head teacher" but not by "The best boss I've had"."""
    from trainer.routing import says_what_is_asked

    assert says_what_is_asked("where should i start", "Ask the people who type it in.") is False
    assert says_what_is_asked("where is it", "Above a bookshop on the high street.") is True
    assert says_what_is_asked("where do you live", "We live in Leeds, near the canal.") is True
    assert says_what_is_asked("who started it", "Funmi, a retired head teacher.") is True
    assert says_what_is_asked("who do you work for", "The best boss I've had.") is False
    assert says_what_is_asked("how long have you lived there", "Since Ellie was a baby.") is True


@pytest.mark.model
def test_a_detail_of_the_answer_just_given_beats_the_topic_its_words_name(meaning):
    """"What's the hardest part?" right after Dana's running answer asks the hardest part of
    running, not her hardest part of the week at work: the word naming an ordinary topic is no
    evidence against the answer just given's own detail."""
    p = load_persona("dana")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    first = conv.respond("do you do any sport")
    assert [ln.topic for ln in first.lines if ln.kind == "answer"] == ["weekends"]
    reply = conv.respond("what's the hardest part")
    got = [(ln.kind, ln.topic) for ln in reply.lines if ln.kind in ("answer", "hook_answer")]
    assert got == [("answer", "weekends")], [(ln.kind, ln.topic, ln.text) for ln in reply.lines]


_TIME = re.compile(r"\b(?:since|ago|19\d\d|20\d\d|last (?:year|autumn|spring|summer|winter)|"
                   r"(?:\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|"
                   r"twenty|a few|a couple of) (?:years?|months?))\b", re.I)


@pytest.mark.model
@pytest.mark.parametrize("pid, first, line", [
    ("grace", "what do you do?", "how long have you been in this job"),
    ("grace", "how did you get into this?", "how long have you been doing this?"),
    ("sam", "how did you get into this?", "how long ago was that"),
    ("dana", None, "How long have you been at Northwind?"),
])
def test_a_time_question_gets_a_time_not_a_count_of_something_else(pid, first, line, meaning):
    """"How long have you been in this job?" after Grace said what she does: the detail that
    says since when, not the size of her team ("Seven of us around two tables"); "how long ago
    was that?" when no detail of the answer just given says when: the line of that topic
    that does."""
    p = load_persona(pid)
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    if first:
        conv.respond(first)
    reply = conv.respond(line)
    said = " ".join(ln.text for ln in reply.lines if ln.kind in ("answer", "hook_answer"))
    assert _TIME.search(said), (line, [(ln.kind, ln.topic, ln.text) for ln in reply.lines])


def _marcus_after_his_bees(meaning) -> Conversation:
    """A Marcus round in which he has just mentioned his bees in passing."""
    p = load_persona("marcus")
    router = MeaningRouter(p, meaning)
    for seed in range(1, 20):
        conv = Conversation(p, seed=seed, router=router)
        conv.start()
        conv.respond("Yes, first time.")
        if "bees" in conv.hooks_dropped:
            return conv
    raise AssertionError("Marcus never mentioned his bees after a first reply")


@pytest.mark.model
@pytest.mark.parametrize("line", ["do you get stung?", "how much honey do you get"])
def test_a_hook_taken_up_gets_the_detail_asked_for(line, meaning):
    """After Marcus mentions his bees, "do you get stung?" is answered by the detail about
    stings, not by the hook's warm answer about his two hives."""
    conv = _marcus_after_his_bees(meaning)
    bees = conv.persona.hook("bees")
    reply = conv.respond(line)
    said = [ln.text for ln in reply.lines if ln.kind == "hook_answer"]
    details = [fu.text for a in bees.warm_answers for fu in a.follow_ups]
    assert said and not any(a.text in said[0] for a in bees.warm_answers), said
    assert any(said[0] in d or d in said[0] for d in details), said


@pytest.mark.model
def test_a_detail_does_not_restate_a_fact_already_said_in_the_round(meaning):
    """"Do you keep bees?" gets the hives answer with its thirty jars of honey; "how much honey
    do you get?" then says what is new (this year's), not the thirty jars again."""
    from trainer.personas import facts_stated

    p = load_persona("marcus")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    first = conv.respond("do you keep bees?")
    before = set().union(*(facts_stated(p, ln.text) for ln in first.lines))
    assert before, [ln.text for ln in first.lines]
    reply = conv.respond("how much honey do you get?")
    said = [ln for ln in reply.lines if ln.kind == "hook_answer"]
    assert said and "bees" in said[0].hooks, [(ln.kind, ln.text) for ln in reply.lines]
    assert not facts_stated(p, said[0].text) & before, said[0].text


@pytest.mark.model
@pytest.mark.parametrize("pid, line, topic", [
    ("grace", "Do you have kids, or does the association count?", "family"),
    ("dana", "how much does Northwind pay you", "personal_private"),
])
def test_a_question_in_two_parts_and_a_pay_question_reach_their_topic(pid, line, topic, meaning):
    """"..., or does the association count?" only offers an alternative: the question is about
    kids; "how much does Northwind pay you" is about her pay, not about Northwind."""
    p = load_persona(pid)
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond(line)
    got = [ln.topic for ln in reply.lines if ln.kind in ("answer", "deflection") and ln.topic]
    assert got[:1] == [topic], [(ln.kind, ln.topic, ln.text) for ln in reply.lines]


@pytest.mark.parametrize("pid", ["dana", "priya"])
def test_a_hard_thing_told_as_a_good_story_gets_no_sympathy(pid):
    """"It was hard but I loved it" is good news: no "Oh, I'm sorry" for it; "it was hard and
    I nearly quit" still gets sympathy."""
    p = load_persona(pid)
    sympathy = {*p.reactions.sympathy, *SYMPATHY_LINES}
    conv = _fake_round(pid)
    reply = conv.respond("Mechanical engineering. The course was hard but I loved it.")
    assert not [ln.text for ln in reply.lines if ln.text in sympathy], reply.lines
    conv = _fake_round(pid)
    reply = conv.respond("Mechanical engineering. The course was hard and I nearly quit.")
    assert [ln.text for ln in reply.lines if ln.text in sympathy], reply.lines


# the partner or the children by name (a sister's answer names her son Tayo, the pets answer
# names Ngozi and Tobi: neither counts)
_FAMILY_NAMES = {"dana": r"\b(?:Jonah|Ellie)\b", "grace": r"\bDaniel\b",
                 "marcus": r"\b(?:Amara|[Mm]arried)\b"}


@pytest.mark.model
@pytest.mark.parametrize("pid", ["dana", "grace", "marcus"])
def test_asked_about_a_family_the_persona_tells_of_partner_or_children(meaning, pid):
    """"Got a family at home?" is about a partner and children, not where the persona lives or
    a sister: the family answer that names them, as a speech transcript says it."""
    p = load_persona(pid)
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond("oh nice so have you got a family at home yourself")
    said = [ln for ln in reply.lines if ln.kind == "answer"]
    assert [ln.topic for ln in said] == ["family"], [(ln.kind, ln.text) for ln in reply.lines]
    assert re.search(_FAMILY_NAMES[pid], said[0].text), said[0].text


_PARTNER_JOB = {"dana": ("husband", r"\b(?:paramedic|shifts?|nights|ambulances?|loves it)\b"),
                "grace": ("husband", r"\b(?:music|choirs?|steel band|school)\b"),
                "marcus": ("wife", r"\b(?:nurse|ward|shifts?|hospital)\b")}


@pytest.mark.model
@pytest.mark.parametrize("pid", ["dana", "grace", "marcus"])
def test_asked_what_the_partner_does_right_after_hearing_it_the_persona_says_more(meaning, pid):
    """The marriage answer names the partner's job; "so what does your husband do" right after
    gets more about that job, not another family answer (a sister, the pets)."""
    who, job = _PARTNER_JOB[pid]
    p = load_persona(pid)
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    first = " ".join(ln.text for ln in conv.respond("are you married").lines)
    assert re.search(job, first, re.I), first
    reply = conv.respond(f"oh right so what does your {who} do")
    said = " ".join(ln.text for ln in reply.lines if ln.kind == "answer")
    assert re.search(job, said, re.I), said
    assert not re.search(r"\b(?:sister|brother|pets?|dog)\b", said, re.I), said


@pytest.mark.model
def test_where_sam_lives_is_the_flat_not_the_family_abroad(meaning):
    """"Do you live close to here?" asks where Sam lives (the flat by the canal in Birmingham),
    not where Sam's family is from (a Swedish dad from Gothenburg): "around here" in the
    family answer's ways of asking must not pull the question there."""
    p = load_persona("sam")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond("do you live close to here then")
    said = " ".join(ln.text for ln in reply.lines if ln.kind == "answer")
    assert re.search(r"\b(?:flat|canal|Birmingham)\b", said), said
    assert "Gothenburg" not in said, said


@pytest.mark.model
def test_is_it_your_first_one_after_the_marathon_says_whether_it_is(meaning):
    """After Ewan mentions the Loch Ness Marathon, "is it your first one?" gets whether it is
    his first (it is), not how the training is going."""
    p = load_persona("ewan")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    conv.respond("i heard you're doing a marathon")
    reply = conv.respond("is it your first one")
    said = " ".join(ln.text for ln in reply.lines if ln.kind in ("answer", "hook_answer"))
    assert re.search(r"\bfirst marathon\b", said, re.I), said


@pytest.mark.model
def test_how_often_the_pager_goes_off_gets_a_number_of_pages(meaning):
    """After Ewan explains the on-call rota, "does the pager go off much?" gets how many pages
    a week (none at night on a good week), not his own working day."""
    p = load_persona("ewan")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    conv.respond("what's on call like at fernbank")
    reply = conv.respond("does the pager go off much")
    said = [ln for ln in reply.lines if ln.kind == "answer"]
    assert said and said[0].topic == "on_call", [(ln.kind, ln.topic, ln.text) for ln in reply.lines]
    assert re.search(r"\bpages?\b", said[0].text), said[0].text


def _answered_topics(reply) -> list[str | None]:
    return [ln.topic for ln in reply.lines if ln.kind in ("answer", "deflection")]


_ROUTERS: dict[str, MeaningRouter] = {}


def _round(pid: str, meaning, seed: int = 1) -> Conversation:
    """A started round with the real model (each persona's examples embedded once per run)."""
    p = load_persona(pid)
    if pid not in _ROUTERS:
        _ROUTERS[pid] = MeaningRouter(p, meaning)
    conv = Conversation(p, seed=seed, router=_ROUTERS[pid])
    conv.start()
    return conv


@pytest.mark.model
@pytest.mark.parametrize("pid,line,topics", [
    ("dana", "sorry i didn't catch what you do", ["work_day"]),
    ("grace", "sorry i didn't catch what you do", ["work_day", "her_career"]),
    ("ewan", "sorry i didn't quite catch what you do", ["work_day"]),
    ("marcus", "i'm new to this any tips for today", ["advice"]),
    ("sam", "i'm trying to get into data any tips", ["advice"]),
    ("priya", "i've always wondered how people find a co-founder", ["advice"]),
])
def test_an_ask_in_ordinary_speech_is_answered_not_reacted_to(pid, line, topics, meaning):
    """A repair ("i didn't catch what you do"), "any tips" run on after a statement, a wonder
    put to the persona: each asks (no "?" in a transcript), and gets the answer it asks for,
    not "That makes sense." to a statement."""
    conv = _round(pid, meaning)
    reply = conv.respond(line)
    got = _answered_topics(reply)
    assert len(got) == 1 and got[0] in {conv.persona.topic(t).id for t in topics}, [
        (ln.kind, ln.topic, ln.text) for ln in reply.lines]


@pytest.mark.model
@pytest.mark.parametrize("pid,line", [
    ("dana", "what's the salary for the graduate role"),
    ("dana", "how much would i earn on the grad scheme"),
    ("ewan", "what's the salary for the job you're hiring for"),
])
def test_the_pay_of_the_job_on_offer_is_told_not_dodged(pid, line, meaning):
    """A recruiter (or a hiring engineer) tells the pay of the job on offer, or where to find
    it; only the persona's own pay is personal, and that is still dodged."""
    conv = _round(pid, meaning)
    reply = conv.respond(line)
    personal = {t.id for t in conv.persona.topics if t.kind == "personal"}
    got = _answered_topics(reply)
    assert got and got[0] not in personal, [(ln.kind, ln.topic, ln.text) for ln in reply.lines]
    said = " ".join(ln.text for ln in reply.lines if ln.kind == "answer")
    assert re.search(r"\b(?:thousand|range|pounds|advert|salary)\b", said, re.I), said
    own = conv.respond("and how much do you earn yourself")
    assert _answered_topics(own)[:1] and _answered_topics(own)[0] in personal, [
        (ln.kind, ln.topic, ln.text) for ln in own.lines]


@pytest.mark.model
@pytest.mark.parametrize("pid", ["grace", "marcus", "priya"])
def test_is_there_anything_i_could_help_with_gets_how_to_help(pid, meaning):
    """"Is there anything I could help with?" asks how to help: a persona whose file says how
    people can help (get involved, what they need) says it, instead of thanking the user for
    an offer that was never made."""
    conv = _round(pid, meaning)
    reply = conv.respond("is there anything i could help with")
    helps = {t.id for t in conv.persona.topics
             if t.id in ("get_involved", "helping", "help_needed")
             or {"get_involved", "help_needed"} & set(t.covers)}
    got = _answered_topics(reply)
    assert got and got[0] in helps, [(ln.kind, ln.topic, ln.text) for ln in reply.lines]
    assert not any(ln.text in conv.persona.reactions.offer for ln in reply.lines)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("pid,line", [
    ("dana", "i guess you must be tired by now"),
    ("priya", "i bet running a startup is exhausting"),
    ("grace", "i bet you know everyone here"),
    ("grace", "i guess that makes sense"),
])
def test_a_guess_about_the_persona_is_not_echoed_back_nor_pitied(pid, line, seed):
    """"I guess you must be tired by now" guesses at the persona's day: no "Ooh, you must be
    tired by. That's interesting.", and "I bet running a startup is exhausting" is no bad news
    of the user's to be sorry about."""
    conv = _fake_round(pid, seed=seed)
    reply = conv.respond(line)
    p = conv.persona
    pity = {*SYMPATHY_LINES, *(p.reactions.sympathy or ())}
    for ln in reply.lines:
        if ln.kind == "reaction":
            assert ln.text not in pity, ln.text
            assert not re.search(r"\b(?:you must|running a startup|you know everyone|"
                                 r"that makes sense)\b", ln.text, re.I), ln.text


@pytest.mark.model
@pytest.mark.parametrize("pid,line,topic", [
    ("marcus", "i bet it gets busy in here on a saturday", "today"),
    ("ewan", "i bet the migration was stressful", "the_talk"),
])
def test_a_guess_that_plainly_names_a_subject_is_answered(pid, line, topic, meaning):
    """"I bet it gets busy in here on a Saturday" is put to Marcus to confirm: he answers with
    how busy today is, as if asked."""
    conv = _round(pid, meaning)
    reply = conv.respond(line)
    assert _answered_topics(reply) == [conv.persona.topic(topic).id], [
        (ln.kind, ln.topic, ln.text) for ln in reply.lines]


def test_a_coffee_asked_in_passing_gets_a_yes_and_the_round_goes_on():
    """"Would you want to grab a coffee sometime tomorrow?" early in the chat: Priya says yes
    (her ask_to_meet answer) and the chat continues until the user says goodbye; an ask that
    wraps up ("this was great, could we...") or swaps contacts still ends the round."""
    conv = _fake_round("priya")
    p = conv.persona
    reply = conv.respond("would you want to grab a coffee sometime tomorrow")
    assert [ln.kind for ln in reply.lines][:1] == ["ask_answer"], reply.lines
    assert reply.lines[0].text in p.reactions.ask_to_meet
    assert not conv.finished and conv.close_reason is None
    assert conv.respond("so what does your startup do").answered and not conv.finished
    conv.respond("great, see you then, bye")
    assert conv.finished and conv.close_reason == "goodbye"

    for line in ("this was great could we grab a coffee next week",
                 "could we grab a coffee sometime, can i get your email"):
        conv = _fake_round("priya")
        conv.respond("so what does your startup do")
        conv.respond(line)
        assert conv.finished and conv.close_reason == "ask", (line, conv.history)


@pytest.mark.model
def test_asked_again_right_after_an_answer_the_persona_tells_more_of_it(meaning):
    """"So are you a runner?" right after Dana's running answer asks again what that answer
    told (it is one of its ways of asking): the reply is a detail of it not told yet, not the
    half-marathon hook's answer retelling the Riverside Half it just named."""
    conv = _round("dana", meaning)
    first = conv.respond("do you do any sport")
    assert _answered_topics(first) == ["weekends"]
    running = conv.persona.topic("weekends").answers[conv._last_target.answer]
    reply = conv.respond("so are you a runner")
    said = [ln for ln in reply.lines if ln.kind in ("answer", "hook_answer")]
    assert [(ln.kind, ln.topic) for ln in said] == [("answer", "weekends")], [
        (ln.kind, ln.topic, ln.text) for ln in reply.lines]
    assert said[0].text in {fu.text for fu in running.follow_ups}, said[0].text


@pytest.mark.model
def test_was_it_hard_to_switch_careers_asks_about_switching_not_the_last_answer(meaning):
    """"Oh lovely, was it hard to switch careers?" after Dana's answer on the internship: the
    "it" stands for switching careers (not for the internship), so it is about her path."""
    conv = _round("dana", meaning)
    first = conv.respond("i'm studying chemistry do you think i should apply for the graduate "
                         "scheme")
    assert _answered_topics(first) == ["application"]
    reply = conv.respond("oh lovely was it hard to switch careers")
    assert _answered_topics(reply) == [conv.persona.topic("path").id], [
        (ln.kind, ln.topic, ln.text) for ln in reply.lines]


# --- session 20 (p1): lines said the way a transcript arrives, dev5 dev misses ----------------


@pytest.mark.parametrize("line, asks", [
    ("has anything good happened this week like a win at work", True),
    ("did something go wrong with the vans", True),
    ("someone mentioned it when i signed in whats that about", True),
    ("if i wanted to help with the van would i need to do anything special", True),
    ("if i wanted to apply what would i need to do", True),
    ("i always freeze in interviews any tips for when my mind goes blank", True),
    # the same shapes, telling: no inversion after the if-clause, an aux inside a clause
    ("if i wanted to help i would need a van", False),
    ("if we had more time we could do it", False),
    ("if you ever need help with the van i can drive", False),
    ("i never got any advice from anyone", False),
    ("i dont have any tips for you", False),
])
def test_transcript_question_forms_are_heard_as_questions(line, asks):
    """Unpunctuated speech: an indefinite subject after the auxiliary ("has anything..."), "what's
    that about" after a preposition ("...when i signed in"), the inverted main clause of a
    conditional and "any tips" run on after a statement are questions; a conditional told in
    statement order, or "any advice" inside a clause, is not."""
    from trainer.analysis import analyze_utterance

    assert analyze_utterance(line).is_question is asks, line


@pytest.mark.model
@pytest.mark.parametrize("pid, first, line, said_re", [
    # a detail of the answer just given, asked for by what it asks
    ("marcus", "is there anything big you're saving up for", "so when do you need the money by",
     r"Christmas"),
    ("marcus", "how many people does the food bank feed", "how do families get referred to you",
     r"referral|GP|Citizens Advice"),
    ("marcus", "what's the hardest part of the job", "is it getting worse",
     r"three hundred|eleven hundred"),
    ("dana", "tell me about the grad scheme", "would you help me with accommodation for the "
     "placements", r"room|accommodation"),
    ("grace", "so what's your day job", "oh and who started it", r"Funmi"),
    ("grace", "do you have any hobbies", "where do you do that", r"front rooms|host"),
    # the persona's own story, asked without a question mark or with a preamble
    ("marcus", None, "how long has this place been around", r"twenty years|church hall"),
    ("marcus", None, "if i wanted to help on the van would i need anything", r"licence"),
    ("marcus", None, "does your family help out here at all", r"Ngozi|Tobi|Amara"),
    ("dana", None, "um i always freeze in interviews any tips for when my mind goes blank",
     r"blank|nervous|[Nn]erves"),
    ("dana", "so what does northwind do", "and how big is it", r"four thousand|thirty-one"),
    ("dana", None, "how many people usually apply for the grad scheme",
     r"seven hundred|nine hundred"),
    ("grace", None, "so how would i sign up to be a mentor", r"email|form"),
    ("marcus", None, "do people ever try to take advantage", r"referral"),
])
def test_a_transcript_line_gets_the_fact_it_asks_for(pid, first, line, said_re, meaning):
    """What a user asks right after the opener (or after the persona's answer to `first`) is
    answered with the fact asked for: the cold store's deadline, how referrals work, the
    growth from three hundred households, who founded Open Pages, how old the food bank is."""
    p = load_persona(pid)
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    if first:
        conv.respond(first)
    reply = conv.respond(line)
    said = " ".join(ln.text for ln in reply.lines if ln.kind in ("answer", "hook_answer"))
    assert re.search(said_re, said), (line, [(ln.kind, ln.topic, ln.text) for ln in reply.lines])


@pytest.mark.model
def test_asked_how_his_own_first_time_went_marcus_tells_his_first_saturday(meaning):
    """"First time volunteering with us?" - "yeah, bit nervous, how was your first time?": his
    own first Saturday (as a volunteer, before he was hired), not advice for new volunteers."""
    p = load_persona("marcus")
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    reply = conv.respond("yeah it is im a bit nervous to be honest how was your first time")
    said = [ln for ln in reply.lines if ln.kind == "answer"]
    assert said and said[0].topic != "advice", [(ln.kind, ln.topic, ln.text) for ln in reply.lines]
    assert re.search(r"[Ff]irst Saturday|Brenda", said[0].text), said[0].text


@pytest.mark.parametrize("line, echo", [
    ("thats amazing i had no idea it was that many families", None),
    ("i did my dissertation on shipping containers so this is kind of my thing",
     "your dissertation on shipping containers"),
])
def test_a_key_phrase_cut_before_its_end_is_not_echoed(line, echo):
    """"Ah, no idea it. Tell me about it" read as a broken echo: a phrase ending on "it", "the",
    "was"... was cut mid-clause, and a plain reaction is better; a whole phrase is still echoed."""
    assert key_phrase(line) == echo


@pytest.mark.model
@pytest.mark.parametrize("line, offer", [
    ("i could tell my housemates about the internship if you like", True),
    ("I could tell you were nervous", False),
    ("i could tell it was going to rain", False),
])
def test_telling_others_about_the_persona_is_an_offer_telling_you_noticed_is_not(line, offer,
                                                                                 meaning):
    """"I could tell my housemates about the internship if you like" offers to spread the
    word; "I could tell you were nervous" only noticed something."""
    from trainer.offers import offered_help

    assert offered_help(line, meaning) is offer


# --- session 20 (p2): lines as a speech transcript arrives, right after the opener -----------


@pytest.mark.parametrize("line,question", [
    ("ha both really um so when there isn't a migration going on what fills your days",
     "what fills your days"),
    ("hang on why was it three in the morning when it broke",
     "why was it three in the morning when it broke"),
    ("i've just been put on the on call rota and i'm dreading it any advice", "any advice"),
    ("i'm doing an sql course but i don't know how to get my first job any ideas", "any ideas"),
    ("my friend's speaking next month so i came to scope it out what brought you",
     "what brought you"),
    ("eighty one percent is that good", "is that good"),
])
def test_a_question_run_on_after_a_statement_is_found(line, question):
    """Speech runs the question on after what the user tells ("...going on | what fills your
    days", "...dreading it | any advice"): the question is found, as its own clause."""
    from trainer.lexicon import tokens
    from trainer.questions import clauses, question_form

    found = [" ".join(c.words) for c in clauses(tokens(line)) if question_form(c.exp, c.mark)]
    assert found == [question], [(c.words, question_form(c.exp, c.mark))
                                 for c in clauses(tokens(line))]


@pytest.mark.parametrize("line", [
    "i don't have any ideas", "i tried to find out what brought you here",
    "it depends on what keeps you going", "we never got any tips"])
def test_an_embedded_or_object_phrase_is_no_question(line):
    from trainer.lexicon import tokens
    from trainer.questions import clauses, question_form

    assert not [c for c in clauses(tokens(line)) if question_form(c.exp, c.mark)], line


def test_a_reserved_short_reply_is_never_a_lone_word():
    from trainer.conversation import _short_reply

    assert _short_reply("Later. Most problems needed a correct join, not a model.") == \
        "Later. Most problems needed a correct join, not a model."
    assert _short_reply("I live in Birmingham. With Pickle, my cat.") == "I live in Birmingham."
    assert _short_reply("Yes.") == "Yes."


def _said_after(pid: str, meaning, *lines: str, asked: str | None = None):
    p = load_persona(pid)
    conv = Conversation(p, seed=1, router=MeaningRouter(p, meaning))
    conv.start()
    if asked:
        conv.ask(asked)
    replies = [conv.respond(line) for line in lines]
    last = replies[-1]
    said = [ln for ln in last.lines if ln.kind in ("answer", "hook_answer")]
    return said, " ".join(ln.text for ln in said), [(ln.kind, ln.topic, ln.text)
                                                     for ln in last.lines]


@pytest.mark.model
@pytest.mark.parametrize("pid,lines,topic,fact", [
    # the question tacked on after a statement is answered, not reacted to
    ("ewan", ["i've just been put on the on call rota for the first time and i'm dreading it "
              "any advice"], "advice", r"on-call|incident"),
    ("sam", ["i'm doing an sql course at the moment but i don't know how to get my first job "
             "any ideas"], "advice", r"NHS|contract|SQL"),
    # what happened, then why it broke at three: when it started
    ("ewan", ["so what happened with the migration"], "the_talk", r"fourteen hours"),
    ("ewan", ["so what happened with the migration",
              "hang on why was it three in the morning when it broke"], "the_talk",
     r"\bsix\b|Saturday evening"),
    # "she" right after "our daughter Isla": Isla
    ("ewan", ["have you got kids", "does she know what you actually do for a living"], "family",
     r"\bIsla\b"),
    ("ewan", ["so how does the summit compare to other conferences you go to"], "conference",
     r"conferences"),
    ("priya", ["are you hiring", "what would they actually be building"], "hiring",
     r"tracking|scanner"),
    ("priya", ["how do you even find your first customers like what would you do if you were "
               "starting again"], "advice", r"first cafes|free"),
    ("priya", ["how did you get the idea", "what did your boss say when you quit"], "her_path",
     r"\bboss\b"),
    ("priya", ["so what's on your to do list this week"], "current_work", r"interviews"),
])
def test_a_new_user_gets_what_was_asked(pid, lines, topic, fact, meaning):
    said, text, seen = _said_after(pid, meaning, *lines)
    assert [ln.topic for ln in said if ln.kind == "answer"][:1] == [topic], seen
    assert re.search(fact, text), text


@pytest.mark.model
def test_whether_the_pilot_numbers_are_good_is_answered_against_the_target(meaning):
    """"eighty one percent is that good" (no "?", after the pilot's numbers) is a question
    about the number just said: against the target or break-even, not a reaction."""
    said, text, seen = _said_after("priya", meaning, "tell me about the pilot",
                              "eighty one percent is that good")
    assert said, seen
    assert re.search(r"\b(?:ninety|seventy|target)\b", text, re.I), text


@pytest.mark.model
def test_what_brought_you_after_sam_asked_what_brings_you_gets_sams_own_reason(meaning):
    said, text, seen = _said_after(
        "sam", meaning, "my friend's speaking next month so i came to scope it out what brought you",
        asked="What brings you here?")
    assert "Femi" in text, seen


@pytest.mark.model
def test_a_reserved_short_answer_about_machine_learning_says_something(meaning):
    """Sam answers a closed question short; the short reply still answers ("Later." alone
    would not)."""
    said, text, seen = _said_after("sam", meaning, "do you get to use any of the fancy stuff like "
                                              "machine learning or is it more basic")
    assert said and said[0].topic == "tools", seen
    assert len(text.split()) >= 4, text
