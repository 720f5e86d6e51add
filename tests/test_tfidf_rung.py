"""The classic rung `tfidf` (TF-IDF + logistic regression): the weakest model of the ladder, usable wherever a weak
model is. Checked against independent solvers (a plain sklearn pipeline; the repo's scipy L-BFGS on the dense
features), with soft targets, cross-validated C, comparisons, and the clear errors where it cannot serve."""

from __future__ import annotations

import random

import numpy as np
import pytest

from w2sg.config import ExperimentSpec, MethodSpec, SplitSpec, TrainSpec
from w2sg.items import Comparison
from w2sg.models import zoo
from w2sg.pipeline import Pipeline
from w2sg.pipeline.resources import Resources
from w2sg.train.classic import TfidfLearner
from w2sg.train.convex import solve_head
from w2sg.train.losses import ConfidenceLoss, HardXent, SoftXent

from .conftest import synthetic_rows

SPLITS = SplitSpec(n_weak_train=150, n_transfer=200, n_val=50, n_test=200)
HYPER = zoo.CLASSIC["tfidf"]


def _texts(n: int = 300, seed: int = 3):
    rows = synthetic_rows(n, seed=seed)
    return [r["review"] for r in rows], np.array([r["label"] for r in rows], dtype=np.float64)


def _sklearn_pipeline(c: float):
    """An independent TF-IDF + logistic regression, built from sklearn alone with the zoo's hyperparameters."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    v = HYPER["vectorizer"]
    return make_pipeline(TfidfVectorizer(ngram_range=tuple(v["ngram_range"]), sublinear_tf=v["sublinear_tf"],
                                         min_df=v["min_df"], lowercase=v["lowercase"], analyzer=v["analyzer"]),
                         LogisticRegression(C=c, tol=1e-10, max_iter=100_000))


# ---- the zoo -------------------------------------------------------------------------------------------------
def test_tfidf_is_a_built_in_alias_whose_identity_pins_its_hyperparameters(monkeypatch, tmp_path):
    monkeypatch.setenv("W2SG_HOME", str(tmp_path))  # an empty cache: tfidf is present all the same
    r = zoo.resolve("tfidf")
    assert r.arch == "classic" and zoo.is_present("tfidf") and zoo.resolve(" TFIDF ").identity == r.identity
    assert r.identity.startswith(f"w2sg:tfidf@v{HYPER['version']}#")
    assert "tfidf" not in zoo.MODELS  # not a download recipe
    rows = zoo.list_models(classic=True)
    assert rows[0]["alias"] == "tfidf" and rows[0]["present"] and "TF-IDF" in rows[0]["kind"]
    assert [x["alias"] for x in zoo.list_models()] == list(zoo.MODELS)
    said = []
    assert zoo.pull("tfidf", progress=said.append) is None and "nothing to pull" in said[0]
    changed = {**HYPER, "vectorizer": {**HYPER["vectorizer"], "min_df": 3}}
    monkeypatch.setitem(zoo.CLASSIC, "tfidf", changed)
    assert zoo.classic_identity("tfidf") != r.identity  # a new hyperparameter: new cache keys


def test_models_listing_and_pull_say_what_tfidf_is():
    from typer.testing import CliRunner

    from w2sg.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["models"], env={"COLUMNS": "250"})
    assert res.exit_code == 0 and "tfidf" in res.output and "TF-IDF + logistic regression" in res.output
    res = runner.invoke(app, ["models", "pull", "tfidf"])
    assert res.exit_code == 0 and "nothing to pull" in res.output


# ---- the learner against independent solvers ----------------------------------------------------------------
def test_predictions_equal_an_independent_sklearn_pipeline():
    texts, y = _texts()
    l2 = 0.01
    learner = TfidfLearner(TrainSpec(l2=l2))
    learner.fit(texts[:200], y[:200], SoftXent(), seed=0)
    c = 1 / (l2 * 200)
    assert learner.info["C"] == pytest.approx(c) and learner.info["l2"] == l2 and learner.info["converged"]
    ref = _sklearn_pipeline(c).fit(texts[:200], y[:200].astype(int))
    np.testing.assert_allclose(learner.predict(texts[200:]), ref.predict_proba(texts[200:])[:, 1], atol=1e-6)
    assert learner.info["grad_norm"] < 1e-6


def test_soft_targets_are_soft_cross_entropy():
    """Targets P(y=1) are honoured exactly: the same weights as sklearn on duplicated rows (labels 1 and 0, weights
    p and 1 - p), and as the repo's own scipy L-BFGS on mean soft CE + (l2/2)||w||^2 with l2 = 1 / (C n)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import normalize

    texts, _ = _texts(200)
    p = np.random.default_rng(0).random(200)
    l2 = 0.003
    learner = TfidfLearner(TrainSpec(l2=l2))
    learner.fit(texts, p, SoftXent(), seed=0)
    x = learner.vectorizer.transform(texts)
    assert np.allclose(normalize(x).toarray(), x.toarray())  # rows are l2-normalised TF-IDF
    n = len(texts)
    dup = LogisticRegression(C=1 / (l2 * n), tol=1e-10, max_iter=100_000).fit(
        np.vstack([x.toarray(), x.toarray()]), np.r_[np.ones(n), np.zeros(n)], sample_weight=np.r_[p, 1 - p])
    # both stop at sklearn's L-BFGS tolerances (gradient ~1e-8 at l2 = 3e-3): weights agree to ~1e-6
    np.testing.assert_allclose(learner.model.coef_[0], dup.coef_[0], atol=1e-5)
    np.testing.assert_allclose(learner.model.intercept_, dup.intercept_, atol=1e-5)
    np.testing.assert_allclose(learner.predict(texts), dup.predict_proba(x.toarray())[:, 1], atol=1e-6)
    sol = solve_head(x.toarray(), p, l2, gtol=1e-10)  # independent: scipy on the soft-label objective itself
    np.testing.assert_allclose(learner.model.coef_[0], sol.w, atol=1e-5)
    assert learner.model.intercept_[0] == pytest.approx(sol.b, abs=1e-5)
    # hard targets of a loss (HardXent: 1 iff p > 0.5) are the loss's targets, not the given probabilities
    hard = TfidfLearner(TrainSpec(l2=l2))
    hard.fit(texts, p, HardXent(), seed=0)
    plain = TfidfLearner(TrainSpec(l2=l2))
    plain.fit(texts, (p > 0.5).astype(float), SoftXent(), seed=0)
    np.testing.assert_allclose(hard.predict(texts), plain.predict(texts), atol=1e-6)


