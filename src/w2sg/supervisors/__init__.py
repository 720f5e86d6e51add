"""Weak supervisors (`w2sg supervisors`): one file per kind in this package, each registering its kind with
`@register_supervisor` when imported. Every module here is imported on first use of the package, so adding a
kind is adding a file (see CONTRIBUTING.md).

`weak:` in a spec is a model alias or path (the `model` kind) or a mapping `{kind: ..., ...}`:
model, ensemble, chain (bootstrapping through intermediate rungs) and synthetic (controlled label noise).
"""

import importlib
import pkgutil

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

for _m in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _m not in ("base", "registry"):
        importlib.import_module(f"{__name__}.{_m}")  # registers the kind it defines

__all__ = ["SUPERVISORS", "Supervision", "SupervisionContext", "Supervisor", "SupervisorConfig",
           "check_supervisor", "get_supervisor", "list_supervisors", "register_supervisor", "resolve_supervisor",
           "supervisor_models"]
