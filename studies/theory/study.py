"""Theory study (issue 26): each published prediction about weak-to-strong generalization beside its measurement
on w2sg's own runs, with a verdict (holds / fails / not resolved at this scale).

    python studies/theory/study.py run  [--root DIR] [--data-dir D] [--part squared|noise|ladder] [--task T]
    python studies/theory/study.py page [--root DIR] [--out studies/theory]

Grids: theory_squared.yaml (the squared-loss and cross-entropy students, minilm -> mpnet, the method zoo's tasks and
workdir), theory_noise.yaml (rule and random synthetic supervisors at five error rates, same workdir),
theory_ladder.yaml (five weak supervisors -> qwen2.5-coder-0.5b, the scaling study's workdir and splits). The page
also reads the method zoo's budget rows (early stopping vs convergence). Every number comes from the stores and
the cached predictions and features (`w2sg.pipeline.theory.theory_inputs`); nothing is trained by `page`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
STUDIES = HERE.parent
sys.path.insert(0, str(HERE))

from w2sg.study import load_grid, run_by_task  # noqa: E402

PARTS = {"squared": ("theory_squared.yaml", "frozen"), "noise": ("theory_noise.yaml", "frozen"),
         "ladder": ("theory_ladder.yaml", "scaling")}


def grid(part: str):
    return load_grid(HERE / PARTS[part][0], STUDIES)


def run(root: Path, data_dir: str | None, parts: list[str], tasks: list[str] | None = None) -> None:
    """Run the grids (resumable: finished cells are skipped); `tasks` restricts them."""
    for part in parts:
        sweep = grid(part)
        if tasks:
            sweep = sweep.model_copy(update={"tasks": [t for t in sweep.tasks if t in tasks]})
        run_by_task(sweep, root / PARTS[part][1], data_dir, f"theory-{part}", root / "theory_timings.json",
                    base_dir=STUDIES)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run the grids (resumable)")
    r.add_argument("--root", type=Path, default=Path("w2sg-study"))
    r.add_argument("--data-dir", default=None)
    r.add_argument("--part", choices=list(PARTS), action="append")
    r.add_argument("--task", action="append")
    p = sub.add_parser("page", help="write the page and figures from the stores")
    p.add_argument("--root", type=Path, default=Path("w2sg-study"))
    p.add_argument("--out", type=Path, default=HERE)
    p.add_argument("--data-dir", default=None)
    a = ap.parse_args(argv)
    if a.cmd == "run":
        run(a.root, a.data_dir, a.part or list(PARTS), a.task)
    else:
        from page import write_page

        write_page(a.root, a.out, a.data_dir)


if __name__ == "__main__":
    main()
