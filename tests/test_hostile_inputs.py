"""The table of bad inputs a new user tries: each exits non-zero with one message naming the input and the fix,
prints no traceback, and leaves the store's existing rows (or a damaged store's bytes) unchanged."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from w2sg.cli import app
from w2sg.config import ExperimentSpec
from w2sg.store import ResultsStore

runner = CliRunner()
TINY_MODELS = ["--task", "{task}", "--weak", "{enc}", "--strong", "{enc}", "--n-weak-train", "150",
               "--n-transfer", "200", "--n-val", "50", "--n-test", "200"]
TINY = [*TINY_MODELS, "--seeds", "0", "-m", "naive"]
GRID = "name: g\ntasks: ['{task}']\nweak: ['{enc}']\nstrong: ['{enc}']\nmethods: [naive, confidence]\nseeds: [0]\n"

# id, command line ({wd}: the workdir with one stored row; {tmp}: a scratch dir; {enc}, {task}: tiny fixtures),
# files to write first ({name: text}, under {tmp}), fragments the message must contain (case-insensitive)
CASES = [
    ("unknown_task", ["run", "--task", "sst3"], {}, ["sst3", "known tasks"]),
    ("unknown_model", ["run", "--weak", "minlm"], {}, ["minlm"]),
    ("unknown_method", ["run", "-m", "magic"], {}, ["magic", "known methods"]),
    ("retired_method", ["run", "-m", "bootstrap"], {}, ["bootstrap", "kind: chain"]),
    ("unknown_supervisor", ["run", "--set", "weak={kind: oracle}"], {}, ["oracle", "w2sg supervisors"]),
    ("bad_supervisor_option", ["run", "--set", "weak={kind: synthetic, error_rat: 0.1}"], {}, ["error_rat"]),
    ("set_unknown_field", ["run", "--set", "train.learning_rate=1"], {}, ["learning_rate"]),
    ("set_without_value", ["run", "--set", "train.lr"], {}, ["--set", "path=value"]),
    ("bad_budget", ["run", "-b", "steps=many"], {}, ["steps=many"]),
    ("bad_l2", ["run", "--l2", "strong"], {}, ["--l2"]),
    ("missing_config", ["run", "--config", "{tmp}/nope.yaml"], {}, ["nope.yaml", "does not exist"]),
    ("config_bad_field", ["run", "--config", "{tmp}/c.yaml"], {"c.yaml": "task: sst2\ntrain: {lr: fast}\n"},
     ["c.yaml", "lr"]),
    ("seeds_negative", ["run", "--seeds", "-1"], {}, ["--seeds"]),
    ("seeds_huge", ["run", "--seeds", "99999999999"], {}, ["--seeds"]),
    ("seeds_empty", ["run", "--seeds", ""], {}, ["--seeds"]),
    ("config_empty_seeds", ["run", "--config", "{tmp}/c.yaml"], {"c.yaml": "seeds: []\n"}, ["seeds"]),
    ("config_empty_methods", ["run", "--config", "{tmp}/c.yaml"], {"c.yaml": "methods: []\n"}, ["methods"]),
    ("early_stop_without_val", ["run", "-m", "early_stop", "--n-val", "0"], {}, ["--n-val"]),
    ("device_tpu", ["run", "--device", "tpu"], {}, ["tpu"]),
    ("device_cuda_without_gpu", ["run", "--device", "cuda"], {}, ["cuda", "--device"]),
    ("max_length_over_limit", ["run", "--max-length", "4096"], {}, ["--max-length", "128"]),
    ("hub_unreachable", ["run", "--weak", "nosuchorg/nosuchmodel"], {}, ["nosuchorg/nosuchmodel"]),
    ("latin1_task", ["run", "--task", "{tmp}/t.yaml"],
     {"t.yaml": "name: t\nfiles: {pool: t.jsonl}\ntext: '{x}'\nlabel: y\n",
      "t.jsonl": b'{"x": "caf\xe9", "y": 1}\n'}, ["t.jsonl", "utf-8"]),
    ("workdir_is_a_file", ["run", "--workdir", "{tmp}/afile"], {"afile": "x"}, ["afile"]),
    ("grid_axis_typo", ["sweep", "{tmp}/g.yaml"], {"g.yaml": GRID + "grid: {method.options.a_maxx: [0.1]}\n"},
     ["a_maxx"]),
    ("grid_path_into_a_value", ["sweep", "{tmp}/g.yaml"], {"g.yaml": GRID + "grid: {splits.n_weak_train.x: [1]}\n"},
     ["n_weak_train"]),
    ("sweep_zero_workers", ["sweep", "{tmp}/g.yaml", "--workers", "0"], {"g.yaml": GRID}, ["--workers"]),
    ("sweep_logger_missing", ["sweep", "{tmp}/g.yaml", "--logger", "wandb"], {"g.yaml": GRID}, ["wandb"]),
    ("tasks_missing_data_dir", ["tasks", "--data-dir", "{tmp}/nowhere"], {}, ["nowhere"]),
    ("results_bad_status", ["results", "--status", "broken"], {}, ["--status"]),
    ("results_no_store", ["results", "--workdir", "{tmp}/empty"], {}, ["results.sqlite"]),
    # issue 28: every numeric field has its range, every float is finite, and a bad field is one line named by
    # the flag, --set path or YAML key the user typed, with the allowed range (never pydantic's dump)
    ("ensemble_members_empty", ["run", "--set", "weak={kind: ensemble, model: '{enc}', members: []}"], {},
     ["--set weak.members", "integer", "[1, 32]"]),
    ("ensemble_members_zero", ["run", "--set", "weak={kind: ensemble, model: '{enc}', members: 0}"], {},
     ["--set weak.members", "[1, 32]", "got 0"]),
    ("synthetic_error_rate_over_one", ["run", "--set", "weak={kind: synthetic, error_rate: 1.5}"], {},
     ["--set weak.error_rate", "[0, 1]", "1.5"]),
    ("synthetic_error_rate_nan", ["run", "--set", "weak={kind: synthetic, error_rate: .nan}"], {},
     ["--set weak.error_rate", "finite"]),
    ("set_error_rate_path", ["run", "--set", "weak={kind: synthetic}", "--set", "weak.error_rate=2"], {},
     ["--set weak.error_rate", "[0, 1]"]),
    ("chain_rungs_empty", ["run", "--set", "weak={kind: chain, model: '{enc}', rungs: []}"], {},
     ["--set weak.rungs", "empty"]),
    ("lock_in_full_mode", ["run", "--set", "lock.variant=password", "--mode", "full"], {}, ["lock", "frozen"]),
    ("budget_steps_zero", ["run", "-b", "steps=0"], {}, ["-b", "budgets.steps", "[1, 10000000]", "got 0"]),
    ("budget_steps_negative", ["run", "-b", "steps=-1"], {}, ["-b", "budgets.steps", "got -1"]),
    ("budget_steps_absurd", ["run", "-b", "steps=1e12"], {}, ["-b", "budgets.steps", "10000000"]),
    ("n_val_negative", ["run", "--n-val", "-5"], {}, ["--n-val", ">= 0", "got -5"]),
    ("set_section_to_a_number", ["run", "--set", "train=5"], {}, ["--set train", "mapping"]),
    ("set_tasks_empty", ["run", "--set", "tasks=[]"], {}, ["--set tasks", "empty"]),
    ("unknown_method_option", ["run", "--set", "methods=[{name: confidence, options: {foo: 1}}]"], {},
     ["--set methods", "confidence", "unknown option 'foo'", "a_max"]),
    ("method_option_inf", ["run", "--set", "methods=[{name: product, options: {a: .inf}}]"], {},
     ["--set methods", "finite"]),
    ("l2_nan", ["run", "--l2", "nan"], {}, ["--l2", "finite", "nan"]),
    ("l2_inf", ["run", "--l2", "inf"], {}, ["--l2", "finite"]),
    ("lr_inf", ["run", "--lr", "inf"], {}, ["--lr", "finite", "got inf"]),
    ("epochs_inf", ["run", "--epochs", "inf"], {}, ["--epochs", "finite", "got inf"]),
    ("batch_size_zero", ["run", "--batch-size", "0"], {}, ["--batch-size", ">= 1"]),
    ("eval_batch_size_negative", ["run", "--set", "train.eval_batch_size=-1"], {},
     ["--set train.eval_batch_size", ">= 1", "got -1"]),
    ("eval_batch_size_zero", ["run", "--set", "train.eval_batch_size=0"], {}, ["--set train.eval_batch_size", ">= 1"]),
    ("cv_folds_impossible", ["run", "--set", "train.cv_folds=1000"], {}, ["cv_folds", "at most 75"]),
    ("config_two_bad_fields", ["run", "--config", "{tmp}/c.yaml"],
     {"c.yaml": "train: {lr: .inf, eval_batch_size: 0}\n"},
     ["c.yaml: train.lr", "c.yaml: train.eval_batch_size", "finite", ">= 1"]),
    ("sweep_grid_value_inf", ["sweep", "{tmp}/g.yaml"], {"g.yaml": GRID + "grid: {train.lr: [.inf]}\n"},
     ["g.yaml: train.lr", "finite"]),
]
PYDANTIC_DUMP = ["validation error for", "errors.pydantic.dev", "input_value=", "[type="]
NEEDS_WORKDIR = {"workdir_is_a_file", "results_no_store"}  # they name their own workdir


@pytest.fixture
def stored(tmp_path) -> Path:
    """A workdir whose store already holds one row."""
    wd = tmp_path / "wd"
    ResultsStore(wd / "results.sqlite").put(ExperimentSpec().model_dump(mode="json"), "h0",
                                            {"weak_acc": 0.7, "student_acc": 0.75}, {"total": 1.0})
    return wd


def _argv(argv, wd, tmp, enc, task):
    if argv[0] == "run":  # a check that fails to fire then runs tiny models, not the default experiment
        argv = ["run", *(TINY_MODELS if "--config" in argv else TINY), *argv[1:]]
    subs = {"{wd}": wd, "{tmp}": tmp, "{enc}": enc, "{task}": task}
    out = []
    for a in argv:
        for k, v in subs.items():
            a = a.replace(k, str(v))
        out.append(a)
    if out[0] in ("run", "sweep", "results") and "--workdir" not in out:
        out += ["--workdir", str(wd)]
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_named_without_traceback_and_the_store_is_untouched(case, stored, tmp_path, tiny_encoder,
                                                                          synthetic_task):
    name, argv, files, fragments = case
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for fname, text in files.items():
        if isinstance(text, str):
            text = text.replace("{task}", str(synthetic_task)).replace("{enc}", str(tiny_encoder)).encode()
        (scratch / fname).write_bytes(text)
    before = ResultsStore(stored / "results.sqlite").records()
    t0 = time.perf_counter()
    res = runner.invoke(app, _argv(argv, stored, scratch, tiny_encoder, synthetic_task), env={"COLUMNS": "250"})
    seconds = time.perf_counter() - t0
    text = res.output + (str(res.exception) if res.exception and not isinstance(res.exception, SystemExit) else "")
    assert res.exit_code != 0, f"{name}: exit 0\n{text}"
    assert isinstance(res.exception, SystemExit), f"{name}: raised {res.exception!r}\n{text}"
    assert "Traceback" not in text, text
    for frag in fragments:
        assert frag.lower() in text.lower(), f"{name}: message does not name {frag!r}:\n{text}"
    for dump in PYDANTIC_DUMP:  # one line per bad field, not pydantic's multi-line dump
        assert dump not in text, f"{name}: pydantic's dump ({dump!r}):\n{text}"
    assert ResultsStore(stored / "results.sqlite").records() == before
    assert not (stored / "cache" / "weak").exists() or name not in ("early_stop_without_val",), "work was done"
    assert not (stored / "cache").exists() or not name.startswith(("eval_batch_size", "l2_", "lr_", "epochs_")), \
        "features or steps were cached before the bad value was refused"
    assert seconds < 60, f"{name}: took {seconds:.0f}s to fail"


@pytest.mark.parametrize("damage", ["garbage", "truncated", "tiny"])
@pytest.mark.parametrize("command", ["results", "report", "run"])
def test_a_damaged_store_is_named_and_left_as_it_is(damage, command, stored, tiny_encoder, synthetic_task):
    path = stored / "results.sqlite"
    data = path.read_bytes()
    path.write_bytes({"garbage": b"not a database " * 100, "truncated": data[: len(data) // 3],
                      "tiny": data[:40]}[damage])
    damaged = path.read_bytes()
    extra = [a.replace("{task}", str(synthetic_task)).replace("{enc}", str(tiny_encoder)) for a in TINY]
    extra = extra if command == "run" else []
    res = runner.invoke(app, [command, "--workdir", str(stored), *extra])
    assert res.exit_code != 0 and isinstance(res.exception, SystemExit), res.output
    assert "Traceback" not in res.output and "results.sqlite" in res.output, res.output
    assert path.read_bytes() == damaged  # never repaired, moved or overwritten behind the user's back
