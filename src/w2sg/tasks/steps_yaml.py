"""The rows of a `kind: steps` YAML task read from files (tasks/steps_spec.py says the fields): one record is one
candidate solution, with its steps and a label per step; its rows come from chains.labelled_rows.

Step labels are 0/1 (or true/false; "0"/"1" and "true"/"false" in a CSV cell), or with `step_scale: prm800k` PRM800K
ratings -1/0/1 where a step counts as right iff its rating is >= 0 (0 is PRM800K's "neutral": acceptable). A -1
on the default scale is refused (0 would mean "wrong" there and "neutral" in PRM800K: the file must say which).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from w2sg.tasks.chains import labelled_rows
from w2sg.tasks.checks import describe
from w2sg.tasks.rows import MalformedRowError, field
from w2sg.tasks.schema import Example

__all__ = ["repeated_prefixes", "solution_rows"]

Value = Callable[..., str]  # (mapping, record, path, line, what) -> a field's or a template's text (yaml_task._value)
_TRUE, _FALSE = ("1", "true"), ("0", "false")


def _listed(value: Any, name: str, path: Path | str, line: int | None) -> list[Any]:
    """A record's list field; in a CSV cell, a JSON list."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise MalformedRowError(path, line, f"field '{name}' is not a JSON list ({e.msg}); write it as "
                                                "[\"first step\", \"second step\"]") from None
    if not isinstance(value, list):
        raise MalformedRowError(path, line, f"field '{name}' holds {describe(value)}: expected a list, one item per "
                                            "step (in a CSV cell a JSON list such as [\"2 + 3 = 5\", \"5 * 4 = 20\"])")
    return value


def _step_texts(value: Any, name: str, path: Path | str, line: int | None) -> list[str]:
    steps = _listed(value, name, path, line)
    if not steps:
        raise MalformedRowError(path, line, f"field '{name}' is an empty list: a solution needs at least one step "
                                            "(drop the record, or give its steps)")
    out = []
    for k, s in enumerate(steps, 1):
        if isinstance(s, bool) or not isinstance(s, str | int | float) or not str(s).strip():
            raise MalformedRowError(path, line, f"step {k} of field '{name}' is {describe(s)}: each step is a "
                                                "non-empty string")
        out.append(str(s).strip())
    return out


def _flag(value: Any) -> bool | None:
    """True/False from 0/1 or true/false (a bool, an int, or such a string), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _rating(value: Any) -> int | None:
    """A PRM800K rating -1, 0 or 1 (an int or such a string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value in (-1, 0, 1):
        return value
    if isinstance(value, str) and value.strip() in ("-1", "0", "1"):
        return int(value.strip())
    return None


def _step_ok(value: Any, n: int, spec: Any, path: Path | str, line: int | None) -> list[bool]:
    """Whether each of the n steps is right, from the record's step labels (one per step)."""
    name, steps = spec.step_labels, spec.steps
    assert name is not None
    labels = _listed(value, name, path, line)
    if len(labels) != n:
        raise MalformedRowError(path, line, f"field '{steps}' holds {n} steps but field '{name}' {len(labels)} "
                                            "labels: give one label per step (after the first wrong step any "
                                            "value will do: a step label is 1 only while every step so far is right)")
    prm = spec.step_scale == "prm800k"
    out = []
    for k, v in enumerate(labels, 1):
        if prm:
            rating = _rating(v)
            if rating is None:
                raise MalformedRowError(path, line, f"step {k}'s label in field '{name}' is {describe(v)}: with "
                                                    "step_scale: prm800k a label is a rating -1, 0 or 1 (a step "
                                                    "is right iff its rating is >= 0)")
            out.append(rating >= 0)
            continue
        ok = _flag(v)
        if ok is None:
            hint = (" -1 is a PRM800K rating: declare step_scale: prm800k (-1 wrong; 0 neutral and 1 good both "
                    "count as right)" if _rating(v) == -1 else "")
            raise MalformedRowError(path, line, f"step {k}'s label in field '{name}' is {describe(v)}: expected "
                                                f"0/1 or true/false.{hint}")
        out.append(ok)
    return out


def solution_rows(spec: Any, row: dict, path: Path | str, line: int | None, prefix: str, key: Any,
                  group: str, value: Value, solutions: dict[str, int | None]) -> list[Example]:
    """The rows of one record (one candidate solution `{prefix}/{id}`, id = the record's `id`, else its key):
    every step's prefix (labels: step) or the solution once (labels: outcome), with the solution's meta and the
    record's `meta` fields; `solutions` (id -> line) refuses an id seen before in the same file."""
    assert spec.problem and spec.steps and spec.outcome
    header = value(spec.problem, row, path, line, "problem").strip()
    lines = _step_texts(field(row, spec.steps, path, line), spec.steps, path, line)
    ok = _step_ok(field(row, spec.step_labels or "", path, line), len(lines), spec, path, line)
    outcome = _flag(field(row, spec.outcome, path, line))
    if outcome is None:
        raise MalformedRowError(path, line, f"field '{spec.outcome}' (the outcome) holds "
                                            f"{describe(row[spec.outcome])}: expected 0/1 or true/false")
    sid = value(spec.id, row, path, line, "id").strip() if spec.id else str(key)
    solution = f"{prefix}/{sid}"
    if solution in solutions:
        seen = solutions[solution]
        raise MalformedRowError(path, line, f"solution id '{sid}' (field '{spec.id}') repeats the one of "
                                            f"{'line ' + str(seen) if seen is not None else 'an earlier record'}: "
                                            "each record is one solution, with an id of its own")
    solutions[solution] = line
    rows = labelled_rows(header, lines, ok, outcome, group, solution, spec.labels or "step")
    if spec.meta:
        for name in spec.meta:
            if name not in row:
                field(row, name, path, line)  # raises: the record lacks the field
        extra = tuple((n, "" if row[n] is None else str(row[n])) for n in spec.meta)
        rows = [dataclasses.replace(r, meta=(*(r.meta or ()), *extra)) for r in rows]
    return rows


def repeated_prefixes(rows: list[Example], where: str) -> str | None:
    """A note when rows of different solutions have the same text (solutions of one problem that begin with the
    same steps under the same header): loading keeps one row of each text, so those solutions lose rows."""
    counts = Counter(r.text for r in rows)
    n = sum(c - 1 for c in counts.values() if c > 1)
    if not n:
        return None
    return (f"{where}: {n} rows repeat the text of another solution's rows (solutions of one problem that begin "
            f"with the same steps); loading keeps the first of each text, so those solutions lose rows: put the "
            f"candidate in 'problem' (e.g. \"{{question}}\\nSolution {{sid}}:\") to keep every solution whole")