def test_cv_picks_a_c_from_the_grid_and_records_it():
    texts, y = _texts()
    groups = np.arange(len(texts)) // 2  # pairs of rows share a group: folds keep them together
    learner = TfidfLearner(TrainSpec(l2="cv", cv_folds=3))
    learner.fit(texts, y, SoftXent(), seed=0, groups=groups)
    info, grid = learner.info, HYPER["c_grid"]
    assert info["C"] in grid and info["l2"] == pytest.approx(1 / (info["C"] * len(texts)))
    losses = info["cv"]["cv_loss"]
    assert len(losses) == len(grid) and info["cv"]["folds"] == 3
    finite = [v for v in losses if v is not None]
    assert losses[grid.index(info["C"])] == min(finite)
    # the synthetic reviews are clean enough that the weakest penalties are not chosen, nor the strongest
    assert grid[0] < info["C"] < grid[-1]


# ---- errors where tfidf cannot serve --------------------------------------------------------------------------
def test_clear_errors_for_what_tfidf_cannot_do(tmp_path):
    texts, y = _texts(100)
    with pytest.raises(ValueError, match=r"tfidf is a classic learner: it trains with \(soft\) cross-entropy only; "
                                         r"use it as the weak model/supervisor or with method naive"):
        TfidfLearner(TrainSpec(l2=0.01)).fit(texts, y, ConfidenceLoss(), seed=0)
    res = Resources(tmp_path)
    for call in (lambda: res.item_features("tfidf", TrainSpec(), texts), lambda: res.backbone("tfidf"),
                 lambda: res.featurizer("tfidf", TrainSpec())):
        with pytest.raises(ValueError, match="no frozen features"):
            call()
    for mode in ("frozen", "full", "lora"):  # no backbone: the same learner in every mode
        assert isinstance(res.new_learner("tfidf", TrainSpec(mode=mode)), TfidfLearner)
    with pytest.raises(RuntimeError, match="before fit"):
        TfidfLearner(TrainSpec()).predict(texts)


