"""What the committed studies (`studies/<name>/study.py`) share: loading a grid whose YAML tasks are keyed relative to
a folder, running a grid one task at a time with each task's wall time logged, reading a workdir's records, the
rows whose weak labels come from a plain weak model, and the rule that admits a task into cross-task statistics.

    from w2sg.study import load_grid, run_by_task
    sweep = load_grid("studies/scaling/scaling_novel.yaml", base_dir="studies")  # tasks/x.yaml stays tasks/x.yaml
    run_by_task(sweep, "w2sg-study/scaling", None, "novel", base_dir="studies")

A YAML task's key is its path relative to the folder the grid is run from, and it enters the experiment hash;
`base_dir` runs a grid as if from that folder (keys, hashes and task loading as there), whatever the caller's
working directory, which is restored afterwards.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from w2sg.result import as_result

if TYPE_CHECKING:
    from w2sg.sweep import SweepSpec


@contextlib.contextmanager
def _from(base_dir: str | Path | None) -> Iterator[None]:
    """Run the block from `base_dir` (YAML tasks keyed and loaded relative to it); nothing when None."""
    if base_dir is None:
        yield
        return
    with contextlib.chdir(base_dir):
        yield


def load_grid(path: str | Path, base_dir: str | Path | None = None) -> SweepSpec:
    """A sweep spec from a YAML grid; its YAML tasks keyed relative to `base_dir` (default: the working
    directory), e.g. `tasks/sst2_cipher.yaml` for studies/tasks/sst2_cipher.yaml with base_dir studies/."""
    from w2sg.config_io import load_yaml_spec
    from w2sg.sweep import SweepSpec

    path = Path(path).resolve()
    with _from(base_dir):
        return load_yaml_spec(path, SweepSpec)


def append_timing(path: str | Path, entry: dict) -> None:
    """Append `entry` to the JSON list in `path` (created with its folder when missing)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    entries = json.loads(path.read_text()) if path.exists() else []
    path.write_text(json.dumps(entries + [entry], indent=1))


def read_timings(path: str | Path) -> list[dict]:
    """The JSON list of timings in `path`; [] when there is none."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else []


def _print_event(kind: str, info: dict) -> None:
    print(kind, info.get("label", ""), info.get("error") or "", flush=True)


def run_by_task(sweep: SweepSpec, workdir: str | Path, data_dir: str | None, label: str,
                timings: str | Path | None = None, base_dir: str | Path | None = None,
                on_event: Callable[[str, dict], None] = _print_event) -> None:
    """Run a sweep one task at a time (finished tasks are usable while later ones run), printing progress and
    appending each task's wall time to `timings` (a JSON list) when given. With `base_dir`, the grid runs from
    that folder: its YAML tasks are keyed and loaded relative to it (see `load_grid`)."""
    from w2sg.sweep import run_sweep

    if base_dir is not None:  # paths the caller gave relative to its own working directory
        workdir = Path(workdir).resolve()
        data_dir = str(Path(data_dir).resolve()) if data_dir else None
        timings = Path(timings).resolve() if timings is not None else None
    for task in sweep.tasks:
        t0 = time.perf_counter()
        with _from(base_dir):
            report = run_sweep(sweep.model_copy(update={"tasks": [task]}), workdir, data_dir=data_dir,
                               on_event=on_event)
        seconds = time.perf_counter() - t0
        if timings is not None:
            append_timing(timings, {"part": label, "task": task, "seconds": round(seconds, 1),
                                    "computed": report.computed, "already_done": report.skipped,
                                    "failed": report.failed, "at": time.strftime("%F %T")})
        print(f"{label} {task}: {seconds:.0f}s ({report.computed} computed, {report.skipped} already done, "
              f"{report.failed} failed)", flush=True)


def missing_cells(sweep: SweepSpec, workdir: str | Path, base_dir: str | Path | None = None) -> tuple[int, int]:
    """(cells of the grid without a row in the store at `workdir`, cells in the grid), by the sweep's own plan
    (`sweep.jobs.plan`); YAML tasks keyed relative to `base_dir`, as `run_by_task` keys them. Nothing is computed."""
    from w2sg.pipeline import Pipeline
    from w2sg.sweep import expand
    from w2sg.sweep.jobs import plan

    store = Path(workdir).resolve() / "results.sqlite"
    with _from(base_dir):  # a YAML task's path (and its prompt: auto) resolve relative to base_dir
        cells = expand(sweep)
        if not store.exists():
            return len(cells), len(cells)
        _, state = plan(Pipeline(str(store.parent)), cells)
    return sum(v == "todo" for v in state.values()), len(state)


def load_records(root: str | Path, workdir: str) -> list[dict]:
    """The records of `<root>/<workdir>/results.sqlite` with their stored test outcomes (so CIs resample seeds,
    then test groups); [] when there is no store."""
    from w2sg.store import ResultsStore

    path = Path(root) / workdir / "results.sqlite"
    return ResultsStore(path).records(outcomes=True) if path.exists() else []


def unit_task(label: str) -> str:
    """A cross-task unit label without the variant that tells grids apart ('sciq_pairs · splits...' -> 'sciq_pairs')."""
    return label.split(" · ")[0]


# ---- which rows ---------------------------------------------------------------------------------------
def weak_spec(record: Any) -> str | dict:
    """The record's weak supervisor as its spec gives it: a model alias or a {kind: ..., ...} mapping (the store's
    `weak` column is only the supervisor's label)."""
    res = as_result(record)
    return (res.spec or {}).get("weak", res.weak)


