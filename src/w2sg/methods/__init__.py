"""W2S methods (`w2sg methods`): one file per family, each registering its methods when this package is
imported. A method trains the strong student from weak labels; methods compose as chains (adapters first)."""

from w2sg.methods import generative, naive, relabel, selection  # noqa: F401  (register the built-in methods)
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

__all__ = ["METHODS", "Method", "MethodConfig", "StudentContext", "WeakLabelled", "check_method", "get_method",
           "is_oracle", "list_methods", "register_method", "run_method"]
