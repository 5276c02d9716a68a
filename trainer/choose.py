"""Which round to practise: the persona by the user's history, and one goal for the round.

Start easy; once a full round at the current difficulty passes most of its targets, the next
difficulty is picked (and suggested after the round). Within a level, the persona met least
often comes first, so rounds rotate. The goal is the first "start doing" item of the last
round's scorecard, else the persona's own. Pure: session summaries in, a choice out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trainer.errors import UsageError
from trainer.personas import Persona
from trainer.scoring import Scorecard

LEVELS = ("easy", "medium", "hard")
GOOD_ROUND_SHARE = 0.7  # a round "scores well" when this share of its measured metrics passed
MIN_REPLIES_TO_LEVEL_UP = 4  # ... and it was a real conversation, not two lines and goodbye


@dataclass(frozen=True)
class PastRound:
    """What persona choice needs to know about one earlier round."""

    persona_id: str
    difficulty: str
    completed: bool
    score: float | None  # share of measured metrics passed (0..1), None without a scorecard
    user_turns: int = MIN_REPLIES_TO_LEVEL_UP


@dataclass(frozen=True)
class Choice:
    """The persona for this round and why (shown in the briefing)."""

    persona: Persona
    why: str
    level: str


def round_score(scorecard: dict[str, Any] | Scorecard | None) -> float | None:
    """Share of a scorecard's measured metrics that passed (0..1), or None."""
    if scorecard is None:
        return None
    card = scorecard if isinstance(scorecard, Scorecard) else Scorecard.from_dict(scorecard)
    if not card.measured_count:
        return None
    return card.passed_count / card.measured_count


def well_scored(score: float | None, user_turns: int) -> bool:
    return (score is not None and score >= GOOD_ROUND_SHARE
            and user_turns >= MIN_REPLIES_TO_LEVEL_UP)


def next_level(level: str) -> str | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def current_level(history: Sequence[PastRound]) -> tuple[str, PastRound | None]:
    """The difficulty to practise at: easy first; one level up after a round that scored well
    at the current level. Returns (level, the round that earned the move up or None)."""
    level, earned = LEVELS[0], None
    for r in history:  # oldest first
        if (r.completed and r.difficulty == level and well_scored(r.score, r.user_turns)
                and next_level(level)):
            level, earned = next_level(level), r
    return level, earned


def choose_persona(personas: Sequence[Persona], history: Sequence[PastRound]) -> Choice:
    """Pick the round by history: the level from `current_level`, then the persona of that
    level met least often (ties: longest ago, then id), so rounds rotate."""
    if not personas:
        raise UsageError("no personas found", hint="persona files live in personas/*.yaml")
    level, earned = current_level(history)
    pool = [p for p in personas if p.difficulty == level]
    if not pool:  # no persona at this level: the nearest easier one, else anything
        for lv in reversed(LEVELS[: LEVELS.index(level)]):
            pool = [p for p in personas if p.difficulty == lv]
            if pool:
                break
        pool = pool or list(personas)
    count = {p.id: 0 for p in pool}
    last_seen = {p.id: -1 for p in pool}
    for i, r in enumerate(history):
        if r.persona_id in count:
            count[r.persona_id] += 1
            last_seen[r.persona_id] = i
    persona = min(pool, key=lambda p: (count[p.id], last_seen[p.id], p.id))
    if not history:
        why = f"Your first round: an {persona.difficulty} one to start."
    elif earned is not None:
        pct = round((earned.score or 0) * 100)
        why = (f"Level {level}: your {earned.difficulty} round passed {pct}% of its targets. "
               f"For an easier round: trainer practice --persona ID (see trainer personas).")
    else:
        why = (f"Level {level}: a round passing {round(GOOD_ROUND_SHARE * 100)}% of its "
               f"targets moves you up." if next_level(level) else f"Level {level}.")
    return Choice(persona=persona, why=why, level=level)


def past_rounds(sessions) -> list[PastRound]:
    """The user's rounds, oldest first, from the store's session summaries."""
    rows = sorted(sessions, key=lambda s: s.started_at)
    return [PastRound(persona_id=s.persona_id, difficulty=s.difficulty,
                      completed=s.state == "completed", score=round_score(s.scorecard),
                      user_turns=s.user_turns)
            for s in rows]


def round_goal(persona: Persona, cards: Sequence[dict[str, Any]]) -> str:
    """One goal for this round: the first "start doing" item of the user's last scored round
    (skipping ones about that persona's personal details), else the persona's own goal."""
    for card in reversed(cards):
        labels = [h.get("label") or h.get("id") or "" for h in card.get("hooks") or []]
        for item in card.get("start") or []:
            if not any(label and label in item for label in labels):
                return f"{item} (from your last round)"
        break  # only the last round counts
    return persona.briefing.goal
