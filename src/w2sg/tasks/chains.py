"""Step-labelled arithmetic chains, generated (seeded, no download): the data of process vs outcome supervision.

A problem is a start value and L operations ("Start with 7. Add 5. Multiply by 3."). Each problem has N
candidate solutions written one step per line ("7 + 5 = 12"), each drawn independently as

- correct: every step right;
- slip (rate `slip`): one step's result is wrong and the later steps compute correctly from the wrong value,
  so the final answer is wrong;
- compensating (rate `rho`): one step's result is wrong and a later step brings the chain back to the true
  value, either with wrong arithmetic ("13 * 3 = 36") or by silently using the true value instead of the
  line above (an unfaithful step): the final answer is right and the trace is not, the case where outcome and
  process labels disagree (Uesato et al. 2022).

Every label comes from exact evaluation of the written lines (`step_correct`), never from how a candidate was
drawn: a step is right iff its left operand is the previous line's result (the start value for step 1), its
operation and operand are the problem's, and its arithmetic is right. A step task's label is "every step so far
is right" (PRM800K labels steps up to the first error; the later steps, all 0 here, are implied by them); an
outcome task's label is "the final answer equals the true value". Knobs: chain lengths, operand digits, the
operations, rho, slip, candidates per problem, problems in the pool and in the fixed test set; `test_lengths`
makes an easy-to-hard task (train on short chains, test on long ones).

Rows carry `Example.steps` (the solution, cut after the row's step) and `meta` (strings): labels (step or
outcome), solution, step, n_steps, outcome, trace, first_error (1-based, 0 = none) and error (the kind of
the first wrong step behind a label 0, e.g. "mul2" = a multiplication by a 2-digit operand; "none" where the
label is 1): what the process metrics and a synthetic supervisor's blind spot (`region: {field: {error:
mul2}}`) read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from w2sg.items import Steps
from w2sg.tasks.registry import TaskDef
from w2sg.tasks.schema import Example

OPS = {"add": ("Add {b}.", "+"), "sub": ("Subtract {b}.", "-"), "mul": ("Multiply by {b}.", "*")}
MAX_VALUE = 99_999  # operations that would leave 0..MAX_VALUE are redrawn as additions
Labels = Literal["step", "outcome"]


@dataclass(frozen=True)
class ChainSpec:
    """The knobs of a chain task (ranges are inclusive)."""

    lengths: tuple[int, int] = (2, 5)
    test_lengths: tuple[int, int] | None = None  # None: the test chains have `lengths` too
    digits: tuple[int, int] = (1, 2)  # operand digits (the start value has the upper number of digits)
    ops: tuple[str, ...] = ("add", "sub", "mul")
    rho: float = 0.15  # share of candidates with a compensating error (answer right, trace wrong)
    slip: float = 0.45  # share with a slip that propagates (answer wrong)
    candidates: int = 8
    problems: int = 300
    test_problems: int = 100
    seed: int = 0
    labels: Labels = "step"

    def __post_init__(self) -> None:
        for name in ("lengths", "digits") + (("test_lengths",) if self.test_lengths else ()):
            lo, hi = getattr(self, name)
            if not 1 <= lo <= hi or (name != "digits" and hi > 12) or (name == "digits" and hi > 4):
                raise ValueError(f"chains: {name}={lo}-{hi} is not a range within "
                                 f"{'1-4 digits' if name == 'digits' else '1-12 steps'}")
        bad = [o for o in self.ops if o not in OPS]
        if bad or not self.ops:
            raise ValueError(f"chains: ops {bad or '(none)'} unknown; use some of {', '.join(OPS)}")
        if not (0 <= self.rho and 0 <= self.slip and self.rho + self.slip <= 1):
            raise ValueError(f"chains: rho={self.rho} and slip={self.slip} must be shares that sum to at most 1")
        if self.rho > 0 and max(self.lengths) < 2:
            raise ValueError("chains: a compensating error needs chains of at least 2 steps; raise lengths")
        if self.candidates < 2 or self.problems < 1 or self.test_problems < 1:
            raise ValueError("chains: candidates must be >= 2 and problems, test_problems >= 1")
        if self.labels not in ("step", "outcome"):
            raise ValueError(f"chains: labels {self.labels!r} is not 'step' or 'outcome'")

    def describe(self) -> str:
        test = f", test lengths {_span(self.test_lengths)}" if self.test_lengths else ""
        return (f"lengths {_span(self.lengths)}{test}, digits {_span(self.digits)}, ops {'/'.join(self.ops)}, "
                f"rho {self.rho}, slip {self.slip}, {self.candidates} candidates, {self.problems}+"
                f"{self.test_problems} problems, seed {self.seed}")


def _span(r: tuple[int, int]) -> str:
    return str(r[0]) if r[0] == r[1] else f"{r[0]}-{r[1]}"


# ---------------------------------------------------------------- exact evaluation of written steps

STEP = re.compile(r"^\s*(-?\d+)\s*([+\-*])\s*(-?\d+)\s*=\s*(-?\d+)\s*$")
SYMBOL_OP = {sym: op for op, (_, sym) in OPS.items()}


def apply(op: str, a: int, b: int) -> int:
    return a + b if op == "add" else a - b if op == "sub" else a * b


def step_correct(start: int, operations: Sequence[tuple[str, int]], lines: Sequence[str]) -> list[bool]:
    """Whether each written line is a right step: it reads "a op b = c" with a the previous line's result (the
    start value for the first), (op, b) the problem's operation at that position and c = a op b exactly."""
    out, prev = [], start
    for (op, b), line in zip(operations, lines, strict=True):
        m = STEP.match(line)
        if m is None:
            out.append(False)
            continue
        a, sym, b2, c = int(m[1]), m[2], int(m[3]), int(m[4])
        out.append(a == prev and SYMBOL_OP[sym] == op and b2 == b and apply(op, a, b2) == c)
        prev = c
    return out


