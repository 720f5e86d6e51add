"""The grid of a sweep: axes (tasks x supervisors x strong models x methods x budgets x seeds x hyperparameters)
and its expansion into experiment specs. `w2sg run` is a sweep with one value per axis."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from w2sg.config import (
    MAX_SEED,
    BudgetSpec,
    ExperimentSpec,
    LockSpec,
    MethodSpec,
    Spec,
    SplitSpec,
    TrainSpec,
    Weak,
    canonical_weak,
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
    lock: LockSpec | None = Field(None, description="start every student from a locked strong model (frozen mode); "
                                  "a grid axis lock.X (e.g. lock.variant) locks every cell")
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

    @field_validator("tasks", "weak", "strong", "methods", "seeds", "budgets")
    @classmethod
    def _non_empty(cls, v: list, info: ValidationInfo) -> list:
        if not v:
            raise ValueError(f"{info.field_name} is empty; give at least one, e.g. {info.field_name}: "
                             f"[{EXAMPLES[info.field_name]}]")
        return v

    @field_validator("tasks")
    @classmethod
    def _task_keys(cls, v: list[str]) -> list[str]:
        """`t.yaml`, `./t.yaml` and its absolute path are one task (loaded once, stored under one key)."""
        from w2sg.tasks.keys import task_key

        return list(dict.fromkeys(task_key(t) for t in v))

    @field_validator("seeds")
    @classmethod
    def _seed_range(cls, v: list[int]) -> list[int]:
        for seed in v:
            if not 0 <= seed <= MAX_SEED:
                raise ValueError(f"seeds: seed {seed} is out of range; seeds must be integers in 0..{MAX_SEED}")
        return v

    @field_validator("grid")
    @classmethod
    def _grid_paths(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for path, values in v.items():
            head = path.split(".")[0]
            if head not in ("train", "splits", "method", "weak", "budget", "lock"):
                raise ValueError(f"grid axis '{path}' must start with train., splits., budget., lock., weak. "
                                 "(options of a supervisor mapping) or method.options.")
            _check_axis_path(path)
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid axis '{path}' needs a non-empty list of values")
        return v


def coerce_methods(v: Any) -> Any:
    """'naive,confidence' or ['naive', {'name': ..., 'options': ...}] -> a list of MethodSpec dicts."""
    if isinstance(v, str | dict | MethodSpec):
        v = [m.strip() for m in v.split(",") if m.strip()] if isinstance(v, str) else [v]
    return list(v)


def coerce_budgets(v: Any) -> Any:
    """'full,steps=64' or ['full', {'kind': 'steps', 'steps': 64}] -> a list of BudgetSpec dicts."""
    if isinstance(v, str):
        v = [b for b in v.split(";") if b.strip()] if ";" in v else [v]
    if isinstance(v, (dict, BudgetSpec)):
        v = [v]
    return [BudgetSpec.parse(b).model_dump() if isinstance(b, str) else b for b in v]


EXAMPLES = {"tasks": "sst2", "weak": "minilm", "strong": "mpnet", "methods": "naive", "seeds": "0",
            "budgets": "full"}
SECTIONS: dict[str, type[Spec]] = {"train": TrainSpec, "splits": SplitSpec, "budget": BudgetSpec,
                                   "lock": LockSpec}


def _did_you_mean(name: str, options) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _check_axis_path(path: str) -> None:
    """A grid axis names one field: train.X / splits.X / budget.X (a field of that section), method.options.X
    (checked against the methods in expand), method.name, or weak.X (an option of a supervisor mapping)."""
    keys = path.split(".")
    head = keys[0]
    if head in SECTIONS:
        fields = SECTIONS[head].model_fields
        if len(keys) < 2 or keys[1] not in fields:
            name = keys[1] if len(keys) > 1 else ""
            raise ValueError(f"grid axis '{path}': {head} has no field '{name}'{_did_you_mean(name, fields)}; "
                             f"{head} fields: {', '.join(fields)}")
        if len(keys) > 2:
            raise ValueError(f"grid axis '{path}': '{head}.{keys[1]}' is a value, not a section; vary it with the "
                             f"axis '{head}.{keys[1]}'")
    elif head == "method":
        if not (keys[1:] == ["name"] or (len(keys) == 3 and keys[1] == "options" and keys[2])):
            raise ValueError(f"grid axis '{path}': vary a method option with method.options.NAME (see `w2sg "
                             "methods` for each method's options), or list the methods under `methods`")
    elif head == "weak" and (len(keys) != 2 or not keys[1]):
        raise ValueError(f"grid axis '{path}': vary a supervisor option with weak.NAME (e.g. weak.error_rate; "
                         "see `w2sg supervisors`)")


def rung_size(model: str) -> float | None:
    """A zoo model's size in parameters (a classic rung 0, below every neural one); None for a path or Hub id."""
    from w2sg.models.zoo import MODELS, is_classic

    if is_classic(model):
        return 0.0  # below every neural rung
    recipe = MODELS.get(model)
    return float(recipe.params) if recipe else None


