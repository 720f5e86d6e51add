"""Hostile outputs (issue 28, part B): an export never replaces the store or writes into the cache and is written
whole or not at all; every OS error is one line by errno (disk full, no such folder); what users name is drawn
and written as typed (no math text in figures, no raw HTML in Markdown); a logger that cannot start stops the
sweep before any work, one that fails mid-sweep is named once; a report names the experiments it covers."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import sys
import types
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from w2sg.cli import app
from w2sg.config import ExperimentSpec, SplitSpec, TrainSpec
from w2sg.store import ResultsStore

runner = CliRunner()
MATH_TASK = "data/$\\foo$ a_b^c/t.yaml"  # matplotlib's math text: "Unknown symbol: \foo"
HTML_METHOD = "naive<script>alert(1)</script>[x](javascript:alert(1))"


def _clean_exit(res, code: int = 2) -> str:
    """Exited with `code` through typer (no traceback); the output as one line (rich wraps long lines)."""
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    return " ".join(res.output.split())


def _metrics(seed: int) -> dict:
    pgr = 0.2 + 0.1 * seed
    return {"weak_acc": 0.7, "ceiling_acc": 0.9, "student_acc": 0.7 + 0.2 * pgr, "pgr_acc": pgr,
            "pgr_acc_ci_low": pgr - 0.1, "pgr_acc_ci_high": pgr + 0.1, "unstable": False, "pgr_auroc": pgr,
            "gap_acc": 0.2, "gap_acc_ci_low": 0.1, "gap_acc_ci_high": 0.3, "task_fingerprint": "abc"}


def _put(store: ResultsStore, seed: int, task: str = "sst2", hash_: str | None = None) -> str:
    spec = ExperimentSpec(seed=seed, task=task).model_dump(mode="json")
    h = hash_ or f"{seed:02d}" + "ab" * 31
    store.put(spec, h, _metrics(seed), {"total": 1.0})
    return h


@pytest.fixture
def stored(tmp_path) -> Path:
    """A workdir whose store holds two rows, with a cache folder beside it."""
    wd = tmp_path / "wd"
    store = ResultsStore(wd / "results.sqlite")
    for seed in (0, 1):
        _put(store, seed)
    (wd / "cache" / "weak").mkdir(parents=True)
    return wd


def _tiny(task, enc, workdir, *extra):
    return runner.invoke(app, [
        "run", "--task", str(task), "--weak", str(enc), "--strong", str(enc), "-m", "naive", "--seeds", "0",
        "--n-weak-train", "150", "--n-transfer", "200", "--n-val", "50", "--n-test", "200",
        "--workdir", str(workdir), *extra], env={"COLUMNS": "250"})


# ---------------------------------------------------------------- 1. exports: never over the store or the cache


@pytest.mark.parametrize("target", ["results.sqlite", "results.sqlite-wal", "cache/x.csv", "cache/weak/a.json",
                                    "other.db"])
def test_an_export_never_replaces_the_store_nor_writes_into_the_cache(stored, target):
    store = stored / "results.sqlite"
    shutil.copy(store, stored / "other.db")  # any SQLite database: a results store by another name
    before = {p: p.read_bytes() for p in stored.rglob("*") if p.is_file()}
    fmt = "csv" if target.endswith(".csv") else "json"
    msg = _clean_exit(runner.invoke(app, ["results", "-w", str(stored), "-f", fmt, "-o", str(stored / target)]))
    assert "--output" in msg and target.split("/")[-1] in msg and "give a" in msg, msg
    assert ("results store" in msg or "SQLite database" in msg or "cache folder" in msg), msg
    assert {p: p.read_bytes() for p in stored.rglob("*") if p.is_file()} == before
    assert len(ResultsStore(store).records()) == 2


def test_report_folders_are_never_inside_the_cache(stored, tiny_encoder, synthetic_task):
    msg = _clean_exit(runner.invoke(app, ["report", "-w", str(stored), "--out", str(stored / "cache" / "r")]))
    assert "--out" in msg and "cache folder" in msg
    msg = _clean_exit(_tiny(synthetic_task, tiny_encoder, stored, "--report", str(stored / "cache" / "r")))
    assert "--report" in msg and "cache folder" in msg
    assert not (stored / "cache" / "r").exists() and not (stored / "cache" / "features").exists()


def test_an_export_that_fails_midway_leaves_the_old_file_whole(stored, monkeypatch):
    """A writer that dies after half the bytes (a full disk): the old file stays, no temporary file is left."""
    out = stored.parent / "export.json"
    out.write_text("old export\n")
    real = Path.write_text

    def half_then_full(self, data, *a, **kw):
        real(self, data[: len(data) // 2], *a, **kw)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_full)
    msg = _clean_exit(runner.invoke(app, ["results", "-w", str(stored), "-f", "json", "-o", str(out)]))
    monkeypatch.undo()
    assert f"disk full writing '{out}'" in msg and "free space" in msg
    assert out.read_text() == "old export\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["export.json", "wd"]


def test_a_report_that_fails_midway_leaves_the_old_report_whole(stored, monkeypatch):
    report = stored / "report"
    report.mkdir()
    (report / "report.md").write_text("old report\n")
    real = Path.write_text

    def half_then_full(self, data, *a, **kw):
        real(self, data[: len(data) // 2], *a, **kw)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_full)
    msg = _clean_exit(runner.invoke(app, ["report", "-w", str(stored)]))
    monkeypatch.undo()
    assert f"disk full writing '{report / 'report.md'}'" in msg
    assert (report / "report.md").read_text() == "old report\n"
    assert not [p.name for p in report.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_an_export_into_a_missing_folder_names_it(stored, fmt):
    out = stored.parent / "nodir" / f"x.{fmt}"
    msg = _clean_exit(runner.invoke(app, ["results", "-w", str(stored), "-f", fmt, "-o", str(out)]))
    assert f"no such folder: '{out.parent}'" in msg and "create it" in msg


def test_an_export_is_written_whole(stored):
    out = stored.parent / "x.json"
    res = runner.invoke(app, ["results", "-w", str(stored), "-f", "json", "-o", str(out)])
    assert res.exit_code == 0, res.output
    plain = stored.parent / "plain.json"
    plain.write_text("")
    assert len(json.loads(out.read_text())) == 2 and out.stat().st_mode == plain.stat().st_mode


# ---------------------------------------------------------------- 3. OS errors: one line by errno


def test_disk_full_during_a_cache_write_is_one_line(tmp_path, tiny_encoder, synthetic_task, monkeypatch):
    """ENOSPC inside cache.atomic_write_bytes (its write names no file): the line names the cache file."""

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    msg = _clean_exit(_tiny(synthetic_task, tiny_encoder, tmp_path / "w"))
    assert f"disk full writing '{tmp_path / 'w' / 'cache'}" in msg, msg
    assert "free space or use --workdir elsewhere" in msg


@pytest.mark.parametrize(("err", "words"), [
    (OSError(errno.ENOSPC, "No space left on device"), "disk full writing an output path"),
    (OSError(errno.EDQUOT, "Disk quota exceeded", "/q/f"), "disk full writing '/q/f'"),
    (OSError(errno.EROFS, "Read-only file system", "/ro/x"), "'/ro/x': it is on a read-only file system"),
    (OSError(errno.ENAMETOOLONG, "File name too long", "/x" * 3), "the name is too long"),
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/nowhere/x.csv"), "no such folder: '/nowhere'"),
    (FileNotFoundError("task spec 't.yaml' does not exist"), "task spec 't.yaml' does not exist"),
    (OSError(errno.EIO, "Input/output error", "/d/x"), "'/d/x': Input/output error (EIO)"),
])
def test_every_os_error_is_one_line_by_errno(err, words, capsys):
    import typer

    from w2sg.cli.common import user_errors

    with pytest.raises(typer.Exit) as e, user_errors():
        raise err
    assert e.value.exit_code == 2
    assert words in " ".join(capsys.readouterr().err.split())


class _FullDisk:
    """A sqlite connection whose writes fail as on a full disk."""

    def __init__(self, con, message):
        self.con, self.message = con, message

    def execute(self, sql, *args):
        if sql.lstrip().upper().startswith("INSERT"):
            raise sqlite3.OperationalError(self.message)
        return self.con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.con, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.con.__exit__(*exc)


def _full_disk(monkeypatch, message: str) -> None:
    real = ResultsStore._connect
    monkeypatch.setattr(ResultsStore, "_connect", lambda self: _FullDisk(real(self), message))


@pytest.mark.parametrize(("message", "free", "says"), [
    ("database or disk is full", 10**12, "disk full writing the results store"),
    ("disk I/O error", 0, "disk full writing the results store"),
    ("disk I/O error", 10**12, "disk I/O error on the results store"),
])
def test_a_store_write_on_a_full_disk_says_so(tmp_path, monkeypatch, message, free, says):
    store = ResultsStore(tmp_path / "results.sqlite")
    _full_disk(monkeypatch, message)
    monkeypatch.setattr(shutil, "disk_usage", lambda p: types.SimpleNamespace(total=10**12, used=0, free=free))
    with pytest.raises(ValueError) as e:
        _put(store, 0)
    assert f"{says} {store.path}" in str(e.value) and "--workdir elsewhere" in str(e.value)
    assert "cache" in str(e.value)


def test_a_full_store_after_the_compute_keeps_it_and_a_math_task_path_reports(tmp_path, tiny_encoder,
                                                                               synthetic_task, monkeypatch):
    """`w2sg run` on a task whose path has `$\\foo$`, `_` and `^`: the store write fails on a full disk after all
    the compute (one line naming the store), the steps stay cached, and the rerun stores the row without
    recomputing anything and writes its report and figure (matplotlib does not parse the path as math)."""
    folder = tmp_path / "data" / "$\\foo$ a_b^c"
    folder.mkdir(parents=True)
    for f in synthetic_task.parent.iterdir():
        shutil.copy(f, folder / f.name)
    task, wd = folder / synthetic_task.name, tmp_path / "w"
    _full_disk(monkeypatch, "database or disk is full")
    msg = _clean_exit(_tiny(task, tiny_encoder, wd))
    monkeypatch.undo()
    assert f"disk full writing the results store {wd / 'results.sqlite'}" in msg and "cache" in msg
    cached = {p: p.stat().st_mtime_ns for p in (wd / "cache").rglob("*") if p.is_file()}
    assert any("student" in str(p) for p in cached), sorted(cached)
    res = _tiny(task, tiny_encoder, wd)
    assert res.exit_code == 0, res.output
    assert {p: p.stat().st_mtime_ns for p in (wd / "cache").rglob("*") if p.is_file()} == cached  # no recompute
    assert (wd / "report" / "accuracy.png").stat().st_size > 0
    md = (wd / "report" / "report.md").read_text()
    assert "\\$\\\\foo\\$" in md  # the path as typed, escaped for Markdown
    assert len(ResultsStore(wd / "results.sqlite").records()) == 1


# ---------------------------------------------------------------- 2. what users name: figures and Markdown


def _records(task: str = MATH_TASK, method: str = HTML_METHOD) -> list[dict]:
    return [{"hash": f"{s:02d}" + "cd" * 31, "task": task, "weak": "w$x$", "strong": "s_1^2", "method": method,
             "seed": s, "mode": "frozen", "variant": "", "status": "ok", "created_at": 1.7e9 + 60 * s,
             **_metrics(s), "agree_transfer_weak_right": 0.9, "agree_transfer_weak_wrong": 0.5}
            for s in range(3)]


def test_report_of_a_math_task_path_exits_0_with_every_figure(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    for seed in range(3):
        _put(store, seed, task=MATH_TASK)
    res = runner.invoke(app, ["report", "-w", str(tmp_path)])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "report" / "report-figures.md").read_text()
    assert "drawing failed" not in md and "ParseFatalException" not in md
    assert (tmp_path / "report" / "accuracy.png").stat().st_size > 0


def test_figures_take_names_literally_even_with_usetex_on(tmp_path, monkeypatch):
    """A user's matplotlibrc with text.usetex: `_`, `^` and `$` in names would go to LaTeX (absent here)."""
    import matplotlib

    from w2sg.report.figures import render_all
    from w2sg.report.markdown import accuracy_figure

    monkeypatch.setitem(matplotlib.rcParams, "text.usetex", True)
    figures = render_all(_records())
    failed = [(s.name, r.reason) for s, r in figures if r.png is None]
    assert not failed, failed
    assert accuracy_figure(_records(), tmp_path / "a.png").stat().st_size > 0