def final_value(lines: Sequence[str]) -> int | None:
    m = STEP.match(lines[-1]) if lines else None
    return None if m is None else int(m[4])


# ---------------------------------------------------------------- the generator

@dataclass(frozen=True)
class Problem:
    id: str
    start: int
    operations: tuple[tuple[str, int], ...]

    @property
    def text(self) -> str:
        said = " ".join(OPS[op][0].format(b=b) for op, b in self.operations)
        return f"Start with {self.start}. {said}"

    def values(self) -> list[int]:
        out, v = [], self.start
        for op, b in self.operations:
            v = apply(op, v, b)
            out.append(v)
        return out


def _operand(rng: np.random.Generator, digits: tuple[int, int]) -> int:
    d = int(rng.integers(digits[0], digits[1] + 1))
    return int(rng.integers(10 ** (d - 1) if d > 1 else 2, 10**d))


def _problem(rng: np.random.Generator, spec: ChainSpec, lengths: tuple[int, int], pid: str) -> Problem:
    length = int(rng.integers(lengths[0], lengths[1] + 1))
    v = _operand(rng, (spec.digits[1], spec.digits[1]))
    start, ops = v, []
    for _ in range(length):
        op, b = str(rng.choice(list(spec.ops))), _operand(rng, spec.digits)
        if not 0 <= apply(op, v, b) <= MAX_VALUE:
            op = "add" if v + b <= MAX_VALUE else "sub"
        ops.append((op, b))
        v = apply(op, v, b)
    return Problem(pid, start, tuple(ops))


def _slipped(rng: np.random.Generator, c: int) -> int:
    """A wrong result near c: off by 1-9 in the units or by 10-90 in the tens (never negative, never c)."""
    delta = int(rng.integers(1, 10)) * (10 if rng.random() < 0.4 else 1) * (1 if rng.random() < 0.5 else -1)
    return c + delta if c + delta >= 0 else c + abs(delta)


def _line(a: int, op: str, b: int, c: int) -> str:
    return f"{a} {OPS[op][1]} {b} = {c}"


def _candidate(rng: np.random.Generator, p: Problem, kind: str) -> list[str]:
    """The written lines of one candidate of `kind` correct, slip or compensating."""
    n, true = len(p.operations), p.values()
    j = int(rng.integers(0, n if kind == "slip" else n - 1))  # the first error (0-based)
    j2 = int(rng.integers(j + 1, n)) if kind == "compensating" else None
    copy = kind == "compensating" and rng.random() < 0.5  # the restoring step ignores the line above
    lines, prev = [], p.start
    for k, (op, b) in enumerate(p.operations):
        if kind != "correct" and k == j:
            c = _slipped(rng, apply(op, prev, b))
            lines.append(_line(prev, op, b, c))
        elif k == j2:
            a = true[k - 1] if copy else prev  # unfaithful copy of the true value, or wrong arithmetic
            c = true[k]
            lines.append(_line(a, op, b, c))
        else:
            c = apply(op, prev, b)
            lines.append(_line(prev, op, b, c))
        prev = c
    return lines


def _kind_of_error(p: Problem, k: int) -> str:
    op, b = p.operations[k]
    return f"{op}{len(str(b))}"


