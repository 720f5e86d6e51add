"""The `kind: steps` part of a YAML task spec (tasks/spec.py): step-labelled solutions, for process supervision.

Two forms:

- generated: `generate: {lengths: [2, 8], digits: [1, 2], ops: [add, mul], rho: 0.2, ...}` (any subset of the
  knobs of tasks/chains.py's `ChainSpec`, the others at its defaults; a range may be one number) makes the task
  `chain_task(...)` of those knobs: arithmetic chains whose every label is exact, no files;
- user data: `files` (or `hub`) whose records are candidate solutions, one per record: `problem` (a field or a
  template: the header the steps follow), `steps` (the field holding the list of step strings; in a CSV cell a
  JSON list), `step_labels` (one label per step: 0/1 or true/false, or with `step_scale: prm800k` PRM800K
  ratings -1/0/1, a step right iff its rating is >= 0), `outcome` (0/1: the final answer is right), `group`
  (the problem: every candidate of a problem shares it and stays in one split) and optionally `id` (a field or
  template naming the solution; default: its line).

`labels: step` (the default) gives one row per step (label 1 iff every step so far is right, PRM800K style),
`labels: outcome` one row per solution (label = outcome). Each row carries `Example.steps` and the meta the
process metrics read (chains.labelled_rows); `meta: [field, ...]` adds record fields to it.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import model_validator

from w2sg.config import Spec
from w2sg.tasks.chains import ChainSpec

__all__ = ["STEPS_ONLY", "GenerateSpec", "StepScale", "StepsFields", "check_steps_spec", "steps_defaults"]

StepScale = Literal["binary", "prm800k"]
USER_FIELDS = ("problem", "steps", "step_labels", "outcome", "id", "step_scale")  # the user-data mapping
STEPS_ONLY = ("generate", "labels", *USER_FIELDS)  # fields only a steps task takes
NEEDED = ("problem", "steps", "step_labels", "outcome", "group")
ROW_META = ("labels", "solution", "step", "n_steps", "outcome", "trace", "first_error", "error")  # labelled_rows'
NOT_STEPS = ("text", "label", "label_map", "answers", "correct", "prompt", "chosen", "rejected", "context", "claim",
             "answer", "question")
RANGES = ("lengths", "test_lengths", "digits")


class GenerateSpec(Spec):
    """The knobs of a generated chain task (tasks/chains.py::ChainSpec); those not given keep its defaults."""

    lengths: tuple[int, int] | None = None
    test_lengths: tuple[int, int] | None = None
    digits: tuple[int, int] | None = None
    ops: list[str] | None = None
    rho: float | None = None
    slip: float | None = None
    candidates: int | None = None
    problems: int | None = None
    test_problems: int | None = None
    seed: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _ranges(cls, data: Any) -> Any:
        """A range given as one number n is n..n (e.g. `digits: 2`)."""
        if isinstance(data, dict):
            data = {k: [v, v] if k in RANGES and isinstance(v, int) and not isinstance(v, bool) else v
                    for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _valid(self) -> GenerateSpec:
        self.chain_spec("step")  # ChainSpec's own checks (ranges, ops, rho + slip <= 1, ...)
        return self

    def chain_spec(self, labels: Literal["step", "outcome"]) -> ChainSpec:
        """The ChainSpec of these knobs (the ones not given at ChainSpec's defaults) and `labels`."""
        given = {k: getattr(self, k) for k in self.model_fields_set}
        if given.get("ops") is not None:
            given["ops"] = tuple(given["ops"])
        if given.get("test_lengths") is None:
            given.pop("test_lengths", None)
        for k in ("lengths", "digits", "rho", "slip", "candidates", "problems", "test_problems", "seed"):
            if k in given and given[k] is None:
                raise ValueError(f"generate.{k} is null: give a value or leave it out (default "
                                 f"{getattr(ChainSpec(), k)!r})")
        return ChainSpec(**given, labels=labels)


class StepsFields(Spec):
    """The fields only a steps task takes (tasks/spec.py's YamlTaskSpec inherits them)."""

    generate: GenerateSpec | None = None  # arithmetic chains made by w2sg (no files)
    labels: Literal["step", "outcome"] | None = None  # one row per step (default) or per solution
    problem: str | None = None  # the header the steps follow (field or template)
    steps: str | None = None  # the field holding the list of steps
    step_labels: str | None = None  # the field holding one label per step
    step_scale: StepScale | None = None  # binary (0/1, true/false; the default) or prm800k (-1/0/1, right iff >= 0)
    outcome: str | None = None  # the field saying whether the final answer is right (0/1)
    id: str | None = None  # the solution's id (field or template); default: its line
    hash_neutral: ClassVar[dict[str, Any]] = {k: None for k in STEPS_ONLY}  # specs from before steps hash as before


def steps_defaults(data: Any) -> Any:
    """A raw spec with `generate:` alone read as `generate: {}` (ChainSpec's defaults), and kind steps when it
    has `generate` or `steps` and no kind."""
    if isinstance(data, dict) and "generate" in data and data["generate"] is None:
        data = {**data, "generate": {}}
    if isinstance(data, dict) and data.get("kind") is None and ("generate" in data or "steps" in data):
        data = {**data, "kind": "steps"}
    return data


def _listed(names: list[str]) -> str:
    return ", ".join(map(repr, names))


def check_steps_spec(spec: Any) -> None:
    """ValueError unless the steps fields fit a YamlTaskSpec: only on kind steps; there, `generate` alone or a
    source (files or hub) with the whole mapping, and none of the other kinds' fields."""
    given = [k for k in STEPS_ONLY if getattr(spec, k) is not None]
    if spec.kind != "steps":
        if given:
            raise ValueError(f"{_listed(given)} describe step-labelled solutions: set kind: steps (this task is "
                             f"{spec.kind})")
        return
    other = [k for k in NOT_STEPS if getattr(spec, k) is not None]
    if other:
        raise ValueError(f"a steps task does not use {_listed(other)}: its rows are each solution's problem and "
                         "steps up to one step (map 'problem', 'steps', 'step_labels', 'outcome' and 'group')")
    if spec.transform is not None:
        raise ValueError("'transform' rewrites a task's texts; a steps task's rows carry their steps too: drop it")
    if spec.generate is not None:
        mapped = [k for k in ("files", "hub", "hook", "group", "meta", *USER_FIELDS) if getattr(spec, k) is not None]
        if mapped:
            raise ValueError(f"'generate' makes arithmetic chains, with their problems and labels: drop "
                             f"{_listed(mapped)} (or drop 'generate' to read your own solutions from 'files')")
        return
    if spec.files is None and spec.hub is None:
        raise ValueError("a steps task needs 'generate' (arithmetic chains, e.g. generate: {lengths: [2, 8]}) or "
                         "'files' (your solutions, one candidate solution per record)")
    missing = [k for k in NEEDED if getattr(spec, k) is None]
    if missing:
        raise ValueError(f"a steps task from files needs {_listed(missing)}: 'problem' the header the steps "
                         "follow (a field or a template), 'steps' the field holding the list of steps, "
                         "'step_labels' the field holding one label per step, 'outcome' the field saying whether "
                         "the final answer is right, 'group' the problem (its candidate solutions share it)")
    for k in ("steps", "step_labels", "outcome"):
        if "{" in getattr(spec, k):
            raise ValueError(f"'{k}' names a field of the records (e.g. {k}: {k}), not a template")
    clash = [n for n in spec.meta or () if n in ROW_META]
    if clash:
        raise ValueError(f"meta {_listed(clash)}: a steps row's meta already has these names; rename the field "
                         "in the data, or leave it out of 'meta'")
