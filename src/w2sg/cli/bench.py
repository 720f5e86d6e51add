"""`w2sg bench`: a method on a benchmark suite, its student step sealed away from ground truth, beside the zoo."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from w2sg.cli.common import DataDir, app, console, fail, user_errors

ZOO = ("naive", "naive_hard", "confidence", "product", "filter_confident", "s2s_relabel", "early_stop",
       "probe_relabel(probe=knn)", "probe_relabel(probe=logreg)")


def _spec(label: str):
    """The MethodSpec of a zoo label such as probe_relabel(probe=knn)."""
    from w2sg.config import MethodSpec

    if "(" not in label:
        return MethodSpec(name=label)
    name, opts = label[:-1].split("(", 1)
    return MethodSpec(name=name, options=dict(kv.split("=", 1) for kv in opts.split(",")))


@app.command()
def bench(
    method: Annotated[str | None, typer.Argument(help="a registered method (e.g. confidence) or a .py file holding "
                                                "one method registered with register_method; omit for the zoo "
                                                "alone")] = None,
    suite: Annotated[str, typer.Option(help="the benchmark suite: cpu (frozen features) or gpu")] = "cpu",
    part: Annotated[str, typer.Option(help="dev (iterate on it) or final (every evaluation is counted)")] = "dev",
    workdir: Annotated[Path, typer.Option("--workdir", "-w", help="the bench workdir (its own store and cache; "
                                          "never a study's)")] = Path("w2sg-bench"),
    data_dir: DataDir = None,
    zoo: Annotated[bool, typer.Option(help="also run (or reuse) every zoo method and the baselines")] = True,
    page: Annotated[Path | None, typer.Option(help="write the leaderboard page (README.md and its figure) into "
                                              "this folder")] = None,
    timeout: Annotated[float, typer.Option(help="seconds one sealed student step may take")] = 600.0,
    n_boot: Annotated[int, typer.Option(min=100, help="bootstrap replicates")] = 1000,
):
    """Run METHOD on a suite's dev or final part with its student step sealed (a bubblewrap sandbox that holds
    B's and V's texts, features and weak labels and T's texts and features: no label, no data directory, store,
    cache or network), beside every zoo method and the learn-nothing baselines; print the leaderboard: pooled PGR
    per task with CIs, the median over tasks, the paired comparison with naive and the best known method, runs
    marked invalid with what they tried, and the final-evaluation count per method. Everything is cached in the
    bench workdir; a rerun recomputes nothing."""
    from w2sg.bench import IsolationError, check_isolation
    from w2sg.bench.baselines import BASELINES
    from w2sg.bench.run import log_final, method_identity, read_final_log, run_suite
    from w2sg.bench.suite import PARTS, get_suite
    from w2sg.report.leaderboard import build
    from w2sg.store import ResultsStore

    with user_errors():
        s = get_suite(suite)
        if part not in PARTS:
            raise ValueError(f"--part '{part}': use one of {', '.join(PARTS)}")
        if s.train.mode != "frozen":
            fail(f"suite '{suite}' finetunes ({s.train.mode}); the sealed runner takes frozen features only, so it "
                 "cannot run here yet: use --suite cpu")
        if method is None and not zoo:
            raise ValueError("nothing to run: give a METHOD or keep --zoo")
        try:
            how = check_isolation()
        except IsolationError as e:
            fail(f"cannot seal the method's student step, so bench will not run: {e}")
        console.print(f"[dim]sealed by {escape(how)}[/dim]")
        methods: list = ([method] if method else []) + ([_spec(m) for m in ZOO] + [str(p) for p in
                                                                                  BASELINES.values()] if zoo else [])
        label = method_identity(method)[0] if method else None
        t0 = time.perf_counter()
        seen: dict[str, int] = {}

        def on_cell(m, row):
            name = row.get("method") or str(m)
            seen[name] = seen.get(name, 0) + 1
            flag = "" if row.get("status", "ok") == "ok" else " [red]INVALID[/red]"
            console.print(f"[dim]{escape(name)} {escape(str(row.get('task')))} seed {row.get('seed')}[/dim]{flag}")

        run_suite(s, part, methods, workdir, str(data_dir) if data_dir else None, on_cell, timeout)
        seconds = time.perf_counter() - t0
        store = ResultsStore(Path(workdir) / "results.sqlite")
        records = store.records(status=None, outcomes=True)
        if method is not None:  # the submitted method's label as its sealed run named it
            mine = [r for r in records if r.get("bench_part") == part and
                    r.get("bench_method_version") == method_identity(method)[1] and r.get("bench_method")]
            label = mine[-1]["bench_method"] if mine and method.endswith(".py") else label
        if part == "final" and method is not None:
            n = log_final(workdir, s, label, method_identity(method)[1])
            console.print(f"final evaluation number {n} of {escape(label)} on {s.label} (logged in "
                          f"{escape(str(Path(workdir) / 'final_log.jsonl'))})")
        counts: dict[str, int] = {}
        for e in read_final_log(workdir):
            if e["suite"] == s.label:
                counts[e["method"]] = max(counts.get(e["method"], 0), e["count"])
        names = ([label] if label else []) + [m for m in ZOO] + list(BASELINES)
        board = build(records, list(dict.fromkeys(names)), s.label, part, label, ZOO, counts, n_boot)
        board.notes.append(f"wall time of this command: {seconds:.0f} s ({sum(seen.values())} sealed runs or "
                           "cached rows)")
        _print(board)
        if page is not None:
            _write_page(board, page, s, label)


def _print(board) -> None:
    from rich.table import Table

    t = Table(title=f"leaderboard: {board.suite}, {board.part} part", show_lines=False)
    for h in ["method", *board.tasks, "median over tasks", "final evals"]:
        t.add_column(h)
    for r in board.rows:
        t.add_row(escape(r["method"]), *[r["cells"].get(k, "–") for k in board.tasks], r["median"],
                  str(board.final_counts.get(r["method"], 0)))
    console.print(t)
    for c in board.comparisons:
        console.print(f"{escape(c['label'])}: tasks better / n.r. / worse {c['counts']}; mean Δ PGR {c['diff']}; "
                      f"Wilcoxon p {c['wilcoxon']}, paired t p {c['ttest']}: [bold]{escape(c['verdict'])}[/bold]")
    for line in board.baseline_check + board.invalid + board.notes:
        console.print(escape(line))


def _write_page(board, folder: Path, suite, label) -> None:
    from w2sg.outputs import write_atomic
    from w2sg.report.draw_bench import draw_leaderboard

    folder.mkdir(parents=True, exist_ok=True)
    fig = f"leaderboard_{board.suite}_{board.part}.png"
    (folder / fig).write_bytes(draw_leaderboard(board.rows, f"{board.suite}, {board.part} part", label))
    lines = [f"# w2sg bench: the {board.suite} suite, {board.part} part", "",
             f"Generated by `w2sg bench {(label + ' ') if label else ''}--suite {suite.name} --part {board.part} "
             "--page <folder>` (a method given as a file is named by its `register_method` call). "
             f"Suite: {suite.about}; sizes A {suite.splits.n_weak_train}, B {suite.splits.n_transfer}, V "
             f"{suite.splits.n_val}, T {suite.splits.n_test} rows from a fixed subset of {suite.splits.n_pool} "
             f"(block {suite.blocks[board.part]} of the fixed shuffle: dev and final share no row), seeds "
             f"{list(suite.seeds)}. Every student step ran sealed: a separate process in a bubblewrap sandbox "
             "holding B's and V's texts, frozen features and weak labels and T's texts and features, with no "
             "data directory, store, cache, ground truth or network.", "", f"![leaderboard]({fig})", ""]
    lines += board.markdown()
    write_atomic(folder / "README.md", lambda p: p.write_text("\n".join(lines)))
    console.print(f"wrote {escape(str(folder / 'README.md'))} and {escape(fig)}")
