"""Validation errors as one line per bad field, named by what the user typed: the flag (`--n-val`, `-b`), the
`--set` path, or the YAML file and key, with the allowed range and the value given. Never pydantic's
multi-line dump or its documentation links."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from w2sg.config import OptionsError
from w2sg.spec_checks import short_repr
from w2sg.sweep.grid import SINGULAR

LISTS = {"tasks", "strong", "methods", "seeds", "budgets"}  # list axes (weak too, but --set weak.X reaches in)
MISMATCH = {"string_type", "model_type", "model_attributes_type", "dict_type", "int_type", "float_type",
            "bool_type", "list_type", "is_instance_of", "literal_error"}  # a union member that did not fit


@dataclass(frozen=True)
class Source:
    """Where a spec path got its value: `kind` 'flag' (label '--n-val'), 'set' (--set) or 'config' (label:
    the YAML file)."""

    path: tuple[str, ...]
    kind: str
    label: str = ""


class SpecError(ValueError):
    """A ValidationError or OptionsError with the sources of the spec's values, for naming the bad fields."""

    def __init__(self, error: ValidationError | OptionsError, sources: list[Source] | None = None):
        self.error, self.sources = error, list(sources or [])
        super().__init__("\n".join(field_lines(error, self.sources)))


def expand_named(spec, sources=None):
    """`sweep.expand`, its validation errors naming the flag, --set path or YAML key of each bad field."""
    from w2sg.sweep import expand

    try:
        return expand(spec)
    except (ValidationError, OptionsError) as e:
        raise SpecError(e, sources) from None


def load_sweep(path):
    """(the sweep YAML as a SweepSpec, the sources of its keys); validation errors name the file and key of
    each bad field."""
    from w2sg.config_io import read_yaml_mapping
    from w2sg.sweep import SweepSpec

    data = read_yaml_mapping(path)
    sources = [Source((), "config", str(path)), *(Source(spec_path(k), "config", str(path)) for k in data)]
    try:
        return SweepSpec.model_validate(data), sources
    except ValidationError as e:
        raise SpecError(e, sources) from None


def spec_path(dotted: str) -> tuple[str, ...]:
    """'task' -> ('tasks',), 'train.lr' -> ('train', 'lr'): a path as the sweep spec names it."""
    keys = dotted.split(".")
    return (SINGULAR.get(keys[0], keys[0]), *keys[1:])


def field_lines(e: Exception, sources: list[Source] | None = None) -> list[str]:
    """One line per bad field of a ValidationError, OptionsError or SpecError."""
    if isinstance(e, SpecError):
        return field_lines(e.error, e.sources)
    sources = sources or []
    if isinstance(e, OptionsError):
        prefix, root, owner = tuple(e.path.split(".")), e.config_cls, f"{e.owner}: "
        errors, tail = e.error.errors(include_url=False), f"; see the options listed by `{e.listing}`"
    elif isinstance(e, ValidationError):
        prefix, root, owner, tail = (), _spec_class(e.title), "", ""
        errors = e.errors(include_url=False)
    else:
        return [str(e)]
    groups: dict[tuple[str, ...], list[tuple[dict, Any]]] = {}
    for err in _fitting_members(errors):
        path, info, parent = _walk(root, err["loc"], err["type"] == "extra_forbidden")
        groups.setdefault(path, []).append((err, (info, parent)))
    lines = []
    for path, errs in groups.items():
        if len(errs) > 1 and any(err["type"] not in MISMATCH for err, _ in errs):
            errs = [(err, f) for err, f in errs if err["type"] not in MISMATCH]  # the union member that fitted
        phrases = list(dict.fromkeys(_phrase(err, *found, path) for err, found in errs))
        if isinstance(e, OptionsError):
            phrases = [p.replace("unknown field", "unknown option").replace("; fields:", "; options:") for p in phrases]
        text = phrases[0] + "".join(", or " + p.removeprefix("must be ") for p in phrases[1:])
        value = errs[0][0].get("input")
        if errs[0][0]["type"] not in ("value_error", "assertion_error", "missing", "extra_forbidden"):
            text += f" (got {short_repr(value)})"
        name = _name(prefix + path, sources)
        lines.append(f"{name}: {owner}{text}{tail}" if name else f"{owner}{text}{tail}")
    return lines


def _fitting_members(errors: list[dict]) -> list[dict]:
    """Without the errors of union members that did not fit the value's type (a mapping given where a
    supervisor may be a string or a mapping) when another member fitted and found the real problem."""
    out = []
    for err in errors:
        loc = err["loc"]
        if err["type"] in MISMATCH and loc and isinstance(loc[-1], str) and _is_tag(loc[-1]):
            base = loc[:-1]
            if any(o["loc"][: len(base)] == base and o["type"] not in MISMATCH for o in errors):
                continue
        out.append(err)
    return out


