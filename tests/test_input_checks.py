"""Bad input fails early with one clear message (naming the input and the fix), never a traceback or silence."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from w2sg.cli import app
from w2sg.config import ExperimentSpec, SplitSpec, TrainSpec
from w2sg.models import pull, zoo
from w2sg.sweep import SweepSpec, expand

from .conftest import synthetic_rows

runner = CliRunner()


def _clean_exit(res, code: int = 2) -> str:
    """The command exited with `code` through typer (no exception escaped: no traceback) and said 'error'."""
    assert res.exit_code == code, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    return " ".join(res.output.split())  # rich wraps long lines


def _tiny_run(tmp_path, tiny_encoder, synthetic_task, *extra, weak=None, workdir=None):
    return runner.invoke(app, [
        "run", "--task", str(synthetic_task), "--weak", str(weak or tiny_encoder), "--strong", str(tiny_encoder),
        "-m", "naive", "--seeds", "0", "--n-weak-train", "150", "--n-transfer", "200", "--n-val", "50",
        "--n-test", "200", "--workdir", str(workdir or tmp_path / "w"), *extra], env={"COLUMNS": "250"})


@pytest.fixture
def hub_unreachable(monkeypatch):
    """The Hub probe answers 'unreachable' without touching the network."""
    monkeypatch.setattr(pull, "_hub_probe", {})
    monkeypatch.setattr(pull, "_probe_hub", lambda endpoint, timeout: False)


# ------------------------------------------------------------------------- 3: grid axes that apply nowhere


def test_grid_axis_with_a_typo_in_a_method_option_is_an_error():
    s = SweepSpec(methods=["naive", "confidence"], seeds=[0], grid={"method.options.a_maxx": [0.5, 0.75]})
    with pytest.raises(ValueError) as e:
        expand(s)
    msg = str(e.value)
    assert "method.options.a_maxx" in msg and "a_max" in msg and "confidence" in msg


def test_grid_method_option_axis_still_applies_to_the_methods_that_have_it():
    s = SweepSpec(methods=["naive", "confidence"], seeds=[0], grid={"method.options.a_max": [0.5]})
    assert sorted(c.method.label for c in expand(s)) == ["confidence(a_max=0.5)", "naive"]


def test_grid_weak_axis_without_a_supervisor_mapping_is_an_error():
    with pytest.raises(ValueError, match=r"weak\.error_rate.*(mapping|kind)"):
        expand(SweepSpec(seeds=[0], grid={"weak.error_rate": [0.1]}))


def test_grid_axis_typo_fails_the_dry_run_from_the_cli(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("methods: [naive, confidence]\nseeds: [0]\ngrid: {method.options.a_maxx: [0.5, 0.75]}\n")
    msg = _clean_exit(runner.invoke(app, ["sweep", str(grid), "--dry-run", "--workdir", str(tmp_path / "w")]))
    assert "a_maxx" in msg and "a_max" in msg


@pytest.mark.parametrize("path,words", [
    ("splits.n_weak_train.x", ["splits.n_weak_train", "not a section"]),
    ("train.lr.low", ["train.lr", "not a section"]),
    ("train.lrr", ["lrr", "lr"]),
    ("budget.stepz", ["stepz", "steps"]),
])
def test_grid_path_into_a_value_or_an_unknown_field_is_a_clear_error(path, words):
    with pytest.raises(ValueError) as e:
        expand(SweepSpec(seeds=[0], grid={path: [1]}))
    assert not isinstance(e.value, TypeError)
    for w in words:
        assert w in str(e.value), str(e.value)


# ------------------------------------------------------------------ 6: max length, device names, CUDA missing


def test_position_limit_from_config(tmp_path):
    from w2sg.models.classifier import checkpoint_position_limit, position_limit

    assert position_limit({"model_type": "bert", "max_position_embeddings": 512}) == 512
    # RoBERTa-style position ids start after the padding index: 514 embeddings hold 512 tokens
    assert position_limit({"model_type": "mpnet", "max_position_embeddings": 514, "pad_token_id": 1}) == 512
    assert position_limit({"model_type": "gpt2", "n_positions": 1024}) == 1024
    assert position_limit({"model_type": "mpt", "max_seq_len": 2048}) == 2048
    assert position_limit({"model_type": "x", "text_config": {"max_position_embeddings": 4096}}) == 4096
    assert position_limit({"model_type": "t5", "n_positions": 512}) is None  # relative positions
    (tmp_path / "config.json").write_text('{"model_type": "bert", "max_position_embeddings": 128}')
    assert checkpoint_position_limit(tmp_path) == 128
    assert checkpoint_position_limit("org/name") is None  # a Hub id not on disk: not checked


def test_max_length_above_the_position_limit_fails_before_any_work(tmp_path, tiny_encoder, synthetic_task):
    msg = _clean_exit(_tiny_run(tmp_path, tiny_encoder, synthetic_task, "--max-length", "256"))
    assert "--max-length" in msg and str(tiny_encoder) in msg and "128" in msg
    assert not (tmp_path / "w" / "cache").exists()


def test_max_length_check_names_the_model_in_a_sweep(tmp_path, tiny_encoder, synthetic_task):
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"tasks: ['{synthetic_task}']\nweak: ['{tiny_encoder}']\nstrong: ['{tiny_encoder}']\n"
                    "methods: [naive]\nseeds: [0]\ngrid: {train.max_length: [64, 512]}\n")
    msg = _clean_exit(runner.invoke(app, ["sweep", str(grid), "--workdir", str(tmp_path / "w")]))
    assert "max_length" in msg and "512" in msg and "128" in msg and str(tiny_encoder) in msg
    assert not (tmp_path / "w" / "cache").exists()


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:0", "cuda:3", "mps"])
def test_known_device_names_validate(device):
    assert TrainSpec(device=device).device == device


@pytest.mark.parametrize("device", ["tpu", "gpu", "cuda:", "cuda:x", "CPU "])
def test_unknown_device_is_a_clear_error(device):
    with pytest.raises(ValueError) as e:
        TrainSpec(device=device)
    assert repr(device) in str(e.value) and "cuda:N" in str(e.value)


def test_unknown_device_from_the_cli(tmp_path):
    msg = _clean_exit(runner.invoke(app, ["run", "--device", "tpu", "--workdir", str(tmp_path)]))
    assert "tpu" in msg and "auto, cpu, cuda" in msg


def test_cuda_requested_without_cuda_fails_up_front(tmp_path, tiny_encoder, synthetic_task, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    msg = _clean_exit(_tiny_run(tmp_path, tiny_encoder, synthetic_task, "--device", "cuda"))
    assert "CUDA requested but torch.cuda.is_available() is False; use --device cpu or auto" in msg
    assert not (tmp_path / "w" / "cache").exists()
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"tasks: ['{synthetic_task}']\nweak: ['{tiny_encoder}']\nstrong: ['{tiny_encoder}']\n"
                    "methods: [naive]\nseeds: [0]\n"
                    "splits: {n_weak_train: 150, n_transfer: 200, n_val: 50, n_test: 200}\n"
                    "grid: {train.device: [cpu, 'cuda:1']}\n")
    msg = _clean_exit(runner.invoke(app, ["sweep", str(grid), "--workdir", str(tmp_path / "w")]))
    assert "--device cuda:1" in msg and "CUDA requested" in msg
    assert not (tmp_path / "w" / "cache").exists()
    # a dry run only plans: it warns (the plan may be for another machine) and goes on
    res = runner.invoke(app, ["sweep", str(grid), "--dry-run", "--workdir", str(tmp_path / "w")],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "warning" in res.output and "CUDA requested" in " ".join(res.output.split())


def test_device_checks_with_a_gpu_and_without_mps(monkeypatch):
    import torch

    from w2sg.cli.run import check_devices

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_devices(SweepSpec(train={"device": "cuda"}))
    check_devices(SweepSpec(train={"device": "cuda:0"}, grid={"train.device": ["cpu", "cuda"]}))
    with pytest.raises(ValueError, match=r"--device cuda:3 .*1 CUDA device\(s\) \(cuda:0\.\.cuda:0\)"):
        check_devices(SweepSpec(grid={"train.device": ["cuda:0", "cuda:3"]}))
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"MPS requested.*--device cpu or auto"):
        check_devices(SweepSpec(train={"device": "mps"}))


def test_specs_with_cuda_stay_loadable_without_a_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert SweepSpec(train={"device": "cuda"}).train.device == "cuda"


# ------------------------------------------------------------------------------------ 7: Hub unreachable


def test_hub_probe_is_cached_and_respects_offline_variables(monkeypatch):
    calls = []

    def fake(endpoint, timeout):
        calls.append((endpoint, timeout))
        return False

    monkeypatch.setattr(pull, "_probe_hub", fake)
    monkeypatch.setattr(pull, "_hub_probe", {})
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    assert pull.hub_reachable() is False and pull.hub_reachable() is False
    assert len(calls) == 1 and calls[0][0] == "https://huggingface.co" and calls[0][1] <= 5
    monkeypatch.setattr(pull, "_probe_hub", lambda endpoint, timeout: True)
    monkeypatch.setattr(pull, "_hub_probe", {})
    assert pull.hub_reachable() is True
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert pull.hub_reachable() is False  # offline mode wins without a probe
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    assert pull.hub_reachable() is False


def test_probe_says_unreachable_when_the_request_fails(monkeypatch):
    import urllib.request

    def fail(*a, **k):
        raise OSError("no route to host")

    monkeypatch.setattr(urllib.request, "urlopen", fail)
    assert pull._probe_hub("https://huggingface.co", 3.0) is False


def test_hub_id_with_the_hub_unreachable_is_a_clear_error(hub_unreachable, monkeypatch):
    monkeypatch.setattr(pull, "hf_cached_snapshot", lambda repo_id: None)
    with pytest.raises(zoo.HubUnreachableError) as e:
        zoo.resolve("org/name")
    msg = str(e.value)
    assert "'org/name'" in msg and "w2sg models pull" in msg and "local" in msg and "network" in msg
    assert isinstance(e.value, FileNotFoundError)


def test_hub_id_in_the_local_hf_cache_resolves_offline(hub_unreachable, monkeypatch, tmp_path):
    snap = tmp_path / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    monkeypatch.setattr(pull, "hf_cached_snapshot", lambda repo_id: snap if repo_id == "org/name" else None)
    r = zoo.resolve("org/name")
    assert (r.path, r.identity, r.arch) == (str(snap), "org/name", "auto")  # same identity: caches still hit


def test_hub_id_offline_fails_fast_from_the_cli(tmp_path, monkeypatch):
    monkeypatch.setattr(pull, "_hub_probe", {})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(pull, "hf_cached_snapshot", lambda repo_id: None)
    msg = _clean_exit(runner.invoke(app, ["run", "--weak", "org/name", "--workdir", str(tmp_path)]))
    assert "org/name" in msg and "HF_HUB_OFFLINE" in msg
    assert not (tmp_path / "cache").exists()
    grid = tmp_path / "grid.yaml"
    grid.write_text("weak: [org/name]\nseeds: [0]\n")
    msg = _clean_exit(runner.invoke(app, ["sweep", str(grid), "--dry-run", "--workdir", str(tmp_path)]))
    assert "org/name" in msg


def test_hub_id_without_network_fails_within_seconds(tmp_path, monkeypatch):
    """The real probe (no monkeypatching): meaningful only where the Hub cannot be reached."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(pull, "_hub_probe", {})
    if pull.hub_reachable():
        pytest.skip("the Hugging Face Hub is reachable from here")
    monkeypatch.setattr(pull, "_hub_probe", {})
    t0 = time.perf_counter()
    msg = _clean_exit(runner.invoke(app, ["run", "--weak", "no-such-org/no-such-model", "--workdir", str(tmp_path)]))
    assert time.perf_counter() - t0 < 10
    assert "no-such-org/no-such-model" in msg and "unreachable" in msg


