"""W2S methods (`w2sg methods`): one file per family in this package, each registering its methods with
`@register_method` when imported. Every module here is imported on first use of the package, so adding a
method is adding a file (see CONTRIBUTING.md). Methods compose as chains (adapters first)."""

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
from w2sg.plugins import import_modules

import_modules(__name__, __path__)  # each module registers what it defines

__all__ = ["METHODS", "Method", "MethodConfig", "StudentContext", "WeakLabelled", "check_method", "get_method",
           "is_oracle", "list_methods", "register_method", "run_method"]