def _spec_class(title: str) -> type[BaseModel] | None:
    from w2sg import config
    from w2sg.sweep import grid

    cls = getattr(config, title, None) or getattr(grid, title, None)
    return cls if isinstance(cls, type) and issubclass(cls, BaseModel) else None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if found := _model_in(arg):
            return found
    return None


def _walk(root: type[BaseModel] | None, loc: tuple, keep_last: bool):
    """(field names along `loc`, the last field's FieldInfo, the model class holding it): list indices and
    union member tags ('str', "literal['cv']", 'function-after[...]', a model's name) are dropped; keys under a
    free-form mapping (method options, a supervisor's options) are kept, and so is an unknown key where it is
    the error (extra_forbidden)."""
    names: list[str] = []
    cls, info, parent, free = root, None, root, root is None
    for i, item in enumerate(loc):
        if isinstance(item, int) or _is_tag(item):
            continue
        if cls is not None and item in cls.model_fields:
            parent, info = cls, cls.model_fields[item]
            names.append(item)
            cls = _model_in(info.annotation)
            free = cls is None and "dict" in str(info.annotation)
        elif free or (keep_last and i == len(loc) - 1) or (cls is not None and cls.model_config.get("extra") ==
                                                              "allow"):
            names.append(str(item))
            parent, info, cls, free = cls, None, None, True
    return tuple(names), info, parent


def _is_tag(item: str) -> bool:
    return "[" in item or item in ("str", "int", "float", "bool", "none", "dict", "list") or item[:1].isupper() and \
        item.endswith(("Spec", "Config"))


def _range(info) -> str:
    """'in [1, 32]', '>= 0', '> 0', ... from a field's constraints ('' if it has none)."""
    if info is None:
        return ""
    b = {k: getattr(m, k) for m in info.metadata for k in ("ge", "gt", "le", "lt") if getattr(m, k, None) is not None}
    low = ("[", b["ge"]) if "ge" in b else ("(", b["gt"]) if "gt" in b else None
    high = (b["le"], "]") if "le" in b else (b["lt"], ")") if "lt" in b else None
    if low and high:
        return f"in {low[0]}{low[1]}, {high[0]}{high[1]}"
    if low:
        return f"{'>=' if low[0] == '[' else '>'} {low[1]}"
    if high:
        return f"{'<=' if high[1] == ']' else '<'} {high[0]}"
    return ""


def _phrase(err: dict, info, parent, path: tuple[str, ...]) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    rng = _range(info)
    within = f" {rng}" if rng else ""
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()), "")
        return f"must be {rng or f'{op} {bound}'}"
    if kind == "finite_number":
        return f"must be a finite number{within} (not inf or nan)"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be an integer{within}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number{within}"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind == "string_type":
        return "must be a string"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        fields = list(_model_in(info.annotation).model_fields)[:4] if info and _model_in(info.annotation) else []
        example = f", e.g. --set {'.'.join(path)}.{fields[0]}=..." if fields else ""
        return f"must be a mapping of its fields ({', '.join(fields)}, ...){example}" if fields else \
            "must be a mapping"
    if kind == "list_type":
        return "must be a list"
    if kind in ("too_short", "string_too_short"):
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"needs at least {least}"
    if kind in ("too_long", "string_too_long"):
        return f"takes at most {ctx.get('max_length')}"
    if kind == "extra_forbidden":
        known = list(parent.model_fields) if parent is not None else []
        close = difflib.get_close_matches(path[-1] if path else "", known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown field '{path[-1] if path else ''}'{hint}" + (f"; fields: {', '.join(known)}" if known else "")
    if kind == "missing":
        return "is required"
    msg = str(err.get("msg", ""))
    for head in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(head)
    return msg


def _name(path: tuple[str, ...], sources: list[Source]) -> str:
    """How the user wrote the spec path `path`: the flag, '--set path', 'FILE: path', or the dotted path."""
    if not path:
        return ""
    dotted = ".".join(path)
    norm = (SINGULAR.get(path[0], path[0]), *path[1:])
    hits = [s for s in sources if norm[: len(s.path)] == s.path]
    if not hits:
        return dotted
    src = hits[-1]  # a later source overrides what an earlier one set under its path
    given = ".".join(src.path)
    if src.kind == "flag":
        return src.label if norm == src.path else f"{src.label} ({dotted})"
    if norm[0] in LISTS:  # inside a list (methods: [{name: x, options: {...}}]): no dotted path reaches it
        dotted = given
    return f"--set {dotted}" if src.kind == "set" else f"{src.label}: {dotted}"
