"""What a newcomer trips over (issue 23, item 8): a YAML task is recorded by its name (its path kept apart, the
hash unchanged), no tokenizer warning for texts that are truncated anyway, and a progress line during a long
feature pass when stderr is not a terminal."""

from __future__ import annotations

import io
import json
import sqlite3

import pytest
import torch
from typer.testing import CliRunner

import w2sg
from w2sg.cli import app
from w2sg.config import ExperimentSpec
from w2sg.store import ResultsStore, matches_task
from w2sg.tasks.keys import task_key, task_name
from w2sg.train import featurizer as featurizer_module
from w2sg.train.batching import tokenize
from w2sg.train.featurizer import Backbone, Featurizer, Heartbeat

from .conftest import REPO

runner = CliRunner()
SIZES = ["--n-weak-train", "150", "--n-transfer", "200", "--n-val", "50", "--n-test", "200"]
WARNING = "Token indices sequence length is longer than the specified maximum"


# ---------------------------------------------------------------- (a) a YAML task is named by its `name:`


def test_task_name_of_a_yaml_spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("name: my_reviews\nfiles: {pool: p.jsonl}\ntext: '{t}'\nlabel: y\n")
    (tmp_path / "nameless.yaml").write_text("files: {pool: p.jsonl}\n")
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    assert task_name("sst2") == "sst2" and task_name("mine.yaml") == "my_reviews"
    for kept in ("nameless.yaml", "broken.yaml", "missing.yaml"):  # nothing better to show: the path
        assert task_name(kept) == kept
    rec = {"task": "my_reviews", "task_path": "mine.yaml"}
    assert matches_task(rec, ["my_reviews"]) and matches_task(rec, ["./mine.yaml"])
    assert matches_task(rec, [str(tmp_path / "mine.yaml")]) and not matches_task(rec, ["sst2"])