# ---------------------------------------------------------------------------------- 8: unclear messages


@pytest.mark.parametrize("seeds", ["-1", "0,2147483648", "99999999999"])
def test_out_of_range_seeds_name_the_flag(tmp_path, seeds):
    msg = _clean_exit(runner.invoke(app, ["run", "--seeds", seeds, "--workdir", str(tmp_path)]))
    assert "--seeds" in msg and "2147483647" in msg


def test_out_of_range_seeds_in_specs():
    with pytest.raises(ValueError, match=r"seeds.*2147483647"):
        SweepSpec(seeds=[0, -3])
    with pytest.raises(ValueError, match="2147483647"):
        ExperimentSpec(seed=2**31)
    assert SweepSpec(seeds=[0, 2**31 - 1]).seeds == [0, 2**31 - 1]


def _yaml_task(tmp_path: Path, data_name: str, data: bytes, extra: str = "") -> Path:
    (tmp_path / data_name).write_bytes(data)
    spec = tmp_path / "t.yaml"
    spec.write_text(f"name: enc\nfiles: {{pool: {data_name}}}\ntext: '{{title}}'\nlabel: label\n{extra}")
    return spec


@pytest.mark.parametrize("name,body", [
    ("d.csv", "title,label\ncafé au lait,1\n".encode("latin-1")),
    ("d.jsonl", '{"title": "ok", "label": 1}\n{"title": "café", "label": 0}\n'.encode("latin-1")),
    ("d.json", '[{"title": "ok", "label": 1},\n {"title": "caf\xe9", "label": 0}]'.encode("latin-1")),
])
def test_non_utf8_data_file_names_the_file_and_says_utf8(tmp_path, name, body):
    from w2sg.tasks import MalformedRowError, load_task

    spec = _yaml_task(tmp_path, name, body)
    with pytest.raises(MalformedRowError) as e:
        load_task(str(spec))
    msg = str(e.value)
    offset = body.index(b"\xe9")
    assert name in msg and "UTF-8" in msg and f"byte offset {offset}" in msg and "0xe9" in msg
    line = body.count(b"\n", 0, offset) + 1
    assert f"line {line}" in msg


