"""The grid of a sweep: axes (tasks x supervisors x strong models x methods x budgets x seeds x hyperparameters)
and its expansion into experiment specs. `w2sg run` is a sweep with one value per axis."""

from __future__ import annotations

import itertools
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from w2sg.config import (
    BudgetSpec,
    ExperimentSpec,
    MethodSpec,
    Spec,
    SplitSpec,
    TrainSpec,
    Weak,
    canonical_weak,
    coerce_budgets,
    coerce_methods,
    weak_label,
)
from w2sg.methods import check_method
from w2sg.supervisors import check_supervisor

Pairs = Literal["all", "weak_smaller", "weak_smaller_or_equal"]


SINGULAR = {"task": "tasks", "method": "methods", "seed": "seeds", "budget": "budgets"}


class SweepSpec(Spec):
    """tasks x weak supervisors x strong models x methods x budgets x seeds x hyperparameter axes (`grid`:
    dotted path -> values). Every list axis also takes one value, and `task`, `method`, `seed`, `budget`
    are accepted for `tasks`, `methods`, `seeds`, `budgets` (so a one-experiment run spec is a sweep)."""

    name: str = "sweep"
    tasks: list[str] = Field(default_factory=lambda: ["sst2"])
    weak: list[Weak] = Field(default_factory=lambda: ["minilm"], description="supervisors: model aliases or "
                             "{kind: ..., ...} mappings")
    strong: list[str] = Field(default_factory=lambda: ["mpnet"])
    methods: list[MethodSpec] = Field(default_factory=lambda: [MethodSpec(name="naive")])
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    splits: SplitSpec = Field(default_factory=SplitSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    budgets: list[BudgetSpec] = Field(default_factory=lambda: [BudgetSpec()],
                                      description="the student's training budgets: full, steps=N, early_stop, ...")
    balance_test: bool = True
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="e.g. {'train.lr': [1e-3, 3e-4]}")
    pairs: Pairs = Field("all", description="which (weak, strong) pairs: all, or weak a smaller (or equal) rung")

    @model_validator(mode="before")
    @classmethod
    def _singular(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for one, many in SINGULAR.items():
                if one in v:
                    if many in v:
                        raise ValueError(f"give either '{one}' or '{many}', not both")
                    v = {**{k: x for k, x in v.items() if k != one}, many: v[one]}
            for k in ("tasks", "strong", "seeds"):
                if k in v and isinstance(v[k], str | int):
                    v = {**v, k: [v[k]]}
            if "weak" in v and not isinstance(v["weak"], list):
                v = {**v, "weak": [v["weak"]]}
        return v

    @field_validator("weak", mode="before")
    @classmethod
    def _weak(cls, v: Any) -> Any:
        return [canonical_weak(w) for w in v] if isinstance(v, list) else v

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, v: Any) -> Any:
        return coerce_methods(v)

    @field_validator("budgets", mode="before")
    @classmethod
    def _budgets(cls, v: Any) -> Any:
        return coerce_budgets(v)

    @field_validator("grid")
    @classmethod
    def _grid_paths(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path, values in v.items():
            head = path.split(".")[0]
            if head not in ("train", "splits", "method", "weak", "budget"):
                raise ValueError(f"grid axis '{path}' must start with train., splits., budget., weak. (options of "
                                 "a supervisor mapping) or method.options.")
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid axis '{path}' needs a non-empty list of values")
        return v


def _rung_size(model: str) -> float | None:
    from w2sg.models.zoo import MODELS

    recipe = MODELS.get(model)
    return float(recipe.params) if recipe else None


def _pair_ok(weak: Weak, strong: str, pairs: Pairs) -> bool:
    if pairs == "all":
        return True
    if not isinstance(weak, str):  # a supervisor kind: compared by the model it is built on, if any
        weak = weak.options.get("model")
        if weak is None:
            return True
    w, s = _rung_size(weak), _rung_size(strong)
    if w is None or s is None:
        raise ValueError(f"pairs='{pairs}' needs model sizes, but '{weak if w is None else strong}' is not a "
                         "zoo alias; use pairs: all for paths and Hub ids")
    return w < s if pairs == "weak_smaller" else w <= s


def _set_path(d: dict, path: str, value: Any) -> None:
    keys = path.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
    d[keys[-1]] = value


def _applies(path: str, method: MethodSpec, weak: Weak) -> bool:
    """A `method.options.X` axis applies only to methods (first stage) that have option X; a `weak.X` axis
    only to supervisors given as mappings."""
    if path.startswith("weak."):
        return not isinstance(weak, str)
    if not path.startswith("method.options."):
        return True
    from w2sg.methods import get_method

    return path.split(".", 2)[2] in get_method(method.name).config_cls.model_fields


def expand(sweep: SweepSpec) -> list[ExperimentSpec]:
    """All cells, ordered for reuse: by task, hyperparameters and seed, then weak, strong, method."""
    axes = list(sweep.grid.items())
    combos = list(itertools.product(*[vals for _, vals in axes])) or [()]
    cells: list[ExperimentSpec] = []
    seen: set[str] = set()
    for task in sweep.tasks:
        for combo in combos:
            for seed in sweep.seeds:
                for weak in sweep.weak:
                    for strong in sweep.strong:
                        if not _pair_ok(weak, strong, sweep.pairs):
                            continue
                        for method, budget in itertools.product(sweep.methods, sweep.budgets):
                            d = {"task": task, "weak": weak if isinstance(weak, str) else weak.model_dump(),
                                 "strong": strong, "seed": seed,
                                 "method": method.model_dump(), "splits": sweep.splits.model_dump(),
                                 "train": sweep.train.model_dump(), "budget": budget.model_dump(),
                                 "balance_test": sweep.balance_test}
                            for (path, _), value in zip(axes, combo, strict=True):
                                if _applies(path, method, weak):
                                    _set_path(d, path, value)
                            cell = ExperimentSpec.model_validate(d)
                            check_supervisor(cell)  # a cell that cannot run fails the sweep before any work
                            check_method(cell)
                            if cell.hash() not in seen:  # an axis that does not apply to a method repeats cells
                                seen.add(cell.hash())
                                cells.append(cell)
    if not cells:
        raise ValueError(f"sweep '{sweep.name}' has no cells (check pairs='{sweep.pairs}' and the lists)")
    return cells


def _label(c: ExperimentSpec) -> str:
    return f"{c.task} {weak_label(c.weak)}->{c.strong} {c.method.label} seed={c.seed}"
