"""What a learner consumes: items. The probability per item, P(item is positive), is the common currency.

- a `str` is the item of `binary` and `multiple_choice` tasks (one row = one text; for multiple choice the
  rows of one question share a group, and the highest-scoring candidate is the model's answer);
- a `Comparison` is the item of `pairwise` tasks: two responses `a` and `b` to one `prompt`. Its probability
  is P(a ≻ b) = σ(r(prompt, a) − r(prompt, b)) under a scalar reward model r. Swapping a and b turns P into
  1 − P exactly (no bias term), so both orders of a pair can be scored.

This module is a leaf: it imports nothing from w2sg.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(frozen=True)
class Comparison:
    """Two responses to one prompt; label 1 means `a` is preferred (a ≻ b)."""

    prompt: str
    a: str
    b: str

    def texts(self) -> tuple[str, str]:
        """The two texts a reward model scores: prompt + response a, prompt + response b."""
        sep = "\n" if self.prompt and not self.prompt.endswith("\n") else ""
        return self.prompt + sep + self.a, self.prompt + sep + self.b

    def swapped(self) -> Comparison:
        return Comparison(self.prompt, self.b, self.a)


@dataclass(frozen=True)
class Passage:
    """The evidence behind a row of a reading task, split out so that protocols can quote it (debate).

    `context` is the passage; `question` the question a judge reads (without the passage); `answer` the
    candidate this row proposes ("yes" on a yes/no task); `alternatives` the question's other candidates
    ("no" on a yes/no task; empty when the task has none, e.g. one plausibility judgement per candidate).
    """

    context: str
    question: str
    answer: str
    alternatives: tuple[str, ...] = ()

    @property
    def claim(self) -> str:
        """What a judge decides: the question and this row's candidate answer, without the passage."""
        return f"{self.question}\nAnswer: {self.answer}".strip()


@dataclass(frozen=True)
class Steps:
    """A step-by-step solution cut after step `upto` (a row of a `steps` task): the learner reads `text`, the
    problem and the solution's first `upto` steps, one per line.

    The steps after `upto` are kept so that a decoder can read every step of one solution in a single forward
    pass (causal attention: the hidden state at the end of step k does not depend on later steps); `solution`
    names the whole solution (unique within a task), `full` is its text with every step.
    """

    problem: str
    steps: tuple[str, ...]
    upto: int
    solution: str

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"solution {self.solution!r} has no steps")
        if not 1 <= self.upto <= len(self.steps):
            raise ValueError(f"solution {self.solution!r}: upto={self.upto} is outside 1..{len(self.steps)} steps")

    def prefix(self, k: int) -> str:
        """The problem and the first k steps (k = 0: the problem alone)."""
        return "\n".join([self.problem.rstrip("\n"), *self.steps[:k]])

    @property
    def text(self) -> str:
        return self.prefix(self.upto)

    @property
    def full(self) -> str:
        return self.prefix(len(self.steps))

    @property
    def n_steps(self) -> int:
        return len(self.steps)

    def prefixes(self) -> list[str]:
        """The text after each step, k = 1..n_steps: each is a prefix of `full` (the positions one pass reads)."""
        return [self.prefix(k) for k in range(1, len(self.steps) + 1)]


Item = Union[str, Comparison]  # noqa: UP007  (a runtime alias, also used in isinstance checks below)


def is_item(x: object) -> bool:
    return isinstance(x, (str, Comparison))


def kind_of(items) -> str:
    """'text' when every item is a string, 'comparison' when every item is a Comparison (error if mixed)."""
    kinds = {"comparison" if isinstance(x, Comparison) else "text" if isinstance(x, str) else type(x).__name__
             for x in items}
    if len(kinds) > 1:
        raise TypeError(f"items of mixed kinds {sorted(kinds)}: a learner takes texts or comparisons, not both")
    kind = kinds.pop() if kinds else "text"
    if kind not in ("text", "comparison"):
        raise TypeError(f"items must be strings or Comparison, got {kind}")
    return kind


def item_texts(items) -> list[str]:
    """Every text the items need featurized (both sides of each comparison), in order, with repeats."""
    out: list[str] = []
    for x in items:
        out.extend(x.texts() if isinstance(x, Comparison) else (x,))
    return out
