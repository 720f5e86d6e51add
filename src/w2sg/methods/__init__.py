"""W2S methods (`w2sg methods`): one file per family in this package, each registering its methods with
`@register_method` when imported. Every module here is imported on first use of the package, so adding a
method is adding a file (see CONTRIBUTING.md). Methods compose as chains (adapters first)."""

import importlib
import pkgutil

from w2sg.methods.base import Method, MethodConfig, StudentContext, WeakLabelled
from w2sg.methods.registry import (
    METHODS,
    check_method,
    get_method,
    is_oracle,
    list_methods,
    register_method,
    run_method,
)

for _m in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _m not in ("base", "registry"):
        importlib.import_module(f"{__name__}.{_m}")  # registers the methods it defines

__all__ = ["METHODS", "Method", "MethodConfig", "StudentContext", "WeakLabelled", "check_method", "get_method",
           "is_oracle", "list_methods", "register_method", "run_method"]