def test_non_utf8_data_file_from_the_cli(tmp_path, tiny_encoder):
    spec = _yaml_task(tmp_path, "d.csv", "title,label\ncafé au lait,1\n".encode("latin-1"))
    msg = _clean_exit(runner.invoke(app, ["run", "--task", str(spec), "--weak", str(tiny_encoder), "--strong",
                                          str(tiny_encoder), "--workdir", str(tmp_path / "w")]))
    assert "d.csv" in msg and "UTF-8" in msg


@pytest.mark.parametrize("name,body", [
    ("d.csv", "title,label\nwarm,1\ncold,0\n"),
    ("d.tsv", "title\tlabel\nwarm\t1\ncold\t0\n"),
    ("d.jsonl", '{"title": "warm", "label": 1}\n{"title": "cold", "label": 0}\n'),
    ("d.json", '[{"title": "warm", "label": 1}, {"title": "cold", "label": 0}]'),
])
def test_utf8_bom_is_stripped(tmp_path, name, body):
    from w2sg.tasks import load_task

    spec = _yaml_task(tmp_path, name, "\ufeff".encode() + body.encode())
    data = load_task(str(spec))
    assert [(r.text, r.label) for r in data.pool] == [("warm", 1), ("cold", 0)]


def test_gzipped_file_with_bom_and_latin1(tmp_path):
    import gzip

    from w2sg.tasks import MalformedRowError, load_task

    spec = _yaml_task(tmp_path, "d.csv.gz", gzip.compress("\ufefftitle,label\nwarm,1\n".encode()))
    assert [r.text for r in load_task(str(spec)).pool] == ["warm"]
    spec = _yaml_task(tmp_path, "d.csv.gz", gzip.compress("title,label\ncafé,1\n".encode("latin-1")))
    with pytest.raises(MalformedRowError, match=r"d\.csv\.gz.*UTF-8"):
        load_task(str(spec))


