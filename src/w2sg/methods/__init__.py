"""The registry of W2S methods: each is a small config class plus a function that trains a student."""

from __future__ import annotations

from w2sg.methods.base import Method, MethodConfig, StudentContext, WeakLabelled

METHODS: dict[str, Method] = {}


def register_method(name: str, description: str, config_cls: type[MethodConfig] = MethodConfig,
                    modes: tuple[str, ...] = ("frozen", "full", "lora"), oracle: bool = False, precheck=None):
    """Decorator: register `fn(ctx, transfer, val, cfg) -> trained Learner` under `name`.

    `precheck(cfg, spec) -> str | None` returns why an experiment spec cannot run this method (checked before
    any work is done), e.g. bootstrapping without extra transfer rows."""

    def deco(fn):
        if name in METHODS:
            raise ValueError(f"method '{name}' is registered twice")
        if oracle != name.endswith("_oracle"):
            raise ValueError(f"method '{name}': oracle methods (and only they) are named '*_oracle'")
        METHODS[name] = Method(name, description.strip(), config_cls, fn, modes, oracle, precheck)
        return fn

    return deco


def get_method(name: str) -> Method:
    _load_builtin()
    if name not in METHODS:
        raise ValueError(f"method '{name}' not found; known methods: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def check_method(spec) -> tuple[Method, MethodConfig]:
    """Validate an ExperimentSpec's method and budget before any work: known name, valid options, a mode the
    method supports, its prerequisites, and a budget it can run under. Errors name the input and the fix."""
    from pydantic import ValidationError

    method = get_method(spec.method.name)
    try:
        cfg = method.config_cls.model_validate(spec.method.options)
    except ValidationError as e:
        raise ValueError(f"method '{method.name}': invalid options {spec.method.options}: {e}; see the options "
                         f"listed by `w2sg methods`") from None
    if spec.train.mode not in method.modes:
        raise ValueError(f"method '{method.name}' cannot run in {spec.train.mode} mode (it supports: "
                         f"{', '.join(method.modes)}); set train.mode to one of those or pick another method")
    problem = method.precheck(cfg, spec) if method.precheck else None
    if problem:
        raise ValueError(f"method '{method.name}': {problem}")
    budget = getattr(spec, "budget", None)
    if budget is not None and budget.kind.startswith("early_stop"):
        if method.name.startswith("early_stop"):
            raise ValueError(f"method '{method.name}' selects its own checkpoint; use it with budget 'full' (or "
                             f"'steps=N'), or use method 'naive' with budget '{budget.kind}'")
        if spec.splits.n_val == 0:
            raise ValueError(f"budget '{budget.kind}' needs the validation split V: set --n-val > 0")
    return method, cfg


def list_methods() -> list[Method]:
    _load_builtin()
    return [METHODS[k] for k in sorted(METHODS)]


def _load_builtin() -> None:
    from w2sg.methods import bootstrap, ensemble, generative, naive, relabel, selection  # noqa: F401  (they register on import)


__all__ = ["Method", "MethodConfig", "StudentContext", "WeakLabelled", "check_method", "get_method", "list_methods",
           "register_method", "METHODS"]
