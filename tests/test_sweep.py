"""Sweeps: grid expansion, resume, failures recorded, parallel processes, and a real local Ray cluster."""

import pytest

from w2sg.config import ExperimentSpec, SplitSpec, TrainSpec
from w2sg.pipeline import Pipeline
from w2sg.store import ResultsStore
from w2sg.sweep import SweepSpec, dry_run, expand, run_sweep

SPLITS = SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200)


def _sweep(task, models, **kw):
    base = dict(tasks=[str(task)], weak=[str(m) for m in models], strong=[str(models[-1])],
                methods=["naive", "confidence"], seeds=[0, 1], splits=SPLITS, train=TrainSpec(mode="frozen"))
    base.update(kw)
    return SweepSpec(**base)


def test_expand_orders_and_filters():
    s = SweepSpec(tasks=["sst2", "boolq"], weak=["minilm", "mpnet"], strong=["minilm", "mpnet"],
                  methods=["naive", "confidence"], seeds=[0, 1], grid={"train.lr": [1e-3, 3e-4]})
    cells = expand(s)
    assert len(cells) == 2 * 2 * 2 * 2 * 2 * 2
    assert len({c.hash() for c in cells}) == len(cells)
    # cells of one task come together, and within a seed the weak model is shared by consecutive cells
    assert [c.task for c in cells[:32]] == ["sst2"] * 32
    assert {c.train.lr for c in cells} == {1e-3, 3e-4}
    smaller = expand(s.model_copy(update={"pairs": "weak_smaller"}))
    assert {(c.weak, c.strong) for c in smaller} == {("minilm", "mpnet")}
    eq = expand(s.model_copy(update={"pairs": "weak_smaller_or_equal"}))
    assert {(c.weak, c.strong) for c in eq} == {("minilm", "mpnet"), ("minilm", "minilm"), ("mpnet", "mpnet")}
    # a method-option axis applies only to methods with that option
    g = SweepSpec(methods=["naive", "confidence"], seeds=[0], grid={"method.options.a_max": [0.5, 0.75]})
    labels = sorted(c.method.label for c in expand(g))
    assert labels == ["confidence(a_max=0.5)", "confidence(a_max=0.75)", "naive"]
    with pytest.raises(ValueError, match="grid axis"):
        SweepSpec(grid={"lr": [1]})


def test_sweep_resumes_and_reuses(tmp_path, tiny_encoder, tiny_decoder, synthetic_task):
    sweep = _sweep(synthetic_task, [tiny_encoder, tiny_decoder])  # 2 weak x 1 strong x 2 methods x 2 seeds
    plan = dry_run(sweep, tmp_path)
    assert len(plan) == 8 and not any(r["done"] for r in plan) and sum(r["new_feature_texts"] for r in plan) > 0
    rep = run_sweep(sweep, tmp_path)
    assert (rep.cells, rep.computed, rep.failed, rep.skipped) == (8, 8, 0, 0)
    recs = ResultsStore(tmp_path / "results.sqlite").records()
    assert len(recs) == 8
    # cells never recompute shared steps: weak and ceiling were computed by their own jobs beforehand
    assert all(r["cached_weak"] and r["cached_ceiling"] for r in recs)
    # resume: nothing left to do
    rep2 = run_sweep(sweep, tmp_path)
    assert (rep2.computed, rep2.skipped, rep2.job_seconds) == (0, 8, {})
    assert all(r["done"] for r in dry_run(sweep, tmp_path))
    assert len(ResultsStore(tmp_path / "results.sqlite").records()) == 8
    # a study page's completeness check reads the same keys: nothing missing here, one more seed's 4 cells
    # missing, everything missing from an empty workdir; and it computes nothing
    from w2sg.study import missing_cells

    assert missing_cells(sweep, tmp_path) == (0, 8)
    assert missing_cells(sweep.model_copy(update={"seeds": [0, 1, 2]}), tmp_path) == (4, 12)
    assert missing_cells(sweep, tmp_path / "empty") == (8, 8) and not (tmp_path / "empty").exists()
    assert len(ResultsStore(tmp_path / "results.sqlite").records()) == 8


def test_failed_cell_is_recorded_and_sweep_goes_on(tmp_path, tiny_encoder, synthetic_task):
    from w2sg.methods import METHODS, register_method

    def boom(ctx, transfer, val, cfg):
        raise RuntimeError("boom: this method fails at run time")

    register_method("boom_test", "fails at run time")(boom)
    try:
        sweep = _sweep(synthetic_task, [tiny_encoder], seeds=[0], methods=["naive", "boom_test"])
        rep = run_sweep(sweep, tmp_path)
    finally:
        METHODS.pop("boom_test")
    assert (rep.computed, rep.failed) == (1, 1)
    store = ResultsStore(tmp_path / "results.sqlite")
    failed = store.records(status="failed")
    assert len(failed) == 1 and "boom" in failed[0]["error"]
    assert len(store.records()) == 1