def test_a_yaml_task_is_recorded_by_its_name_with_its_path_kept(tmp_path, tiny_encoder, synthetic_task):
    res = runner.invoke(app, ["run", "--task", str(synthetic_task), "--weak", str(tiny_encoder), "--strong",
                              str(tiny_encoder), *SIZES, "--max-length", "128", "--seeds", "0", "-m",
                              "naive,confidence", "--workdir", str(tmp_path)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    key = task_key(str(synthetic_task))
    recs = ResultsStore(tmp_path / "results.sqlite").records()
    assert len(recs) == 2
    for r in recs:
        assert r["task"] == "synthetic_reviews" and r["task_path"] == key
        # the spec (and so the experiment hash) still names the task by its path
        assert r["spec"]["task"] == key and ExperimentSpec.model_validate(r["spec"]).task == key
    assert "synthetic_reviews" in res.output.split("experiments")[-1]  # the table names the task

    # `results --task` and `compare --task` take the name or the path
    for name in ("synthetic_reviews", str(synthetic_task)):
        out = runner.invoke(app, ["results", "--task", name, "-f", "json", "--workdir", str(tmp_path)])
        assert out.exit_code == 0 and len(json.loads(out.stdout)) == 2, (name, out.output)
        out = runner.invoke(app, ["compare", "naive", "confidence", "--task", name, "-f", "json",
                                  "--workdir", str(tmp_path)])
        assert out.exit_code == 0, out.output
        assert [r["task"] for r in json.loads(out.stdout)][0] == "synthetic_reviews"
        assert len(w2sg.results(tmp_path, task=name)) == 2
    out = runner.invoke(app, ["results", "--task", "sst2", "-f", "json", "--workdir", str(tmp_path)])
    assert json.loads(out.stdout) == []

    # a row stored before (its task column is the path) keeps its path as its task, and is found by it
    with sqlite3.connect(tmp_path / "results.sqlite") as con:
        con.execute("UPDATE experiments SET task=? WHERE method='naive'", (key,))
    old = ResultsStore(tmp_path / "results.sqlite").records(task=str(synthetic_task), method="naive")
    assert [(r["task"], r["task_path"]) for r in old] == [(key, key)]


# ---------------------------------------------------------------- (b) no tokenizer warning when truncating


@pytest.fixture
def short_tokenizer(tiny_encoder):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_encoder)  # a fresh one: transformers warns once per tokenizer
    tok.model_max_length = 8
    return tok


LONG = ["great movie " * 20, "dull"]


def test_the_tokenizer_warning_is_real_without_verbose_false(short_tokenizer, caplog):
    short_tokenizer(LONG, add_special_tokens=True, truncation=False)  # what the code did before
    assert WARNING in caplog.text


def test_truncated_texts_print_no_tokenizer_warning(short_tokenizer, tiny_encoder, caplog):
    rows = tokenize(short_tokenizer, LONG, max_length=6)
    assert rows.n_truncated == 1 and max(len(x) for x in rows.input_ids) == 6
    backbone = Backbone(str(tiny_encoder))
    backbone._tokenizer = short_tokenizer
    assert backbone.count_truncated(LONG, 6) == 1
    assert WARNING not in caplog.text


def test_the_zero_shot_scorer_counts_truncation_without_the_warning(short_tokenizer, tiny_encoder, caplog):
    from w2sg.train.zero_shot import ZeroShotLM

    lm = ZeroShotLM(str(tiny_encoder), identity="tiny", max_length=6, device="cpu")
    lm._tokenizer = short_tokenizer
    assert lm.count_truncated(LONG, "{text}") == 1
    assert WARNING not in caplog.text


# ---------------------------------------------------------------- (c) a progress line every ~30 s


class FakeClock:
    def __init__(self, step: float):
        self.t, self.step = 0.0, step

    def __call__(self) -> float:
        now = self.t
        self.t += self.step
        return now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_heartbeat_prints_rate_and_eta_about_every_30_seconds():
    out, t = io.StringIO(), [0.0]
    beat = Heartbeat("features of m", 1000, stream=out, clock=lambda: t[0])
    for _ in range(10):  # 100 texts every 10 s: 10 texts/s
        t[0] += 10
        beat.advance(100)
    beat.finish()
    assert out.getvalue().splitlines() == [
        "features of m: 300/1000 texts, 10.0 texts/s, ETA 1m10s",
        "features of m: 600/1000 texts, 10.0 texts/s, ETA 40s",
        "features of m: 900/1000 texts, 10.0 texts/s, ETA 10s",
        "features of m: 1000 texts in 1m40s (10.0 texts/s)",
    ]


def test_heartbeat_is_silent_on_a_terminal_and_for_short_passes():
    tty, short, t = Tty(), io.StringIO(), [0.0]
    beats = [Heartbeat("f", 100, stream=tty, clock=lambda: t[0]), Heartbeat("f", 100, stream=short,
                                                                            clock=lambda: t[0] / 100)]
    for _ in range(10):
        t[0] += 10
        for b in beats:
            b.advance(10)
    for b in beats:
        b.finish()
    assert tty.getvalue() == "" and short.getvalue() == ""


def test_a_feature_pass_prints_progress_lines_when_stderr_is_not_a_terminal(tiny_encoder, tmp_path, monkeypatch,
                                                                             capsys):
    monkeypatch.setattr(featurizer_module, "_now", FakeClock(step=31.0))  # every batch takes 31 s
    f = Featurizer(Backbone(str(tiny_encoder)), "tiny", tmp_path, max_length=32, batch_size=4,
                   device=torch.device("cpu"))
    texts = [f"great movie #{i}" for i in range(12)]
    assert f(texts).shape[0] == 12
    # only the heartbeat's lines: other libraries may write to stderr too (loading bars, warnings, blank lines,
    # depending on what earlier tests in the session configured)
    label = f"features of {tiny_encoder.name}: "
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith(label)]
    assert len(lines) == 3, lines  # two beats (after batches 1 and 2; none at the end of the pass), then the total
    assert lines[0].startswith(label + "4/12 texts, ") and "ETA" in lines[0]
    assert lines[1].startswith(label + "8/12 texts, ")
    assert lines[-1].startswith(label + "12 texts in ")
    f(texts)  # cached: no pass, no line
    assert label not in capsys.readouterr().err


# ---------------------------------------------------------------- (d) the protocol's picture


def test_the_readme_shows_the_protocol_picture_drawn_by_its_script(tmp_path, monkeypatch):
    import importlib.util

    readme = (REPO / "README.md").read_text()
    assert "](docs/protocol.svg)" in readme and "docs/protocol.py" in readme
    svg = (REPO / "docs" / "protocol.svg").read_text()
    for label in ("weak-train", "transfer set", "(from B's pool)", "① weak model", "A's ground truth",
                  "labels B and V", "③ student: the strong", "B's weak labels", "④ ceiling: the strong",
                  "B's ground truth", "V's / B's weak labels", "scored on T:",
                  "PGR = (student − weak) / (ceiling − weak)"):
        assert label in svg, label
    spec = importlib.util.spec_from_file_location("protocol_picture", REPO / "docs" / "protocol.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path / "protocol.svg")
    module.main()
    assert (tmp_path / "protocol.svg").read_text() == svg  # the committed picture is the script's