def _pair_ok(weak: Weak, strong: str, pairs: Pairs) -> bool:
    if pairs == "all":
        return True
    if not isinstance(weak, str):  # a supervisor kind: compared by the model it is built on, if any
        weak = weak.options.get("model")
        if weak is None:
            return True
    w, s = rung_size(weak), rung_size(strong)
    if w is None or s is None:
        raise ValueError(f"pairs='{pairs}' needs model sizes, but '{weak if w is None else strong}' is not a "
                         "zoo alias; use pairs: all for paths and Hub ids")
    return w < s if pairs == "weak_smaller" else w <= s


def _set_path(d: dict, path: str, value: Any) -> None:
    keys = path.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
        if not isinstance(d, dict):
            raise ValueError(f"grid axis '{path}': '{k}' is a value, not a section")
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


def _check_axes_apply(sweep: SweepSpec) -> None:
    """Every grid axis applies to some (method, supervisor): an axis that applies nowhere is a typo, not a no-op."""
    from w2sg.methods import get_method

    for path in sweep.grid:
        if any(_applies(path, m, w) for m in sweep.methods for w in sweep.weak):
            continue
        if path.startswith("weak."):
            raise ValueError(f"grid axis '{path}' applies to no cell: it sets an option of a weak supervisor given "
                             "as a mapping, but every weak supervisor of the sweep is a model name "
                             f"({', '.join(map(weak_label, sweep.weak))}); give a mapping, e.g. weak: [{{kind: "
                             "synthetic}]")
        option = path.split(".", 2)[2]
        fields = {m.name: list(get_method(m.name).config_cls.model_fields) for m in sweep.methods}
        known = "; ".join(f"{name}: {', '.join(f) or '(none)'}" for name, f in fields.items())
        raise ValueError(f"grid axis '{path}' applies to no cell: no method of the sweep has option '{option}'"
                         f"{_did_you_mean(option, {f for fs in fields.values() for f in fs})}. Options of the "
                         f"sweep's methods: {known}")


def expand(sweep: SweepSpec) -> list[ExperimentSpec]:
    """All cells, ordered for reuse: by task, hyperparameters and seed, then weak, strong, method."""
    _check_axes_apply(sweep)
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
                            if sweep.lock is not None:
                                d["lock"] = sweep.lock.model_dump()
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


def check_models(sweep: SweepSpec, cells: list[ExperimentSpec] | None = None,
                 resolve_model: Callable[[str], Any] | None = None) -> list[str]:
    """Before any work: every model of every cell resolves (an alias is pulled, a directory is a checkpoint, a
    Hub id is reachable or cached), and `train.max_length` fits in its position embeddings (read from the
    checkpoint's config.json; a Hub id not on disk is not checked). A max_length the spec sets (train.max_length,
    --max-length, a grid axis) above a model's limit is an error naming the model and the fix; the default one
    only gives a warning (returned), as texts shorter than the limit run fine. Classic rungs (tfidf) are built in
    and have no position limit: skipped."""
    from w2sg.models.classifier import checkpoint_position_limit
    from w2sg.models.zoo import is_classic, resolve
    from w2sg.supervisors import supervisor_models

    resolve_model = resolve_model or resolve
    explicit = "max_length" in sweep.train.model_fields_set or "train.max_length" in sweep.grid
    limits: dict[str, int | None] = {}
    warnings: dict[str, str] = {}
    for c in cells if cells is not None else expand(sweep):
        for model in dict.fromkeys([*supervisor_models(c), c.strong]):
            if is_classic(model):
                continue
            if model not in limits:
                limits[model] = checkpoint_position_limit(resolve_model(model).path)
            limit, n = limits[model], c.train.max_length
            if limit is None or n <= limit:
                continue
            if explicit:
                raise ValueError(f"--max-length (train.max_length) {n} is above the position limit of model "
                                 f"'{model}': {limit} tokens (from its config.json); use --max-length {limit} or less")
            warnings[model] = (f"train.max_length {n} (the default) is above the position limit of model '{model}': "
                               f"{limit} tokens; a text longer than that will fail: set --max-length {limit} "
                               "(train.max_length) or less")
    return list(warnings.values())


def cell_label(c: ExperimentSpec) -> str:
    """One grid cell as a log line names it: task, weak -> strong, method and seed."""
    return f"{c.task} {weak_label(c.weak)}->{c.strong} {c.method.label} seed={c.seed}"