def test_missing_cells_keys_yaml_tasks_relative_to_the_base_dir(tmp_path, tiny_encoder, synthetic_task, monkeypatch):
    """A study keys its YAML tasks relative to its folder; the completeness check must expand the grid there too,
    whatever the caller's working directory."""
    from w2sg.study import missing_cells, run_by_task

    sweep = _sweep("task.yaml", [tiny_encoder], seeds=[0], methods=["naive"])
    run_by_task(sweep, tmp_path / "runs", None, "rel", base_dir=synthetic_task.parent)
    monkeypatch.chdir(tmp_path)
    assert missing_cells(sweep, tmp_path / "runs", base_dir=synthetic_task.parent) == (0, 1)


def test_invalid_method_options_fail_the_sweep_before_any_work(tmp_path, tiny_encoder, synthetic_task):
    sweep = _sweep(synthetic_task, [tiny_encoder], seeds=[0],
                   methods=["naive", {"name": "confidence", "options": {"a_max": 2.0}}])
    with pytest.raises(ValueError, match="method 'confidence': invalid options.*a_max"):
        run_sweep(sweep, tmp_path)
    assert not (tmp_path / "cache").exists()


def test_process_executor_matches_in_process(tmp_path, tiny_encoder, synthetic_task):
    sweep = _sweep(synthetic_task, [tiny_encoder], seeds=[0, 1])
    run_sweep(sweep, tmp_path / "a")
    rep = run_sweep(sweep, tmp_path / "b", executor="processes", workers=2)
    assert rep.computed == 4 and rep.failed == 0
    a = {r["hash"]: r for r in ResultsStore(tmp_path / "a" / "results.sqlite").records()}
    b = {r["hash"]: r for r in ResultsStore(tmp_path / "b" / "results.sqlite").records()}
    assert a.keys() == b.keys()
    for h in a:
        for k in ("weak_acc", "ceiling_acc", "student_acc", "pgr_acc"):
            assert a[h][k] == pytest.approx(b[h][k], abs=1e-6)


def test_ray_executor_on_local_cluster(tmp_path, tiny_encoder, synthetic_task):
    ray = pytest.importorskip("ray")
    sweep = _sweep(synthetic_task, [tiny_encoder], seeds=[0])
    try:
        rep = run_sweep(sweep, tmp_path, executor="ray", workers=2)
        assert {n["NodeManagerAddress"] for n in ray.nodes()} == {"127.0.0.1"}  # loopback only
    finally:
        ray.shutdown()
    assert rep.computed == 2 and rep.failed == 0
    recs = ResultsStore(tmp_path / "results.sqlite").records()  # results flowed back to the driver's store
    assert len(recs) == 2 and all(0 <= r["student_acc"] <= 1 for r in recs)
    assert Pipeline(tmp_path).store.has(Pipeline(tmp_path).keys(ExperimentSpec.model_validate(
        recs[0]["spec"]))["experiment"])


def test_loggers_receive_every_computed_cell(tmp_path, tiny_encoder, synthetic_task, monkeypatch):
    import sys
    import types

    logged = {"wandb": [], "mlflow": []}

    class _Run:
        def log(self, metrics):
            logged["wandb"].append(metrics)

        def finish(self):
            pass

    wandb = types.SimpleNamespace(init=lambda **kw: _Run())

    class _Ctx:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

    mlflow = types.SimpleNamespace(set_experiment=lambda name: None, start_run=lambda **kw: _Ctx(),
                                   log_params=lambda p: None, log_metrics=lambda m: logged["mlflow"].append(m))
    monkeypatch.setitem(sys.modules, "wandb", wandb)
    monkeypatch.setitem(sys.modules, "mlflow", mlflow)
    from w2sg.loggers import make_loggers

    rep = run_sweep(_sweep(synthetic_task, [tiny_encoder], seeds=[0]), tmp_path,
                    loggers=make_loggers(["wandb", "mlflow"]))
    assert rep.computed == 2
    for name in ("wandb", "mlflow"):
        assert len(logged[name]) == 2 and all("student_acc" in m and "unstable" in m for m in logged[name])
    with pytest.raises(ValueError, match="unknown logger"):
        make_loggers(["tensorboard"])