def plain_weak(record: Any, model: str) -> bool:
    """Whether the weak labels and the PGR floor come from the plain weak model `model`: the rows that give a task's
    weak, ceiling and gap (not an ensemble, chain or synthetic supervisor built on it)."""
    return weak_spec(record) == model and as_result(record).supervisor_kind == "model"


def lock_variant(record: Any) -> str | None:
    """The lock the strong student started from ('password', 'deceptive', 'unlocked'); None when it was not
    locked (the testbeds study's rows)."""
    res = as_result(record)
    lock = getattr(res, "lock", None)  # the result's typed Lock part; records read before it had one: `extra`
    return lock.variant if lock is not None else res.extra.get("locked")


METHOD_ORDER = ("naive", "naive_hard", "confidence", "product", "early_stop", "early_stop_oracle", "filter_confident",
                "s2s_relabel", "probe_relabel", "weak_ensemble", "ensemble", "bootstrap", "generative_finetune")


def method_order(method: str) -> tuple:
    """Sort key of a method name in the studies' tables: the baselines first, then the methods in the order of
    `METHOD_ORDER` by their family (the name before '(' or '→'), then by name."""
    base = re.split(r"[(→]", method)[0]
    return (METHOD_ORDER.index(base) if base in METHOD_ORDER else len(METHOD_ORDER), method)


def full_budget(record: Any) -> bool:
    """The student was trained at the default (full) budget; a record without a budget_kind predates budgets."""
    res = as_result(record)
    return "budget_kind" in res.missing or res.training.budget.recorded_kind == "full"


# ---- the admission rule -------------------------------------------------------------------------------
def task_stability(records: list[dict], metric: str = "acc") -> dict[str, dict]:
    """Per task, from the rows of one method (the weak model and ceiling are shared by every method of a seed):
    the mean gap (ceiling − weak) over ALL seeds with its CI over seeds and test groups. The rule stated before
    any PGR is looked at: a task is admitted ("stable") when that CI excludes 0; no seed is ever dropped."""
    from w2sg.report.summary import summarize

    per_seed: dict[str, dict[int, dict]] = defaultdict(dict)
    for r in records:
        res = as_result(r)
        per_seed[res.task].setdefault(res.seed, r)
    out = {}
    for task, seeds in per_seed.items():
        rows = [dict(r, method="_floor") for r in seeds.values()]
        (row,) = summarize(rows)
        out[task] = {"weak": row[f"weak_{metric}_mean"], "ceiling": row[f"ceiling_{metric}_mean"],
                     "gap": row.get(f"gap_{metric}_pooled"),
                     "gap_ci": (row.get(f"gap_{metric}_pooled_ci_low"), row.get(f"gap_{metric}_pooled_ci_high")),
                     "n_seeds": len(rows), "n_unstable": sum(bool(as_result(r).pgr("acc").unstable) for r in rows),
                     "unstable": not row.get(f"pgr_{metric}_resolved")}
    return out


def admitted_tasks(stability: dict[str, dict]) -> list[str]:
    """The tasks `task_stability` admits, sorted."""
    return sorted(t for t, s in stability.items() if not s["unstable"])