def test_markdown_carries_no_html_no_math_no_link_from_a_name(tmp_path):
    from markdown_it import MarkdownIt

    from w2sg.report.html import write_html_report
    from w2sg.report.markdown import write_report

    title = "sweep <img src=x onerror=alert(1)> $x$"
    _, figures_md = write_html_report(_records(), tmp_path / "h", title)
    md = write_report(_records(), tmp_path / "m", title)
    for path in (figures_md, md):
        page = MarkdownIt("commonmark").enable("table").render(path.read_text(encoding="utf-8"))
        assert "<script" not in page and "<img src=x" not in page and "<a " not in page
        assert "<script>alert(1)</script>" in page.replace("&lt;", "<").replace("&gt;", ">")  # shown, as text
        assert "$\\foo$ a_b^c" in page and "$x$" in page  # as typed (escapes rendered away)
    html_page = (tmp_path / "h" / "report.html").read_text()
    assert "<script>alert(1)" not in html_page and "&lt;script&gt;alert(1)" in html_page


def test_md_text_escapes_only_what_would_render():
    from w2sg.report.escape import md_text

    assert md_text("synthetic(error_rate=0.2,errors=region)") == "synthetic(error_rate=0.2,errors=region)"
    assert md_text("weak < majority 1/3") == "weak < majority 1/3"
    assert md_text("0.50 [0.40, 0.60]") == "0.50 [0.40, 0.60]"
    assert md_text("<b>$x$|*y*") == "\\<b>\\$x\\$\\|\\*y\\*"
    assert md_text("[a](b)\n_c_") == "[a]\\(b) \\_c\\_"