def test_report_pointing_at_a_file_fails_before_any_work(tmp_path):
    (tmp_path / "report.md").write_text("not a directory")
    msg = _clean_exit(runner.invoke(app, ["run", "--report", str(tmp_path / "report.md"),
                                          "--workdir", str(tmp_path / "w")]))
    assert "--report" in msg and "report.md" in msg and "directory" in msg
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_workdir_pointing_at_a_file_is_a_clear_error(tmp_path, command):
    (tmp_path / "runs").write_text("a file")
    grid = tmp_path / "grid.yaml"
    grid.write_text("seeds: [0]\n")
    args = ["run"] if command == "run" else ["sweep", str(grid)]
    msg = _clean_exit(runner.invoke(app, [*args, "--workdir", str(tmp_path / "runs")]))
    assert "--workdir" in msg and "runs" in msg and "directory" in msg


def test_output_path_os_errors_are_one_line(capsys):
    """Errors from writing outputs (a file where a folder should be, ...) are not tracebacks."""
    import typer

    from w2sg.cli.common import user_errors

    for err, words in [(FileExistsError(17, "File exists", "/x/report"), "a file is in the way"),
                       (IsADirectoryError(21, "Is a directory", "/x/r.csv"), "it is a directory"),
                       (NotADirectoryError(20, "Not a directory", "/x/f/cache"), "a file is in the way"),
                       (PermissionError(13, "Permission denied", "/root/x"), "Permission denied")]:
        with pytest.raises(typer.Exit) as e, user_errors():
            raise err
        assert e.value.exit_code == 2
        err_out = " ".join(capsys.readouterr().err.split())
        assert f"cannot write '{err.filename}': {words}" in err_out and "choose another output path" in err_out


