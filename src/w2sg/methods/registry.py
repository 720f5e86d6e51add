"""The registry of W2S methods: each is a small config class plus a function that trains a student.

Methods register with `@register_method`; `run_method` runs a spec's method chain (adapters first, then the
method that trains the student)."""

from __future__ import annotations

from w2sg.config import OptionsError
from w2sg.methods.base import Method, MethodConfig, StudentContext, WeakLabelled
from w2sg.train.budget import check_budget

METHODS: dict[str, Method] = {}

# methods that became something else: the name stays an error that says where it went
MOVED = {
    "weak_ensemble": "the ensemble is now a supervisor kind: use weak: {kind: ensemble, model: <weak>, members: "
                     "5, models: [...]} and method naive",
    "bootstrap": "bootstrapping is now a supervisor kind: use weak: {kind: chain, model: <weak>, rungs: [...]} "
                 "and method naive (with splits.n_extra >= 2 x rungs)",
}


def register_method(name: str, description: str, config_cls: type[MethodConfig] = MethodConfig,
                    modes: tuple[str, ...] = ("frozen", "full", "lora"), oracle: bool = False, precheck=None,
                    adapter: bool = False):
    """Decorator: register `fn(ctx, transfer, val, cfg) -> trained Learner` under `name` (an `adapter`
    returns a new StudentContext for the next stage of a method chain instead).

    `precheck(cfg, spec) -> str | None` returns why an experiment spec cannot run this method (checked before
    any work is done), e.g. early stopping without a validation split."""

    def deco(fn):
        if name in METHODS:
            raise ValueError(f"method '{name}' is registered twice")
        if oracle != name.endswith("_oracle"):
            raise ValueError(f"method '{name}': oracle methods (and only they) are named '*_oracle'")
        METHODS[name] = Method(name, description.strip(), config_cls, fn, modes, oracle, precheck, adapter)
        return fn

    return deco


def get_method(name: str) -> Method:
    if name in MOVED and name not in METHODS:
        raise ValueError(f"method '{name}' was removed: {MOVED[name]}")
    if name not in METHODS:
        raise ValueError(f"method '{name}' not found; known methods: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def _stage(spec, m) -> tuple[Method, MethodConfig]:
    from pydantic import ValidationError

    method = get_method(m.name)
    try:
        cfg = method.config_cls.model_validate(m.options)
    except ValidationError as e:
        raise OptionsError("methods", f"method '{method.name}'", e, method.config_cls, "w2sg methods") from None
    if spec.train.mode not in method.modes:
        raise ValueError(f"method '{method.name}' cannot run in {spec.train.mode} mode (it supports: "
                         f"{', '.join(method.modes)}); set train.mode to one of those or pick another method")
    problem = method.precheck(cfg, spec) if method.precheck else None
    if problem:
        raise ValueError(f"method '{method.name}': {problem}")
    return method, cfg


def check_method(spec) -> list[tuple[Method, MethodConfig]]:
    """Validate an ExperimentSpec's method chain and budget before any work: known names, valid options, a
    mode each stage supports, their prerequisites, adapters first and a student-training method last, and a
    budget the method can run under. Errors name the input and the fix. Returns the stages."""
    stages = [_stage(spec, m) for m in spec.method.stages()]
    for i, (method, _) in enumerate(stages):
        last = i == len(stages) - 1
        if method.adapter and last:
            raise ValueError(f"method '{method.name}' adapts the strong model and must be followed by a method "
                             f"that trains the student, e.g. '{method.name}+naive'")
        if not method.adapter and not last:
            raise ValueError(f"method '{method.name}' trains the student, so it must be the last stage of "
                             f"'{spec.method.label}' (only adapters such as generative_finetune come before)")
    check_budget(getattr(spec, "budget", None), stages[-1][0].name, spec.splits.n_val)
    return stages


def is_oracle(stages: list[tuple[Method, MethodConfig]]) -> bool:
    return any(m.oracle for m, _ in stages)


def run_method(stages: list[tuple[Method, MethodConfig]], ctx: StudentContext, transfer: WeakLabelled,
               val: WeakLabelled):
    """Run a checked method chain: each adapter returns the context of the next stage; the last trains."""
    for method, cfg in stages[:-1]:
        ctx = method.fn(ctx, transfer, val, cfg)
        if not isinstance(ctx, StudentContext):
            raise TypeError(f"adapter '{method.name}' must return a StudentContext, got {type(ctx).__name__}")
    method, cfg = stages[-1]
    return method.fn(ctx, transfer, val, cfg)


def list_methods() -> list[Method]:
    return [METHODS[k] for k in sorted(METHODS)]
