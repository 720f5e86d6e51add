"""w2sg: weak-to-strong generalization experiments with real models, real data and PGR with uncertainty.

The Python API (`w2sg.api`), imported on first use so that `import w2sg` stays cheap:

    w2sg.run(task="sst2", weak="minilm", strong="mpnet", ...)  -> w2sg.api.Run (typed results)
    w2sg.sweep("grid.yaml", workdir=...)                       -> w2sg.api.Sweep
    w2sg.results("w2sg-runs")                                  -> a pandas DataFrame, one row per experiment
    w2sg.results("w2sg-runs", summary=True)                    -> the `w2sg results --summary` rows

`w2sg.sweep` is also the subpackage of sweeps (`from w2sg.sweep import SweepSpec` works as before): the package
module is made callable, calling `w2sg.api.sweep`.
"""

from __future__ import annotations

import sys
import types

__version__ = "0.1.0"
__all__ = ["__version__", "frame", "results", "run", "summary", "sweep"]

_API = ("run", "results", "frame", "summary")


def __getattr__(name: str):
    if name in _API:
        from w2sg import api

        return getattr(api, name)
    if name == "sweep":  # the subpackage, callable (see _Package)
        import importlib

        return importlib.import_module("w2sg.sweep")
    raise AttributeError(f"module 'w2sg' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API, "sweep"})


class _CallableSweep(types.ModuleType):
    """The `w2sg.sweep` subpackage, which is also the function `w2sg.api.sweep`."""

    def __call__(self, *args, **kwargs):
        from w2sg.api import sweep

        return sweep(*args, **kwargs)


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value) -> None:
        # the import system sets `w2sg.sweep` to the subpackage once it is loaded: make that module callable
        if name == "sweep" and type(value) is types.ModuleType:
            value.__class__ = _CallableSweep
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
