"""Checks on a task's rows: what a data file may hold but a task cannot use (a note) or cannot run on (an error).

- multiple choice: every question (the candidates sharing a question key: `question:`, else the group) has
  exactly one correct answer; questions with none or several are counted in a note (per-question accuracy,
  `q_acc`, skips them); when many groups without question keys hold several correct answers, they are probably
  several questions each (a passage's): the note says to name them with `question:`;
- pairwise: a pair whose chosen and rejected responses are the same text states no preference: counted in a note,
  an error when every pair of a file is such (the task would sit at chance);
- binary and multiple choice: a pool or test file whose rows are all of one class cannot be split into splits
  of two classes: an error when it is split (no seed or split size can help);
- a float label 0.0 / 1.0: the error says which `label_map` reads it.

Messages name files, line (or Hub row) numbers and fields, never the rows' values.
"""

from __future__ import annotations

import re
from typing import Any

from w2sg.tasks.schema import Example

__all__ = ["SHOWN", "choice_note", "describe", "float_label_hint", "identical_pairs", "one_class_error",
           "numbered", "several_questions_hint"]

SHOWN = 5  # row numbers named in a note or an error
SEVERAL_SHARE = 0.1  # groups with several correct answers, as a share of all: probably several questions each


def numbered(lines: list[int | None], unit: str = "lines") -> str:
    """' (lines 3, 7, 9, ...)': the first SHOWN known numbers, or '' when none is known."""
    known = sorted({n for n in lines if n is not None})
    if not known:
        return ""
    return f" ({unit} {', '.join(map(str, known[:SHOWN]))}{', ...' if len(known) > SHOWN else ''})"


def describe(value: Any) -> str:
    """What a value is, without its content: 'a string of 7 characters', 'a number', 'a list of 3 items'."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "an empty string" if not value.strip() else f"a string of {len(value)} characters"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} items"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


_FLOAT01 = re.compile(r"[01]\.0*")


def float_label_hint(value: Any, field: str) -> str | None:
    """For a label written as a float 0/1 (0.0, 1.0, "1.00"): the label_map that reads it, as YAML; else None."""
    if isinstance(value, float) and value in (0.0, 1.0):
        spelled = str(value)
    elif isinstance(value, str) and _FLOAT01.fullmatch(value.strip()):
        spelled = value.strip()
    else:
        return None
    zero, one = "0" + spelled[1:], "1" + spelled[1:]
    return (f"the labels in field '{field}' are written as floats ({zero} / {one}); read them as 0/1 by adding "
            f"to the task spec: label_map: {{\"{zero}\": 0, \"{one}\": 1}}")


def choice_note(rows: list[Example], lines: list[int | None], where: str, unit: str) -> str | None:
    """A note when some multiple-choice questions (rows sharing a `question_key`: the row's `question`, else its
    group) of one file do not have exactly one correct answer (a correct answer repeated in the same words counts
    once: loading keeps one copy). When many groups without question keys hold several correct answers, the note
    says that a group of several questions (a passage's) needs `question:` to be scored per question."""
    correct: dict[str, set[str]] = {}
    first: dict[str, int | None] = {}
    for r, line in zip(rows, lines, strict=True):
        texts = correct.setdefault(r.question_key, set())
        if r.label == 1:
            texts.add(" ".join(r.text.split()))
        first.setdefault(r.question_key, line)
    none = [g for g, t in correct.items() if not t]
    several = [g for g, t in correct.items() if len(t) > 1]
    if not none and not several:
        return None
    bad = none + several
    note = (f"{where}: {len(bad)} of {len(correct)} questions do not have exactly one correct answer "
            f"({len(none)} with none, {len(several)} with several){numbered([first[g] for g in bad], unit)}; "
            "per-question accuracy (q_acc) skips them; check the spec's 'correct' (or 'label' and 'group')")
    return note + several_questions_hint(rows, {g: len(correct[g]) for g in several}, first, unit)


def several_questions_hint(rows: list[Example], several: dict[str, int], first: dict[str, int | None],
                           unit: str) -> str:
    """'' unless rows without a question key (`question:`) have groups holding several correct answers
    (`several`: group -> number of correct answers), at least SEVERAL_SHARE of all their groups: then the hint
    that such groups are probably several questions each (a passage's) and that per-question scores need
    `question:`. (A few such groups are more likely a question repeated with another answer.)"""
    plain = {r.group for r in rows if r.question is None}
    groups = plain & set(several)
    if not groups or len(groups) < SEVERAL_SHARE * len(plain):
        return ""
    most = max(several[g] for g in groups)
    return (f". {len(groups)} groups hold several correct answers (up to {most})"
            f"{numbered([first[g] for g in groups], unit)}: per-question scores need `question:`; if a group "
            "holds several questions (e.g. a passage's), keep `group:` as the split unit and name the question "
            "key in `question:`")


def identical_pairs(rows: list[Example], lines: list[int | None], where: str, unit: str,
                    fields: tuple[str, str]) -> str | None:
    """A note naming the pairs of one file whose two responses are the same text (whitespace aside); a ValueError
    when every pair is such."""
    same = [line for r, line in zip(rows, lines, strict=True)
            if r.pair is not None and " ".join(r.pair.a.split()) == " ".join(r.pair.b.split())]
    if not same:
        return None
    chosen, rejected = fields
    if len(same) == len(rows):
        raise ValueError(f"{where}: in all {len(rows)} pairs the responses '{chosen}' and '{rejected}' are the "
                         f"same text, so no pair states a preference; map chosen and rejected to two different "
                         "fields or templates")
    return (f"{where}: {len(same)} of {len(rows)} pairs have the same text as '{chosen}' and '{rejected}'"
            f"{numbered(same, unit)}; they state no preference")


def one_class_error(name: str, part: str, rows: list[Example], source: str) -> str | None:
    """The error message for a pool or test file (`part`) of text rows that are all of one class; else None."""
    if not rows or any(r.pair is not None for r in rows):
        return None
    classes = {r.label for r in rows}
    if len(classes) != 1:
        return None
    (only,) = classes
    return (f"task '{name}': all {len(rows)} rows of its {part} are of class {only} (source: {source}): a task "
            "needs rows of both classes; check its labels (the label field, label_map or transform rule)")
