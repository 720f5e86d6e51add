"""The command line: listings, bad input with clear messages, exports."""

import json

from typer.testing import CliRunner

from w2sg.cli import app
from w2sg.config import ExperimentSpec
from w2sg.store import ResultsStore

from .conftest import REPO, SHARED_DATA

runner = CliRunner()


def test_unknown_task_lists_known_ones(tmp_path):
    res = runner.invoke(app, ["run", "--task", "sst3", "--workdir", str(tmp_path)])
    assert res.exit_code == 2
    assert "sst3" in res.output and "sst2" in res.output and "boolq" in res.output


def test_unknown_model_lists_aliases(tmp_path):
    res = runner.invoke(app, ["run", "--weak", "minlm", "--workdir", str(tmp_path),
                              "--data-dir", str(SHARED_DATA)])
    assert res.exit_code == 2
    assert "minlm" in res.output and "mpnet" in res.output and "smollm2-135m" in res.output


def test_unknown_method_fails_before_any_work(tmp_path):
    res = runner.invoke(app, ["run", "--method", "magic", "--workdir", str(tmp_path)])
    assert res.exit_code == 2 and "magic" in res.output and "confidence" in res.output
    assert not (tmp_path / "cache").exists()


def test_missing_data_says_where_it_looked(tmp_path):
    res = runner.invoke(app, ["run", "--data-dir", str(tmp_path / "nowhere"), "--workdir", str(tmp_path)])
    assert res.exit_code == 2 and "nowhere" in res.output


def test_bad_config_names_file_and_field(tmp_path):
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("task: sst2\ntrain: {learning_rate: 0.1}\n")
    res = runner.invoke(app, ["run", "--config", str(cfg), "--workdir", str(tmp_path)])
    assert res.exit_code == 2 and "exp.yaml" in res.output and "learning_rate" in res.output


def test_listings():
    res = runner.invoke(app, ["methods"])
    assert res.exit_code == 0 and "confidence" in res.output and "a_max" in res.output
    res = runner.invoke(app, ["models"])
    assert res.exit_code == 0 and "qwen2.5-coder-1.5b" in res.output
    res = runner.invoke(app, ["tasks", "--data-dir", str(SHARED_DATA)], env={"COLUMNS": "250"})
    assert res.exit_code == 0
    for name in ("sst2", "ethics_virtue", "twitter_sentiment", "mc_taco"):
        assert name in res.output