def test_logger_without_its_package_says_how_to_install(tmp_path, tiny_encoder, synthetic_task, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # makes `import wandb` fail
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"tasks: ['{synthetic_task}']\nweak: ['{tiny_encoder}']\nstrong: ['{tiny_encoder}']\n"
                    "methods: [naive]\nseeds: [0]\n")
    msg = _clean_exit(runner.invoke(app, ["sweep", str(grid), "--logger", "wandb", "--workdir", str(tmp_path / "w")]))
    assert "pip install wandb" in msg
    assert not (tmp_path / "w" / "cache").exists()


# ------------------------------------------------------------------------------------------- 9: small ones


def test_empty_seeds_flag_is_an_error(tmp_path):
    msg = _clean_exit(runner.invoke(app, ["run", "--seeds", "", "--workdir", str(tmp_path)]))
    assert "--seeds is empty" in msg
    msg = _clean_exit(runner.invoke(app, ["run", "--seeds", " , ", "--workdir", str(tmp_path)]))
    assert "--seeds is empty" in msg


@pytest.mark.parametrize("field", ["seeds", "methods", "tasks", "weak", "strong", "budgets"])
def test_empty_lists_in_a_spec_name_the_field(tmp_path, field):
    with pytest.raises(ValueError, match=f"{field} is empty"):
        SweepSpec(**{field: []})
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"{field}: []\n")
    msg = _clean_exit(runner.invoke(app, ["run", "--config", str(cfg), "--workdir", str(tmp_path / "w")]))
    assert f"{field} is empty" in msg
    grid = tmp_path / "grid.yaml"
    grid.write_text(f"{field}: []\n")
    msg = _clean_exit(runner.invoke(app, ["sweep", str(grid), "--dry-run", "--workdir", str(tmp_path / "w")]))
    assert f"{field} is empty" in msg


@pytest.mark.parametrize("method", ["early_stop", "early_stop_oracle", "generative_finetune+early_stop"])
def test_early_stop_method_without_validation_rows_fails_before_any_work(method):
    s = SweepSpec(methods=[method], seeds=[0], splits=SplitSpec(n_val=0), train=TrainSpec(mode="full"))
    with pytest.raises(ValueError, match=r"early_stop.*--n-val"):
        expand(s)


def test_early_stop_method_with_n_val_0_from_the_cli(tmp_path, tiny_encoder, synthetic_task):
    res = runner.invoke(app, [
        "run", "--task", str(synthetic_task), "--weak", str(tiny_encoder), "--strong", str(tiny_encoder),
        "-m", "early_stop", "--seeds", "0", "--n-weak-train", "150", "--n-transfer", "200", "--n-val", "0",
        "--n-test", "200", "--workdir", str(tmp_path / "w")])
    msg = _clean_exit(res)
    assert "early_stop" in msg and "--n-val" in msg
    assert not (tmp_path / "w" / "cache").exists()