def labelled_rows(header: str, lines: Sequence[str], step_ok: Sequence[bool], outcome: bool, group: str,
                  solution: str, labels: Labels, errors: Sequence[str] | None = None) -> list[Example]:
    """The rows of one written solution: every step's prefix (labels 'step': 1 iff every step so far is right)
    or the whole solution once (labels 'outcome': 1 iff its final answer is right), each with `steps` and the
    meta the process metrics read. `errors`: a kind per step (what a blind spot selects; default "error")."""
    if len(step_ok) != len(lines) or not lines:
        raise ValueError(f"solution {solution!r}: {len(lines)} steps but {len(step_ok)} step labels")
    first = next((k for k, r in enumerate(step_ok) if not r), None)
    meta = {"labels": labels, "solution": solution, "n_steps": str(len(lines)), "outcome": str(int(outcome)),
            "trace": str(int(first is None)), "first_error": str(0 if first is None else first + 1)}
    error = "none" if first is None else (errors[first] if errors is not None else "error")
    out = []
    for k in range(1, len(lines) + 1) if labels == "step" else [len(lines)]:
        label = int(first is None or k <= first) if labels == "step" else int(outcome)
        steps = Steps(header, tuple(lines), k, solution)
        out.append(Example(id=f"{solution}-k{k}" if labels == "step" else solution, group=group, text=steps.text,
                           label=label, meta=tuple({**meta, "step": str(k), "error": "none" if label else error}
                                                   .items()), steps=steps))
    return out


def solution_rows(p: Problem, lines: list[str], cand: int, labels: Labels) -> list[Example]:
    """The rows of one generated solution, every label and meta field from exact evaluation."""
    ok = step_correct(p.start, p.operations, lines)
    errors = [f"{op}{len(str(b))}" for op, b in p.operations]
    return labelled_rows(f"Problem: {p.text}\nSolution {cand + 1}:", lines, ok, final_value(lines) == p.values()[-1],
                         p.id, f"{p.id}-s{cand}", labels, errors)


def generate(spec: ChainSpec) -> tuple[list[Example], list[Example]]:
    """(pool rows, test rows): `problems` pool problems and `test_problems` test problems, N candidates each.
    The same spec gives the same rows (one seeded generator per part); problems repeat no text."""
    parts = []
    seen: set[str] = set()
    for part, n, lengths, prefix in (("pool", spec.problems, spec.lengths, "p"),
                                     ("test", spec.test_problems, spec.test_lengths or spec.lengths, "t")):
        rng = np.random.default_rng([spec.seed, 0 if part == "pool" else 1])
        rows: list[Example] = []
        made = 0
        while made < n:
            p = _problem(rng, spec, lengths, f"{prefix}{made:05d}")
            if p.text in seen:
                continue
            seen.add(p.text)
            made += 1
            for cand in range(spec.candidates):
                u = rng.random()
                kind = "slip" if u < spec.slip else "compensating" if u < spec.slip + spec.rho else "correct"
                if kind == "compensating" and len(p.operations) < 2:
                    kind = "slip"
                rows.extend(solution_rows(p, _candidate(rng, p, kind), cand, spec.labels))
        parts.append(rows)
    return parts[0], parts[1]


# ---------------------------------------------------------------- built-in tasks

BUILTIN: dict[str, tuple[ChainSpec, str]] = {
    "chains": (ChainSpec(), "arithmetic chains, step labels (process supervision)"),
    "chains_outcome": (ChainSpec(labels="outcome"), "arithmetic chains, outcome labels (the chains' problems)"),
    "chains_hard": (ChainSpec(lengths=(2, 4), test_lengths=(6, 8)),
                    "arithmetic chains, step labels, easy to hard (train on 2-4 steps, test on 6-8)"),
    "chains_hard_outcome": (ChainSpec(lengths=(2, 4), test_lengths=(6, 8), labels="outcome"),
                            "arithmetic chains, outcome labels, easy to hard"),
}


def chain_task(name: str, spec: ChainSpec, what: str = "arithmetic chains", origin: str = "") -> TaskDef:
    """A generated `steps` task (no data directory): its description lists its knobs."""
    def load(_data_dir=None) -> tuple[list[Example], list[Example]]:
        return generate(spec)

    return TaskDef(name=name, description=f"{what}; generated: {spec.describe()}", local=load, kind="steps",
                   standalone=True, origin=origin or "w2sg.tasks.chains")


def builtin_chain_tasks() -> list[TaskDef]:
    return [chain_task(name, spec, what) for name, (spec, what) in BUILTIN.items()]