def test_results_export(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    spec = ExperimentSpec()
    store.put(spec.model_dump(mode="json"), spec.hash(), {"weak_acc": 0.7, "ceiling_acc": 0.8, "student_acc": 0.75,
                                                          "pgr_acc": 0.5, "pgr_acc_ci_low": 0.2,
                                                          "pgr_acc_ci_high": 0.8, "pgr_auroc": 0.4,
                                                          "unstable": False}, {"weak": 1.0})
    res = runner.invoke(app, ["results", "--workdir", str(tmp_path), "--format", "json"])
    assert res.exit_code == 0
    (rec,) = json.loads(res.stdout)
    assert rec["pgr_acc"] == 0.5 and rec["method"] == "naive"
    res = runner.invoke(app, ["results", "--workdir", str(tmp_path), "--format", "parquet", "-o",
                              str(tmp_path / "r.parquet")])
    assert res.exit_code == 0 and (tmp_path / "r.parquet").exists()
    res = runner.invoke(app, ["results", "--workdir", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "w2sg run" in res.output
    res = runner.invoke(app, ["report", "--workdir", str(tmp_path)])
    assert res.exit_code == 0 and (tmp_path / "report" / "report.md").exists()


def test_sweep_dry_run_and_run(tmp_path, tiny_encoder, synthetic_task):
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        f"name: tiny\ntasks: ['{synthetic_task}']\nweak: ['{tiny_encoder}']\nstrong: ['{tiny_encoder}']\n"
        "methods: [naive]\nseeds: [0]\nsplits: {n_weak_train: 150, n_transfer: 200, n_val: 50, n_test: 200}\n")
    res = runner.invoke(app, ["sweep", str(grid), "--dry-run", "--workdir", str(tmp_path / "w")],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "0 done, 1 to compute" in res.output
    res = runner.invoke(app, ["sweep", str(grid), "--workdir", str(tmp_path / "w")])
    assert res.exit_code == 0, res.output
    assert "1 computed" in res.output and (tmp_path / "w" / "report" / "report.html").exists()
    res = runner.invoke(app, ["sweep", str(grid), "--dry-run", "--workdir", str(tmp_path / "w")],
                        env={"COLUMNS": "200"})
    assert "1 done, 0 to compute" in res.output


def test_synthetic_supervisor_example_runs_from_the_cli(tmp_path, tiny_encoder, synthetic_task):
    """examples/synthetic_supervisor.yaml with the tiny models: `w2sg run --config` takes the sweep YAML, and
    --set overrides any field (here the supervisor list, the split sizes and the grid)."""
    example = REPO / "examples" / "synthetic_supervisor.yaml"
    res = runner.invoke(app, [
        "run", "--config", str(example), "--task", str(synthetic_task), "--strong", str(tiny_encoder),
        "--set", f"weak=['{tiny_encoder}', {{kind: synthetic}}]", "--set", "grid={weak.error_rate: [0.0, 0.3]}",
        "--set", "splits={n_weak_train: 150, n_transfer: 200, n_val: 50, n_test: 200}",
        "-m", "naive", "--seeds", "0", "--workdir", str(tmp_path)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    recs = {r["weak"]: r for r in ResultsStore(tmp_path / "results.sqlite").records()}
    assert set(recs) == {str(tiny_encoder), "synthetic(error_rate=0.0)", "synthetic(error_rate=0.3)"}
    assert recs["synthetic(error_rate=0.0)"]["weak_acc"] == 1.0
    assert abs(recs["synthetic(error_rate=0.3)"]["weak_acc"] - 0.7) < 0.08
    assert recs["synthetic(error_rate=0.3)"]["supervisor_kind"] == "synthetic"
    assert "synthetic(error_rate=0.3)→" in res.output  # tables name the supervisor


def test_listings_name_every_supervisor_kind():
    res = runner.invoke(app, ["supervisors"])
    assert res.exit_code == 0
    for kind in ("model", "ensemble", "chain", "synthetic"):
        assert f"\n{kind}\n" in "\n" + res.output


def test_repeated_seeds_and_methods_are_one_experiment(tmp_path, tiny_encoder, synthetic_task):
    res = runner.invoke(app, [
        "run", "--task", str(synthetic_task), "--weak", str(tiny_encoder), "--strong", str(tiny_encoder),
        "--n-weak-train", "150", "--n-transfer", "200", "--n-val", "50", "--n-test", "200",
        "--seeds", "0,0", "-m", "naive,naive", "-m", "naive", "--workdir", str(tmp_path)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "(1 experiments)" in res.output
    assert len(ResultsStore(tmp_path / "results.sqlite").records()) == 1
    summary = res.output.split("over all seeds")[1]
    assert "│ 1     │" in summary and "± 0.000" not in summary  # one seed, not "2 seeds ± 0.000"


def test_default_split_sizes_shrink_to_fit_a_small_task_and_say_so(tmp_path, tiny_encoder):
    """hh_rlhf has 2,312 pairs, fewer than the 3,200 rows the default sizes ask for: with no split size given,
    `w2sg run` scales them down (and prints it); given sizes are never changed."""
    task = str(REPO / "examples" / "pairwise_task" / "pairs.yaml")  # 240 pairs in its pool
    res = runner.invoke(app, ["run", "--task", task, "--weak", str(tiny_encoder), "--strong", str(tiny_encoder),
                              "--seeds", "0", "-m", "naive", "--workdir", str(tmp_path)], env={"COLUMNS": "250"})
    assert res.exit_code == 0, res.output
    assert "fewer than the default split sizes need (2200)" in " ".join(res.output.split())
    (rec,) = ResultsStore(tmp_path / "results.sqlite").records()
    assert rec["spec"]["splits"]["n_weak_train"] == 103 and rec["n_weak_train"] >= 103
    res = runner.invoke(app, ["run", "--task", task, "--weak", str(tiny_encoder), "--strong", str(tiny_encoder),
                              "--seeds", "0", "-m", "naive", "--n-val", "10", "--workdir", str(tmp_path)])
    assert res.exit_code == 2 and "too few" in res.output  # a size was chosen: the sizes are the user's
