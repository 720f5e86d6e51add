"""The one data schema: labelled rows (with a group id) whose item is a text or a comparison."""

from __future__ import annotations

from dataclasses import dataclass, field

from w2sg.items import Comparison, Item, Passage, Steps


@dataclass(frozen=True)
class Example:
    """One labelled row. Rows built from one question share a `group`; `label` is ground truth (0/1).

    Binary and multiple-choice rows are texts. A pairwise row carries a `pair` (label 1: pair.a ≻ pair.b);
    its `text` is a readable rendering used for de-duplication and display only.

    `meta` holds raw fields of the source record, as (name, value) string pairs, when the task asks for them
    (a YAML task's `meta: [field, ...]`); analyses may select rows by them (e.g. a synthetic supervisor's
    region errors). Rows without meta are hashed exactly as before meta existed.

    `group` is the unit a split keeps whole (a passage and all its questions); `question` keys per-question
    scoring when a group holds several questions (None: the group is the question). `passage` is the row's
    evidence split out (context, question, candidate answer, the other candidates) for protocols that quote it.
    `steps` is a `steps` task's solution (its text is `steps.text`), so that a decoder reads every step of one
    solution in one pass; what the row's label is (this step's prefix, or the outcome) is the task's choice.
    """

    id: str
    group: str
    text: str
    label: int
    pair: Comparison | None = None
    meta: tuple[tuple[str, str], ...] | None = None
    passage: Passage | None = None  # the evidence split out, on tasks that declare `context:` (debate)
    question: str | None = None  # the per-question scoring key, when a group (split unit) holds several
    steps: Steps | None = None  # a `steps` task's solution, cut after this row's step (text == steps.text)

    @property
    def question_key(self) -> str:
        """The key rows of one question share (per-question scoring): `question`, else the group."""
        return self.group if self.question is None else self.question

    @property
    def meta_dict(self) -> dict[str, str]:
        """`meta` as a mapping (empty when the row has none)."""
        return dict(self.meta or ())

    @property
    def item(self) -> Item:
        """What a learner sees: the text, or the comparison of a pairwise row."""
        return self.text if self.pair is None else self.pair


@dataclass
class TaskData:
    """A task's rows as loaded: a `pool` to split from and, when the task ships one, a `test` pool."""

    name: str
    pool: list[Example]
    test: list[Example] | None = None
    fingerprint: str = ""  # content hash of all rows; part of every cache key
    source: str = ""  # where the rows were read from (a directory, a file or a Hub id)
    notes: list[str] = field(default_factory=list)  # e.g. duplicates dropped


@dataclass
class Splits:
    """A (weak-train A, transfer B, weak-labelled validation V, test T) partition of a task."""

    weak_train: list[Example]
    transfer: list[Example]
    val: list[Example]
    test: list[Example]
    extra: list[Example] = field(default_factory=list)  # fresh transfer rows (bootstrapping), weak-labelled

    def items(self) -> list[tuple[str, list[Example]]]:
        out = [("weak_train", self.weak_train), ("transfer", self.transfer), ("val", self.val),
               ("test", self.test)]
        return out + ([("extra", self.extra)] if self.extra else [])

    def class_balance(self) -> dict[str, dict[str, float]]:
        """Per split: number of rows and fraction of positives."""
        out = {}
        for name, rows in self.items():
            n = len(rows)
            out[name] = {"n": n, "pos_frac": (sum(r.label for r in rows) / n) if n else float("nan")}
        return out
