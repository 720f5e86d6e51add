"""The Python API, for notebooks and scripts: `w2sg.run`, `w2sg.sweep` and `w2sg.results`.

They take the arguments of `w2sg run` / `w2sg sweep` / `w2sg results` and go through the same code: the spec is
built and validated by `w2sg.cli.run.run_dict` / `run_spec` (flags, then `overrides` as with `--set`; a bad
field is named the way the CLI names it), the cells by `cli.validation.expand_named` and
`sweep.grid.check_models`, the experiments by `Pipeline.run` / `sweep.run_sweep`. Nothing is printed as a table;
the results come back typed (`w2sg.result.ExperimentResult`) and as pandas DataFrames:

    import w2sg
    run = w2sg.run(task="sst2", weak="minilm", strong="minilm", method="naive", seeds=[0, 1],
                   n_weak_train=100, n_transfer=100, n_val=20, n_test=100)
    run.results[0].pgr("acc").value            # typed results
    df = w2sg.results("w2sg-runs")              # one row per experiment in the store
    w2sg.results("w2sg-runs", summary=True)     # the `w2sg results --summary` rows (pooled PGR over seeds)
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from w2sg.result import PGR_METRICS, ROLES, SUPERVISOR, ExperimentResult, as_results

if TYPE_CHECKING:
    import pandas as pd

    from w2sg.sweep import SweepReport, SweepSpec

__all__ = ["Run", "Sweep", "frame", "results", "run", "summary", "sweep"]

Overrides = Mapping[str, Any] | Sequence[str] | None  # {"train.lr": 1e-4} or ["train.lr=1e-4"] (as --set)

# the columns `frame` puts first, in this order (then, with all_columns, every other key of the record)
IDENTITY_COLUMNS = ("task", "task_path", "weak", "strong", "method", "budget", "budget_kind", "budget_steps",
                    "seed", "mode", "variant", "supervisor", "supervisor_kind", "task_fingerprint", "status", "hash")
_BUDGET = {"budget": "label", "budget_kind": "kind", "budget_steps": "steps"}  # columns from `Budget`'s fields
SCORE_FIELDS = ("acc", "acc_ci_low", "acc_ci_high", "auroc", "auroc_ci_low", "auroc_ci_high")
PGR_FIELDS = ("value", "ci_low", "ci_high", "gap")


def _say(quiet: bool) -> Callable[[str], None]:
    return (lambda s: None) if quiet else (lambda s: print(s, file=sys.stderr, flush=True))


# ---------------------------------------------------------------- results as DataFrames


def _row(res: ExperimentResult, all_columns: bool) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for c in IDENTITY_COLUMNS:
        if c in _BUDGET:  # the typed budget (`result_parts.Budget`): its label as stored, kind, steps
            row[c] = getattr(res.training.budget, _BUDGET[c])
        elif c == "task_path":
            row[c] = res.extra.get("task_path")
        else:
            row[c] = getattr(res, c)
    row["majority_acc"] = res.evaluation.majority_acc
    for role in (*ROLES, SUPERVISOR):
        for f in SCORE_FIELDS:
            if role == SUPERVISOR and f not in ("acc", "auroc"):
                continue
            row[f"{role}_{f}"] = res.score(role, f) if role in res.scores else None
    for m in PGR_METRICS:
        p = res.pgr(m)
        row |= {f"pgr_{m}": p.value, f"pgr_{m}_ci_low": p.ci_low, f"pgr_{m}_ci_high": p.ci_high,
                f"pgr_{m}_stable": p.stable, f"gap_{m}": p.gap}
    for s, stats in res.splits.items():
        row[f"n_{s}"] = stats.n
    row["seconds"] = res.run.seconds.get("total")
    if all_columns:
        skip = ("spec", "versions", "test_outcomes")
        row |= {k: v for k, v in res.to_record().items() if k not in row and k not in skip}
    row["result"] = res
    return row


def frame(records: Iterable[Mapping[str, Any] | ExperimentResult], all_columns: bool = False) -> pd.DataFrame:
    """One row per experiment: identity (task, its YAML path when it has one, weak, strong, method, the budget's
    label, kind and steps, seed, mode, variant, supervisor, ...), the majority baseline, each role's accuracy
    and AUROC on T with their CIs, PGR per metric with its CI, stability and gap, the split sizes, the wall
    time, and `result` (the `ExperimentResult` itself, for everything else:
    `df.result.iloc[0].agreement("transfer")`).
    `all_columns`: also every other key of the flat record (spec and versions excepted)."""
    import pandas as pd

    rows = [_row(r, all_columns) for r in as_results(records)]
    if not rows:
        return pd.DataFrame(columns=[*IDENTITY_COLUMNS, "result"])
    return pd.DataFrame(rows)


def summary(records: Iterable[Mapping[str, Any]], outcomes: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
    """The summary rows of `w2sg results --summary` (`report.summary.summarize`): one per (task, pair, method,
    budget, supervisor, variant) over all seeds, with seed means and the pooled PGR with its CI over seeds and
    test groups. Records need their test outcomes (`ResultsStore.records(outcomes=True)` or `outcomes`)."""
    import pandas as pd

    from w2sg.report.summary import summarize

    return pd.DataFrame(summarize([dict(r) for r in records], outcomes))


def results(workdir: str | Path = "w2sg-runs", summary: bool = False, task: str | None = None,
            method: str | None = None, status: str = "ok", all_columns: bool = False) -> pd.DataFrame:
    """The results store of `workdir` as a DataFrame: one row per experiment (`frame`), or with `summary` the
    rows of `w2sg results --summary`. `task` (a task's name, or a YAML task's name or path), `method` and
    `status` ('ok', 'failed' or 'all') filter as `w2sg results` does."""
    from w2sg.store import ResultsStore
    from w2sg.tasks.keys import task_key

    if status not in ("ok", "failed", "all"):
        raise ValueError(f"status '{status}': use ok, failed or all")
    path = Path(workdir) / "results.sqlite"
    if not path.exists():
        raise FileNotFoundError(f"no results store at {path}; run w2sg.run(...) first or pass another workdir")
    recs = ResultsStore(path).records(status=None if status == "all" else status, outcomes=summary,
                                      task=task and task_key(task), method=method)
    return _summary(recs) if summary else frame(recs, all_columns)


_summary = summary  # `results` has an argument of that name


# ---------------------------------------------------------------- runs


class _Results:
    """What `Run` and `Sweep` share: their typed results as flat records, a DataFrame and the summary rows."""

    results: list[ExperimentResult]
    workdir: Path

    def records(self) -> list[dict[str, Any]]:
        """The flat records (as `ResultsStore.records` gives them)."""
        return [r.to_record() for r in self.results]

    def frame(self, all_columns: bool = False) -> pd.DataFrame:
        return frame(self.results, all_columns)

    def summary(self) -> pd.DataFrame:
        """The summary rows over these experiments' seeds (their stored test outcomes included)."""
        from w2sg.store import ResultsStore

        store = ResultsStore(self.workdir / "results.sqlite")
        return summary(self.records(), store.outcomes(r.hash for r in self.results))


