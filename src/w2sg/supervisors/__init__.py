"""Weak supervisors (`w2sg supervisors`): one file per kind in this package, each registering its kind with
`@register_supervisor` when imported. Every module here is imported on first use of the package, so adding a
kind is adding a file (see CONTRIBUTING.md).

`weak:` in a spec is a model alias or path (the `model` kind) or a mapping `{kind: ..., ...}`:
model, ensemble, chain (bootstrapping through intermediate rungs) and synthetic (controlled label noise).
"""

from w2sg.plugins import import_modules
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

import_modules(__name__, __path__)  # each module registers what it defines

__all__ = ["SUPERVISORS", "Supervision", "SupervisionContext", "Supervisor", "SupervisorConfig",
           "check_supervisor", "get_supervisor", "list_supervisors", "register_supervisor", "resolve_supervisor",
           "supervisor_models"]