# ---- the pipeline ------------------------------------------------------------------------------------------------
def test_tfidf_as_the_weak_model_through_the_pipeline(tmp_path, tiny_encoder, synthetic_task):
    spec = ExperimentSpec(task=str(synthetic_task), weak="tfidf", strong=str(tiny_encoder), method="naive", seed=0,
                          splits=SPLITS, train=TrainSpec())
    pipe = Pipeline(tmp_path / "runs")
    rec = pipe.run(spec)
    assert rec["weak"] == "tfidf" and rec["strong"] == str(tiny_encoder)
    assert rec["weak_acc"] > 0.75, rec  # sentiment words carry the label (10% noise): far above chance
    assert rec["truncated_weak"] == 0 and not rec["cached_weak"]
    weak_meta = pipe.cache.load("weak", pipe.keys(spec)["weak"])[1]
    assert weak_meta["learner"] == "tfidf" and weak_meta["C"] in HYPER["c_grid"]
    assert rec["l2_weak"] == pytest.approx(weak_meta["l2"])
    # another method reuses the weak model and the ceiling; a new process on the same workdir recomputes nothing
    rec2 = pipe.run(spec.model_copy(update={"method": MethodSpec(name="confidence")}))
    assert rec2["cached_weak"] and rec2["cached_ceiling"] and rec2["weak_acc"] == rec["weak_acc"]
    pipe2 = Pipeline(tmp_path / "runs")
    pipe2.res.new_learner = lambda *a, **k: pytest.fail("recomputed a cached experiment")
    assert pipe2.run(spec)["weak_acc"] == rec["weak_acc"]


def test_sweeps_skip_tfidf_features_and_position_checks(tmp_path, tiny_encoder, synthetic_task):
    from w2sg.sweep.grid import SweepSpec, check_models, expand
    from w2sg.sweep.jobs import features_step, plan

    sweep = SweepSpec(tasks=[str(synthetic_task)], weak=["tfidf"], strong=[str(tiny_encoder)], seeds=[0],
                      splits=SPLITS, train=TrainSpec(max_length=64))
    cells = expand(sweep)
    assert check_models(sweep, cells) == []
    pipe = Pipeline(tmp_path / "runs")
    phases, _ = plan(pipe, cells)
    assert [j.model for j in phases[0] if j.kind == "features"] == [str(tiny_encoder)]
    assert features_step(pipe, "tfidf", cells) == 0


# ---- comparisons ----------------------------------------------------------------------------------------------
def _pairs(n: int, seed: int) -> tuple[list[Comparison], np.ndarray]:
    """Two responses to a prompt; the preferred one contains the marker word 'excellent'."""
    rng = random.Random(seed)
    words = ["the", "answer", "is", "maybe", "a", "cat", "dog", "because", "it", "so", "then", "we", "see"]
    items, y = [], []
    for i in range(n):
        good = " ".join(rng.choices(words, k=rng.randint(3, 8)) + ["excellent"])
        bad = " ".join(rng.choices(words, k=rng.randint(3, 8)))
        label = rng.random() < 0.5
        prompt = f"question {i % 7}: {rng.choice(words)}?"
        items.append(Comparison(prompt, good, bad) if label else Comparison(prompt, bad, good))
        y.append(float(label))
    return items, np.array(y)


def test_a_pairwise_reward_model_on_a_marker_word():
    train, y = _pairs(200, seed=0)
    test, y_test = _pairs(100, seed=1)
    learner = TfidfLearner(TrainSpec(l2="cv", cv_folds=3))
    learner.fit(train, y, SoftXent(), seed=0)
    assert learner.kind == "comparison" and learner.info["items"] == "comparison"
    assert learner.model.intercept_[0] == 0.0  # r(a) - r(b): no bias term
    p = learner.predict(test)
    assert np.mean((p > 0.5) == (y_test > 0.5)) >= 0.95
    swapped = learner.predict([x.swapped() for x in test])
    np.testing.assert_allclose(swapped, 1.0 - p, atol=1e-7)
    np.testing.assert_array_equal(learner.decision([x.swapped() for x in test]), -learner.decision(test))
    with pytest.raises(TypeError, match="comparison"):
        learner.predict(["a text"])