# ---------------------------------------------------------------- 4. loggers


def _grid(tmp_path, task, enc) -> Path:
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"tasks: ['{task}']\nweak: ['{enc}']\nstrong: ['{enc}']\nmethods: [naive]\nseeds: [0]\n")
    return grid


def test_a_logger_that_cannot_start_stops_the_sweep_before_any_work(tmp_path, tiny_encoder, synthetic_task,
                                                                     monkeypatch):
    class MlflowException(Exception):
        pass

    def refuse(name):
        raise MlflowException("The file store is in maintenance mode.\nUse a database backend, e.g. sqlite:///x")

    mlflow = types.SimpleNamespace(set_experiment=refuse, get_tracking_uri=lambda: "file:///tmp/mlruns")
    monkeypatch.setitem(sys.modules, "mlflow", mlflow)
    wd = tmp_path / "w"
    msg = _clean_exit(runner.invoke(app, ["sweep", str(_grid(tmp_path, synthetic_task, tiny_encoder)), "--logger",
                                          "mlflow", "--workdir", str(wd)]))
    assert "--logger mlflow cannot start" in msg and "file:///tmp/mlruns" in msg and "maintenance mode" in msg
    assert "MLFLOW_TRACKING_URI" in msg and "leave out --logger mlflow" in msg
    assert not (wd / "cache").exists() and not (wd / "results.sqlite").exists()


