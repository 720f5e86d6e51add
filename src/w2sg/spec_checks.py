"""Checks shared by the specs and the option classes of supervisors and methods: finite numbers in free-form
options, numbers written as text, and the error for options a config class refuses."""

from __future__ import annotations

import math
from typing import Any

MAX_STEPS = 10_000_000  # optimiser steps of a budget: more is a typo (1e12 steps would never finish)
MAX_EPOCHS = 100_000


class OptionsError(ValueError):
    """Options of a supervisor kind or a method that its config class refuses. `path` is where the options sit
    in a spec ('weak', 'methods'), `owner` names their owner ("weak supervisor 'ensemble'"), `error` is the
    pydantic ValidationError of `config_cls`, `listing` the command that lists the options. The message is
    one line per bad option; the command line names the flag or YAML key the options came from."""

    def __init__(self, path: str, owner: str, error, config_cls: type, listing: str):
        self.path, self.owner, self.error, self.config_cls, self.listing = path, owner, error, config_cls, listing
        lines = []
        for err in error.errors(include_url=False):
            where = ".".join(str(x) for x in err["loc"]) or "options"
            lines.append(f"{owner}: invalid options: {where}: {err['msg']} (got {short_repr(err.get('input'))}); "
                         f"see the options listed by `{listing}`")
        super().__init__("\n".join(lines))


def short_repr(v: Any, width: int = 60) -> str:
    text = repr(v)
    return text if len(text) <= width else text[: width - 3] + "..."


def integer_text(v: str, whole: str) -> int:
    """An integer given as text in a budget ('256', or '1e6': an integer written as a float)."""
    try:
        return int(v)
    except ValueError:
        pass
    try:
        x = float(v)
        if math.isfinite(x) and x == int(x):
            return int(x)
    except ValueError:
        pass
    raise ValueError(f"budget '{whole}': '{v}' is not an integer")


def number_or_word(v: Any, name: str, words: tuple[str, ...], most: float = math.inf) -> Any:
    """A finite number in [0, most] (also as text, e.g. '1e-3') or one of `words` (an L2 setting, an error
    rate); checked before the union is tried, so nan and inf get this message rather than one per member."""
    if isinstance(v, str) and v in words:
        return v
    try:
        x = float(v)
    except (TypeError, ValueError):
        x = None
    if x is None or isinstance(v, bool) or not (math.isfinite(x) and 0 <= x <= most):
        choices = ", ".join(f"'{w}'" for w in words)
        bound = ">= 0" if most == math.inf else f"in [0, {most:g}]"
        raise ValueError(f"{name} must be a finite number {bound} or {choices}, got {v!r}")
    return v


def finite_values(v: Any, title: str, loc: tuple = ()) -> Any:
    """`v` unchanged, or a pydantic ValidationError at the first inf or nan inside it (its loc: the keys down to
    it). Free-form options are typed `Any`, so allow_inf_nan=False does not reach them; a spec dumped to JSON
    writes both as null, where they would hash like each other and like a missing value."""
    from pydantic_core import ValidationError

    if isinstance(v, float) and not math.isfinite(v):
        raise ValidationError.from_exception_data(title, [{"type": "finite_number", "loc": loc, "input": v}])
    if isinstance(v, dict):
        for k, x in v.items():
            finite_values(x, title, (*loc, str(k)))
    elif isinstance(v, list | tuple):
        for i, x in enumerate(v):
            finite_values(x, title, (*loc, i))
    return v
