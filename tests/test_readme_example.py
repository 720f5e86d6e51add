"""The README's notebook example (the Python block after the `tests/test_readme_example.py` marker) runs as
written, on the offline MiniLM and the real SST-2 rows, and gives what it says."""

from __future__ import annotations

import re

import pytest

from w2sg.models.zoo import is_present
from w2sg.result import ExperimentResult
from w2sg.tasks import ENV_VAR

from .conftest import REPO, SHARED_DATA

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not is_present("minilm"), reason="run `w2sg models pull minilm` first"),
    pytest.mark.skipif(not (SHARED_DATA / "sst2").exists(), reason="needs ../shared/data/sst2"),
]
MARKER = "<!-- tests/test_readme_example.py runs the next block -->"


def readme_example() -> str:
    text = (REPO / "README.md").read_text()
    assert text.count(MARKER) == 1, "the README marks one example for this test"
    m = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", text, re.S)
    assert m, "the marker is followed by a ```python block"
    return m.group(1)


def test_the_readme_notebook_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # its workdir lands here
    monkeypatch.setenv(ENV_VAR, str(SHARED_DATA))
    scope: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), scope)
    run, df, summary = scope["run"], scope["df"], scope["summary"]
    assert len(run.results) == 4 and all(isinstance(r, ExperimentResult) for r in run.results)
    assert sorted((r.method, r.seed) for r in run.results) == [("confidence", 0), ("confidence", 1), ("naive", 0),
                                                               ("naive", 1)]
    assert len(df) == 4 and set(df["task"]) == {"sst2"} and set(df["weak"]) == {"tfidf"}
    assert (df["n_transfer"] == 200).all() and (df["n_test"] == 200).all()
    assert df["ceiling_acc"].min() > 0.65  # MiniLM features read sentiment well above chance
    assert sorted(summary["method"]) == ["confidence", "naive"] and (summary["n_seeds"] == 2).all()
    assert "pgr_acc_pooled" in capsys.readouterr().out
    assert (tmp_path / "w2sg-notebook" / "results.sqlite").exists()