def test_real_mlflow_either_starts_or_says_why(tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from w2sg.loggers import LoggerStartError, make_loggers

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file:{tmp_path / 'mlruns'}")
    try:
        make_loggers(["mlflow"])
    except LoggerStartError as e:
        assert "file:" in str(e) and "MLFLOW_TRACKING_URI" in str(e)


def test_a_logger_that_fails_mid_sweep_warns_once_and_the_sweep_goes_on(tmp_path, tiny_encoder, synthetic_task):
    from w2sg.loggers import LoggerWarning
    from w2sg.sweep import SweepSpec, run_sweep

    class Flaky:
        name = "flaky"
        calls = 0

        def log(self, record):
            Flaky.calls += 1
            raise ConnectionError("tracking server unreachable")

    sweep = SweepSpec(tasks=[str(synthetic_task)], weak=[str(tiny_encoder)], strong=[str(tiny_encoder)],
                      methods=["naive", "confidence"], seeds=[0], train=TrainSpec(mode="frozen"),
                      splits=SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep = run_sweep(sweep, tmp_path, loggers=[Flaky()])
    said = [w for w in caught if issubclass(w.category, LoggerWarning)]
    assert rep.computed == 2 and rep.failed == 0 and Flaky.calls == 1
    assert len(said) == 1 and "flaky" in str(said[0].message) and "unreachable" in str(said[0].message)
    assert len(ResultsStore(tmp_path / "results.sqlite").records()) == 2


# ---------------------------------------------------------------- 5. a report names the runs it covers


def test_a_report_names_the_experiments_it_covers(tmp_path):
    from w2sg.report.html import write_html_report
    from w2sg.report.markdown import write_report

    recs = _records(task="sst2", method="naive")
    md = write_report(recs[:2], tmp_path / "run1").read_text()
    assert "covers 2 experiment(s)" in md and "task sst2" in md and "seed 0, 1" in md
    assert recs[0]["hash"][:12] in md and recs[1]["hash"][:12] in md and recs[2]["hash"][:12] not in md
    _, figures_md = write_html_report(recs, tmp_path / "all", "w2sg sweep: g")
    text = figures_md.read_text() + (tmp_path / "all" / "report.html").read_text()
    assert all(r["hash"][:12] in text for r in recs) and "covers 3 experiment(s)" in text
    assert "stored " in text


def test_rich_markup_in_a_task_path_is_printed_as_typed(tmp_path, tiny_encoder, synthetic_task):
    """A task folder named `a[/x]b [v2]`: `w2sg run` prints the path as typed, and `w2sg results` the task's
    name `r[/x]b [v2]` (rich used to crash on the closing tag `[/x]` and drop `[v2]`)."""
    folder = tmp_path / "a[" / "x]b [v2]"  # the path reads .../a[/x]b [v2]/task.yaml
    folder.mkdir(parents=True)
    for f in synthetic_task.parent.iterdir():
        shutil.copy(f, folder / f.name)
    spec = folder / synthetic_task.name  # records and tables name a YAML task by its name:
    spec.write_text(spec.read_text().replace("name: synthetic_reviews", "name: 'r[/x]b [v2]'"))
    wd = tmp_path / "w"
    res = _tiny(folder / synthetic_task.name, tiny_encoder, wd)
    assert res.exit_code == 0, res.output
    assert "[/x]b [v2]" in res.output.replace("\n", "")
    res = runner.invoke(app, ["results", "--workdir", str(wd)], env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output
    assert "r[/x]b [v2]" in res.output


def test_a_task_spelled_two_ways_in_a_sweep_is_one_task(tmp_path, synthetic_task, monkeypatch):
    from w2sg.sweep import SweepSpec

    monkeypatch.chdir(synthetic_task.parent)
    spec = SweepSpec(tasks=["task.yaml", "./task.yaml", str(synthetic_task)])
    assert spec.tasks == ["task.yaml"]
