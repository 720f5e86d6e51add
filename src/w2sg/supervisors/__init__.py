"""Weak supervisors (`w2sg supervisors`): one file per kind, each registered when this package is imported.

`weak:` in a spec is a model alias or path (the `model` kind) or a mapping `{kind: ..., ...}`:
model, ensemble, chain (bootstrapping through intermediate rungs) and synthetic (controlled label noise).
"""

from w2sg.supervisors import chain, ensemble, model, synthetic  # noqa: F401  (register the built-in kinds)
from w2sg.supervisors.base import Supervision, SupervisionContext, Supervisor, SupervisorConfig
from w2sg.supervisors.registry import (
    SUPERVISORS,
    check_supervisor,
    get_supervisor,
    list_supervisors,
    register_supervisor,
    resolve_supervisor,
    supervisor_models,
)

__all__ = ["SUPERVISORS", "Supervision", "SupervisionContext", "Supervisor", "SupervisorConfig",
           "check_supervisor", "get_supervisor", "list_supervisors", "register_supervisor", "resolve_supervisor",
           "supervisor_models"]