@dataclass(frozen=True)
class Run(_Results):
    """What `w2sg.run` did: the validated spec, one typed result per experiment (method x budget x seed, in the
    order run), the notes the CLI prints (defaults shrunk to fit, rows dropped on loading, model warnings)."""

    spec: SweepSpec
    results: list[ExperimentResult]
    workdir: Path
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    report: Path | None = None  # report.md, when asked for


def _overrides(overrides: Overrides) -> list[str]:
    """`--set` items: a mapping's values written as YAML flow (JSON) so that `cli.run.parse_set` reads them back."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if isinstance(overrides, Mapping):
        return [f"{k}={json.dumps(v)}" for k, v in overrides.items()]
    return list(overrides)


def _listed(v: Any, sep: str = ",") -> list | None:
    """A list axis given as a value, a list or a separated string (as the CLI's repeatable flags)."""
    if v is None:
        return None
    items = v if isinstance(v, list | tuple) else [v]
    return [x.strip() if isinstance(x, str) else x for item in items
            for x in (item.split(sep) if isinstance(item, str) else [item]) if not isinstance(x, str) or x.strip()]


def run(task: str | None = None, weak: str | None = None, strong: str | None = None,
        method: str | Sequence[str] | None = None, seeds: int | Sequence[int] | str | None = None, *,
        mode: str | None = None, budget: str | Sequence[str] | None = None, n_weak_train: int | None = None,
        n_transfer: int | None = None, n_val: int | None = None, n_test: int | None = None,
        n_extra: int | None = None, n_pool: int | None = None, balance: bool | None = None,
        epochs: float | None = None, lr: float | None = None, batch_size: int | None = None,
        micro_batch_size: int | None = None, max_length: int | None = None, device: str | None = None,
        solver: str | None = None, l2: float | str | None = None, balance_test: bool | None = None,
        config: str | Path | None = None, overrides: Overrides = None, workdir: str | Path = "w2sg-runs",
        data_dir: str | Path | None = None, force: bool = False, report: str | Path | bool = False,
        quiet: bool = False) -> Run:
    """`w2sg run` from Python: every method x budget x seed of one task, supervisor and strong model.

    The arguments are the CLI's flags (None: the default, or the `config` YAML's value); `method` and `budget`
    take a list or a comma- / semicolon-separated string, `seeds` an int, a list or '0,1,2'; `overrides` is
    `--set`: {"train.lr": 1e-4, "weak": {"kind": "synthetic", "error_rate": 0.2}} or ["train.lr=1e-4"]. As on
    the CLI, default split sizes too large for a small task are shrunk (a note says so). `report`: True writes
    WORKDIR/report/report.md, a path writes it there. `quiet`: no notes and no per-experiment line on stderr.
    Returns a `Run` with one `ExperimentResult` per experiment; the store in `workdir` holds them too."""
    from w2sg.cli.common import check_dir_option, parse_seeds
    from w2sg.cli.run import check_devices, fit_default_splits, run_dict, run_sources, run_spec
    from w2sg.cli.validation import expand_named
    from w2sg.pipeline import Pipeline
    from w2sg.sweep.grid import check_models

    say = _say(quiet)
    t0 = time.perf_counter()
    workdir = Path(workdir)
    check_dir_option(workdir, "--workdir")
    flags = {"task": task, "weak": weak, "strong": strong, "mode": mode, "n_weak_train": n_weak_train,
             "n_transfer": n_transfer, "n_val": n_val, "n_test": n_test, "n_extra": n_extra, "balance": balance,
             "n_pool": n_pool, "epochs": epochs, "lr": lr, "batch_size": batch_size,
             "micro_batch_size": micro_batch_size, "max_length": max_length, "device": device, "solver": solver,
             "l2": l2, "balance_test": balance_test, "method": _listed(method), "budget": _listed(budget, ";"),
             "seeds": parse_seeds(seeds) if isinstance(seeds, str) else _listed(seeds)}
    sets = _overrides(overrides)
    config = Path(config) if config is not None else None
    d = run_dict(config, flags, sets)
    spec = run_spec(config, flags, sets, d)
    check_devices(spec)
    pipe = Pipeline(workdir, data_dir, log=say)
    notes: list[str] = []
    if "splits" not in d and len(spec.tasks) == 1:  # default sizes on a small task: shrunk, as on the CLI
        spec, note = fit_default_splits(spec, pipe.res.task(spec.tasks[0]))
        notes += [note] if note else []
    sources = run_sources(config, flags, sets)
    exps = expand_named(spec, sources)
    notes += check_models(spec, exps)
    for name in spec.tasks:
        data = pipe.res.task(name)
        notes += [f"{data.name}: {note}" for note in data.notes]
    for note in notes:
        say(f"note: {note}")
    results = []
    for e in exps:
        say(f"{e.task} {e.weak_label}->{e.strong} {e.method.label} seed={e.seed}")
        results.append(ExperimentResult.from_record(pipe.run(e, force=force)))
    md = None
    if report:
        from w2sg.report.markdown import write_report

        out_dir = workdir / "report" if report is True else Path(report)
        check_dir_option(out_dir, "report")
        recs = [r.to_record() for r in results]
        md = write_report(recs, out_dir, outcomes=pipe.store.outcomes(r["hash"] for r in recs),
                          title=f"w2sg: {', '.join(spec.tasks)} → {', '.join(spec.strong)} ({spec.train.mode})")
    return Run(spec, results, workdir, notes, time.perf_counter() - t0, md)


# ---------------------------------------------------------------- sweeps


@dataclass(frozen=True)
class Sweep(_Results):
    """What `w2sg.sweep` did: the spec, the counts and timings of `sweep.run_sweep` (`report`), and the typed
    result of every cell of the grid that is in the store with status ok (computed now or before)."""

    spec: SweepSpec
    report: SweepReport
    results: list[ExperimentResult]
    workdir: Path
    notes: list[str] = field(default_factory=list)


def _sweep_spec(grid: str | Path | Mapping[str, Any] | SweepSpec, sets: list[str]):
    """(SweepSpec, sources): a YAML path, a mapping or a spec, with `--set`-style overrides applied."""
    from pydantic import ValidationError

    from w2sg.cli.run import parse_set, set_path
    from w2sg.cli.validation import Source, SpecError, load_sweep, spec_path
    from w2sg.config_io import read_yaml_mapping
    from w2sg.sweep import SweepSpec

    if isinstance(grid, SweepSpec) and not sets:
        return grid, []
    if isinstance(grid, str | Path) and not sets:
        return load_sweep(Path(grid))
    if isinstance(grid, SweepSpec):
        data, sources = grid.model_dump(mode="json"), []
    elif isinstance(grid, Mapping):
        data, sources = json.loads(json.dumps(dict(grid))), [Source(spec_path(k), "config", "sweep") for k in grid]
    else:
        data = read_yaml_mapping(Path(grid))
        sources = [Source((), "config", str(grid)), *(Source(spec_path(k), "config", str(grid)) for k in data)]
    for item in sets:
        set_path(data, *parse_set(item))
    sources += [Source(spec_path(item.partition("=")[0].strip()), "set") for item in sets]
    try:
        return SweepSpec.model_validate(data), sources
    except ValidationError as e:
        raise SpecError(e, sources) from None


def sweep(grid: str | Path | Mapping[str, Any] | SweepSpec, *, overrides: Overrides = None,
          workdir: str | Path = "w2sg-runs", data_dir: str | Path | None = None, executor: str = "local",
          workers: int = 1, address: str | None = None, logger: Sequence[str] | None = None,
          report: bool = False, quiet: bool = False) -> Sweep:
    """`w2sg sweep` from Python: a grid (a sweep YAML's path, the same as a mapping, or a `SweepSpec`) run
    once per cell; cells already in the store are skipped, failed cells are recorded and the sweep goes on.
    `overrides` as `w2sg.run`'s (`--set`); `executor` local | processes | ray with `workers`; `logger`
    wandb and/or mlflow; `report`: write WORKDIR/report/report.html. Returns a `Sweep`: counts, errors and the
    typed result of every ok cell of the grid."""
    from w2sg.cli.common import check_dir_option
    from w2sg.cli.run import check_devices
    from w2sg.cli.validation import expand_named
    from w2sg.loggers import make_loggers
    from w2sg.store import ResultsStore
    from w2sg.sweep import run_sweep
    from w2sg.sweep.grid import check_models

    say = _say(quiet)
    workdir = Path(workdir)
    check_dir_option(workdir, "--workdir")
    spec, sources = _sweep_spec(grid, _overrides(overrides))
    check_devices(spec)
    loggers = make_loggers(list(logger) if logger else None)
    cells = expand_named(spec, sources)
    notes = check_models(spec, cells)
    for note in notes:
        say(f"note: {note}")

    def on_event(kind: str, info: dict) -> None:
        if info.get("error"):
            say(f"failed {info['label']}: {info['error']}")

    rep = run_sweep(spec, workdir, data_dir, executor=executor, workers=workers, address=address,
                    on_event=on_event, loggers=loggers)
    say(f"sweep '{spec.name}': {rep.cells} cells, {rep.skipped} already done, {rep.computed} computed, "
        f"{rep.failed} failed in {rep.seconds:.1f}s")
    wanted = {json.dumps(c.model_dump(mode="json"), sort_keys=True) for c in cells}
    recs = [r for r in ResultsStore(workdir / "results.sqlite").records()
            if json.dumps(r["spec"], sort_keys=True) in wanted]
    if report:
        from w2sg.report.html import write_html_report

        write_html_report(ResultsStore(workdir / "results.sqlite").records(outcomes=True), workdir / "report",
                          f"w2sg sweep: {spec.name}")
    return Sweep(spec, rep, as_results(recs), workdir, notes)