@pytest.mark.parametrize("workers", ["0", "-1"])
def test_sweep_workers_must_be_positive(tmp_path, workers):
    grid = tmp_path / "grid.yaml"
    grid.write_text("seeds: [0]\n")
    res = runner.invoke(app, ["sweep", str(grid), "--workers", workers, "--workdir", str(tmp_path / "w")])
    assert res.exit_code == 2 and "--workers" in res.output
    assert not (tmp_path / "w").exists()


def test_tasks_with_a_missing_data_dir_says_so(tmp_path):
    msg = _clean_exit(runner.invoke(app, ["tasks", "--data-dir", str(tmp_path / "nonexistent")]))
    assert "nonexistent" in msg and "does not exist" in msg


def _overlap_task(tmp_path: Path) -> Path:
    """A YAML task whose pool repeats 3 of its test rows (they are dropped from the pool, with a note)."""
    rows = synthetic_rows(700, seed=1)
    d = tmp_path / "overlap"
    d.mkdir()
    with open(d / "pool.jsonl", "w") as f:
        for r in rows[:500] + rows[500:503]:
            f.write(json.dumps(r) + "\n")
    with open(d / "test.jsonl", "w") as f:
        for r in rows[500:]:
            f.write(json.dumps(r) + "\n")
    (d / "task.yaml").write_text("name: overlap\nfiles: {pool: pool.jsonl, test: test.jsonl}\n"
                                 "text: '{review}'\nlabel: label\n")
    return d / "task.yaml"


def test_task_notes_are_shown_when_a_run_starts(tmp_path, tiny_encoder):
    task = _overlap_task(tmp_path)
    res = _tiny_run(tmp_path, tiny_encoder, task)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "overlap: pool: dropped 3 rows whose text or group also occurs in test" in text
    assert text.index("dropped 3 rows") < text.index("mean ± sd")  # at the start, before the tables
    # the tiny model holds 128 positions: the default max_length (256) only warns, as short texts run fine
    assert f"train.max_length 256 (the default) is above the position limit of model '{tiny_encoder}'" in text


def test_task_notes_are_shown_by_w2sg_tasks(tmp_path):
    from w2sg.tasks import TaskDef, register_task
    from w2sg.tasks.registry import registered
    from w2sg.tasks.schema import Example

    def local(root):
        pool = [Example(f"p{i}", f"p{i}", f"text {i}", i % 2) for i in range(10)]
        return pool, [Example("t0", "t0", "text 3", 1)]

    register_task(TaskDef("zz_notes_test", "a task with a pool/test overlap", local=local))
    try:
        res = runner.invoke(app, ["tasks", "--data-dir", str(tmp_path)], env={"COLUMNS": "250"})
    finally:
        registered().pop("zz_notes_test")
    assert res.exit_code == 0, res.output
    assert "zz_notes_test: pool: dropped 1 rows whose text or group also occurs in test" in " ".join(
        res.output.split())


def test_progress_bars_are_off_when_stderr_is_not_a_terminal(monkeypatch):
    import importlib

    import huggingface_hub.utils as hf_utils
    import transformers.utils.logging as tf_logging

    hf_tqdm = importlib.import_module("huggingface_hub.utils.tqdm")  # the module (the package exports a class)

    monkeypatch.setattr(hf_tqdm, "HF_HUB_DISABLE_PROGRESS_BARS", None)  # as if imported with the variable unset
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "0")
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS")  # restored (unset) after the test
    tf_logging.enable_progress_bar()
    hf_utils.enable_progress_bars()
    try:
        assert tf_logging.is_progress_bar_enabled() and not hf_utils.are_progress_bars_disabled()
        res = runner.invoke(app, ["methods"])  # CliRunner's stderr is not a terminal
        assert res.exit_code == 0
        assert not tf_logging.is_progress_bar_enabled()
        assert hf_utils.are_progress_bars_disabled()
        assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"  # for worker processes and later imports
    finally:
        os.environ.pop("HF_HUB_DISABLE_PROGRESS_BARS", None)
        tf_logging.enable_progress_bar()
        hf_utils.enable_progress_bars()
