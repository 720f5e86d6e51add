"""The registry of W2S methods: each is a small config class plus a function that trains a student."""

from __future__ import annotations

from w2sg.methods.base import Method, MethodConfig, StudentContext, WeakLabelled

METHODS: dict[str, Method] = {}


def register_method(name: str, description: str, config_cls: type[MethodConfig] = MethodConfig,
                    modes: tuple[str, ...] = ("frozen", "full", "lora"), oracle: bool = False):
    """Decorator: register `fn(ctx, transfer, val, cfg) -> trained Learner` under `name`."""

    def deco(fn):
        if name in METHODS:
            raise ValueError(f"method '{name}' is registered twice")
        if oracle != name.endswith("_oracle"):
            raise ValueError(f"method '{name}': oracle methods (and only they) are named '*_oracle'")
        METHODS[name] = Method(name, description.strip(), config_cls, fn, modes, oracle)
        return fn

    return deco


def get_method(name: str) -> Method:
    _load_builtin()
    if name not in METHODS:
        raise ValueError(f"method '{name}' not found; known methods: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def list_methods() -> list[Method]:
    _load_builtin()
    return [METHODS[k] for k in sorted(METHODS)]


def _load_builtin() -> None:
    from w2sg.methods import bootstrap, naive, relabel, selection  # noqa: F401  (they register on import)


__all__ = ["Method", "MethodConfig", "StudentContext", "WeakLabelled", "get_method", "list_methods",
           "register_method", "METHODS"]
