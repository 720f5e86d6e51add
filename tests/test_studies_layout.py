"""The studies' layout: one folder per study (grids, a script, its page and figures), no study importing another,
YAML tasks keyed (and hashed) as before the folders, commands printed with the paths that exist, and the library's
per-task loop running a grid from a folder without leaving the caller there."""

import ast
import importlib.util
import os
import re
from pathlib import Path

import pytest

from w2sg.study import load_grid, run_by_task

from .conftest import REPO

STUDIES = REPO / "studies"
NAMES = ("method_zoo", "reward_modelling", "scaling", "testbeds", "debate", "process_supervision")


def _load(name):
    spec = importlib.util.spec_from_file_location(f"layout_{name}", STUDIES / name / "study.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", NAMES)
def test_each_study_is_a_folder_with_its_script_page_and_grids(name):
    folder = STUDIES / name
    assert (folder / "study.py").is_file() and (folder / "README.md").is_file()
    mod = _load(name)
    grids = []  # PARTS: part -> grid, (grid, workdir) or [(grid, workdir, restriction), ...]
    for v in mod.PARTS.values():
        grids += [v] if isinstance(v, str) else [v[0]] if isinstance(v, tuple) else [x[0] for x in v]
    base = STUDIES if name == "reward_modelling" else folder  # its grids name the zoo's by their folder
    for grid in grids:
        assert (base / grid).is_file(), f"{name}: grid {grid} missing"
    for png in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", (folder / "README.md").read_text()):
        assert (folder / png).is_file(), f"{name}/README.md shows {png}, which is not beside it"
    assert not list(STUDIES.glob("*.py")) and not list(STUDIES.glob("*.yaml"))  # nothing left in the flat folder


@pytest.mark.parametrize("name", NAMES)
def test_no_study_imports_another_or_changes_directory(name):
    tree = ast.parse((STUDIES / name / "study.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & set(NAMES), f"{name} imports a sibling study: {imported & set(NAMES)}"
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not {"sys.path.insert", "os.chdir"} & calls


def test_printed_commands_and_paths_exist():
    """Every `python studies/...py` and `studies/...` path in the pages, READMEs and scripts names a file that exists
    (old pages are quoted as `git show <commit>:studies/results/...`, which is history, not a path)."""
    texts = [STUDIES / "README.md", REPO / "README.md", *STUDIES.glob("*/README.md"), *STUDIES.glob("*/study.py"),
             *STUDIES.glob("*/comparison.md")]
    for path in texts:
        text = re.sub(r"git show [\w{}]+:studies/\S+", "", path.read_text())
        for ref in re.findall(r"studies/[\w/.*-]+", text):
            ref = ref.rstrip(".")
            if "*" in ref:
                assert list(REPO.glob(ref)), f"{path}: {ref} matches nothing"
            else:
                assert (REPO / ref).exists(), f"{path}: {ref} does not exist"


def test_yaml_tasks_keep_their_keys_and_hashes_from_any_directory(tmp_path, monkeypatch):
    """A YAML task's key is its path relative to studies/ (it enters the experiment hash): loading the grid from
    elsewhere with base_dir gives the keys and hashes the scaling study recorded when it ran from studies/."""
    from w2sg.config_io import load_yaml_spec
    from w2sg.sweep import SweepSpec, expand

    grid = STUDIES / "scaling" / "scaling_novel.yaml"
    monkeypatch.chdir(tmp_path)
    sweep = load_grid(grid, base_dir=STUDIES)
    assert os.getcwd() == str(tmp_path)
    assert "tasks/sst2_cipher.yaml" in sweep.tasks and "tasks/sciq_cipher_half.yaml" in sweep.tasks
    monkeypatch.chdir(STUDIES)  # how the study used to run: from studies/
    before = load_yaml_spec(grid, SweepSpec)
    assert sweep.tasks == before.tasks
    assert [s.hash() for s in expand(sweep)] == [s.hash() for s in expand(before)]


def test_run_by_task_runs_each_task_from_base_dir_and_returns(tmp_path, monkeypatch):
    import w2sg.sweep as sweep_mod

    seen = []

    class Report:
        computed, skipped, failed = 1, 0, 0

    def fake_run_sweep(sweep, workdir, data_dir=None, on_event=None):
        seen.append((os.getcwd(), list(sweep.tasks), str(workdir), data_dir))
        return Report()

    monkeypatch.setattr(sweep_mod, "run_sweep", fake_run_sweep)
    monkeypatch.chdir(tmp_path)
    sweep = load_grid(STUDIES / "scaling" / "scaling_novel.yaml", base_dir=STUDIES)
    run_by_task(sweep, Path("w2sg-study/scaling"), "data", "novel", Path("w2sg-study/t.json"), base_dir=STUDIES)
    assert os.getcwd() == str(tmp_path)
    assert [s[1] for s in seen] == [[t] for t in sweep.tasks]
    assert {s[0] for s in seen} == {str(STUDIES)}
    assert {s[2] for s in seen} == {str(tmp_path / "w2sg-study" / "scaling")}  # the caller's paths, made absolute
    assert {s[3] for s in seen} == {str(tmp_path / "data")}
    import json

    timings = json.loads((tmp_path / "w2sg-study" / "t.json").read_text())
    assert [t["task"] for t in timings] == sweep.tasks and {t["part"] for t in timings} == {"novel"}
