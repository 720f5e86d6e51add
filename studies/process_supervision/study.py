"""Process vs outcome supervision study (issue 25): weak step labels vs weak outcome labels on generated chains.

    python studies/process_supervision/study.py run  [--root DIR] [--part ladder|ceilings|main|hard|all]
    python studies/process_supervision/study.py page [--root DIR] [--out studies/process_supervision]

Workdir `<root>/process_supervision`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from w2sg.study import load_grid, run_by_task

HERE = Path(__file__).resolve().parent
STUDIES = HERE.parent
WORKDIR = "process_supervision"
PARTS = {"ladder": "process_ladder.yaml", "ceilings": "process_ceilings.yaml", "main": "process_main.yaml",
         "hard": "process_hard.yaml"}


def run(root: Path, data_dir: str | None, parts: list[str], tasks: list[str] | None) -> None:
    for part in parts:
        sweep = load_grid(HERE / PARTS[part], STUDIES)
        if tasks:
            sweep = sweep.model_copy(update={"tasks": [t for t in sweep.tasks if t in tasks]})
        run_by_task(sweep, root / WORKDIR, data_dir, f"process-{part}", root / "timings.json", base_dir=STUDIES)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=["run", "page"])
    ap.add_argument("--root", type=Path, default=Path("w2sg-study"))
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--part", choices=[*PARTS, "all"], default="all")
    ap.add_argument("--tasks", default=None, help="comma-separated subset of the grids' tasks")
    ap.add_argument("--out", type=Path, default=HERE)
    a = ap.parse_args()
    if a.cmd == "run":
        run(a.root, a.data_dir, list(PARTS) if a.part == "all" else [a.part], a.tasks.split(",") if a.tasks else None)
    else:
        from page import page  # noqa: PLC0415  (the page module sits beside this script)

        page(a.root, a.out)


if __name__ == "__main__":
    main()
