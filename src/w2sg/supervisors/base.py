"""What every weak supervisor is: a registered kind with a config, a cache key and a `supervise` function.

A supervisor produces the weak labels the student trains on — its P(item positive) on the transfer set B,
the validation split V and the extra rows — and its own predictions on the test split T, which are the PGR
floor ("weak" in every record). A supervisor may read ground truth (a weak model is trained on A's ground
truth; a synthetic supervisor corrupts ground truth): it is the supervisor. The student never sees it: the
pipeline hands the student `WeakLabelled` sets built from a supervisor's output only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict

from w2sg.tasks.schema import Example, Splits

ROLES = ("transfer", "val", "test", "extra")  # what a supervision holds, by split
# what every record says about its supervisor's errors: a synthetic supervisor's error process and its overall
# error rate (None where the kind has no such process, or its errors have no one overall rate)
RECORD_KEYS = ("supervisor_errors", "supervisor_error_rate")


def no_record() -> dict:
    """The record of a kind whose errors are not set by a process of its own (a weak model, an ensemble, ...)."""
    return dict.fromkeys(RECORD_KEYS)


class SupervisorConfig(BaseModel):
    """Base of every supervisor kind's options: strict, so a typo in an option is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class SupervisionContext:
    """What a supervisor may use, for one experiment.

    - `splits`: A, B, V, T and the extra rows, with ground truth (supervisors may read it);
    - `split_key`: the content hash of the splits (every supervisor key starts from it);
    - `fit(model, rows, seed, key)`: train `model` on `rows` with ground truth (the experiment's TrainSpec,
      l2 by CV) and return its P(item positive) on B, V, T and the extra rows, cached under `key`;
    - `fit_on(model, items, targets, seed)`: a fresh learner of `model` fitted on given (soft) targets, not
      cached (e.g. an intermediate rung of a chain); returns the fitted learner;
    - `identity(model)`: the content identity of a model (alias, path or Hub id), for keys;
    - `features(model, items)`: the pretrained model's frozen features of items (rows x dims; a comparison:
      features of a minus those of b), from the feature cache.
    """

    spec: object  # the ExperimentSpec
    splits: Splits
    split_key: str
    fit: Callable[[str, list[Example], int, str], dict[str, np.ndarray]]
    fit_on: Callable[[str, list, np.ndarray, int], object]
    identity: Callable[[str], str]
    features: Callable[[str, list], np.ndarray]
    zero_shot: Callable[[str], object] | None = None  # model -> its zero-shot scorer, answers cached per text

    @property
    def seed(self) -> int:
        return self.spec.seed

    @property
    def train(self):
        return self.spec.train


@dataclass
class Supervision:
    """A supervisor's output: P(item positive) per split (ROLES), plus, for supervisors whose labels come
    from somewhere other than their PGR floor (a chain's last rung), that labeller's test predictions."""

    p: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, dtype=np.float32) for k, v in self.p.items()}


@dataclass(frozen=True)
class Supervisor:
    """A registered kind: `key(cfg, ctx) -> str` (the cache key of its output), `supervise(cfg, ctx) ->
    Supervision`, `models(cfg, spec) -> list[str]` (models whose frozen features it needs on A, B, V, T and
    the extra rows), `precheck(cfg, spec) -> str | None` (why a spec cannot run it, before any work) and
    `reads(cfg, spec) -> list[str]` (further models it reads without frozen features, e.g. a zero-shot LM: their
    identities enter the experiment key as the feature models' do) and `record(cfg, meta) -> dict` (what every
    experiment's record says about this kind's supervision, given what its step recorded: `RECORD_KEYS`)."""

    kind: str
    description: str
    config_cls: type[SupervisorConfig]
    supervise: Callable[[SupervisorConfig, SupervisionContext], Supervision]
    key: Callable[[SupervisorConfig, SupervisionContext], str]
    models: Callable[[SupervisorConfig, object], list[str]] = lambda cfg, spec: []
    precheck: Callable[[SupervisorConfig, object], str | None] | None = None
    reads: Callable[[SupervisorConfig, object], list[str]] = lambda cfg, spec: []
    record: Callable[[SupervisorConfig, dict], dict] = lambda cfg, meta: no_record()
