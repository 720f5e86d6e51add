"""Frozen heads: w2sg's L-BFGS solver against scikit-learn's LogisticRegression and the AdamW loop.

For the same standardised features and L2 penalty it prints the objective each reaches (mean cross-entropy +
l2/2 ||w||^2), the gradient norm, the accuracy, and the wall time, so that a reader sees both that the solver
reaches the optimum and what it costs. Features: a synthetic task, or real cached features with --task.

    python benchmarks/frozen_heads.py                       # synthetic, 1000 x 768
    python benchmarks/frozen_heads.py --task sst2 --model mpnet --n 1000 --workdir w2sg-runs
    # the scaling study's reading of a decoder (prompted, last token), on its cached features and splits:
    python benchmarks/frozen_heads.py --task sst2 --model qwen2.5-coder-1.5b --n 300 --n-pool 650 \
        --n-val 50 --n-test 300 --max-length 128 --prompt auto --workdir w2sg-study/scaling

With --task, each learner is also scored on the task's test rows (T, --n-test of them).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _features(args) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """(train features, train labels, (test features, test labels) or None for the synthetic task)."""
    if args.task is None:
        rng = np.random.default_rng(0)
        x = rng.normal(size=(args.n, 768))
        w = rng.normal(size=768) / 20
        y = (rng.random(args.n) < 1 / (1 + np.exp(-(x @ w - 0.8)))).astype(float)
        return x, y, None
    from w2sg.config import ExperimentSpec, SplitSpec, TrainSpec
    from w2sg.pipeline import Pipeline

    pipe = Pipeline(args.workdir)
    train = TrainSpec(mode="frozen", max_length=args.max_length, prompt=args.prompt)
    splits = SplitSpec(n_weak_train=args.n, n_transfer=args.n, n_val=args.n_val, n_test=args.n_test,
                       n_pool=args.n_pool)
    spec = ExperimentSpec(task=args.task, splits=splits, train=train)
    split = pipe.splits(spec)
    feats = pipe.res.featurizer(args.model, spec.train)

    def xy(rows):
        x = feats([r.text for r in rows]).numpy().astype(np.float64)
        return x, np.array([r.label for r in rows], dtype=float)

    out = (*xy(split.weak_train), xy(split.test))
    n = len(split.weak_train) + len(split.test)
    print(f"features of {args.model}: {feats.n_computed} of {n} texts computed now, the rest read from the cache")
    return out


def _objective(x, y, w, b, l2) -> float:
    z = x @ w + b
    return float(np.mean(np.logaddexp(0, z) - y * z) + 0.5 * l2 * w @ w)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task")
    ap.add_argument("--model", default="minilm")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--max-length", type=int, default=256)
    ap.add_argument("--workdir", default="w2sg-runs")
    ap.add_argument("--l2", type=float, default=0.1)
    ap.add_argument("--prompt", default="none", help="what a decoder reads (train.prompt: none, auto, a name)")
    ap.add_argument("--n-val", type=int, default=200)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--n-pool", type=int, default=None)
    args = ap.parse_args()

    import torch
    from sklearn.linear_model import LogisticRegression

    from w2sg.config import BudgetSpec, TrainSpec
    from w2sg.train.convex import choose_l2, solve_head, standardise
    from w2sg.train.learner import FrozenLearner
    from w2sg.train.losses import SoftXent

    x, y, test = _features(args)
    mean, std = standardise(x)
    xs = (x - mean) / std
    xt, yt = ((test[0] - mean) / std, test[1]) if test is not None else (None, None)
    rows = []
    t0 = time.perf_counter()
    sol = solve_head(xs, y, args.l2)
    rows.append(("w2sg L-BFGS (converged)", time.perf_counter() - t0, sol.w, sol.b))
    t0 = time.perf_counter()
    clf = LogisticRegression(C=1 / (args.l2 * len(y)), tol=1e-8, max_iter=10_000).fit(xs, y)
    rows.append(("sklearn LogisticRegression", time.perf_counter() - t0, clf.coef_[0], clf.intercept_[0]))

    class Table:
        def __call__(self, texts):
            return torch.from_numpy(x[[int(t) for t in texts]].astype(np.float32))

    texts = [str(i) for i in range(len(y))]
    for steps in (None, 64):
        budget = BudgetSpec() if steps is None else BudgetSpec(kind="steps", steps=steps)
        learner = FrozenLearner(Table(), TrainSpec(mode="frozen", solver="sgd"), l2=args.l2, budget=budget)
        t0 = time.perf_counter()
        learner.fit(texts, y, SoftXent(), seed=0)
        wt = learner.model.head.weight.detach().double().numpy()
        bt = learner.model.head.bias.detach().double().numpy()
        rows.append((f"AdamW loop, {learner.info['steps']} steps", time.perf_counter() - t0, wt[1] - wt[0],
                     bt[1] - bt[0]))
    t0 = time.perf_counter()
    l2, _ = choose_l2(x, y)
    cv_s = time.perf_counter() - t0

    base = _objective(xs, y, sol.w, sol.b, args.l2)
    print(f"{len(y)} rows x {x.shape[1]} features, l2 = {args.l2} (mean CE + l2/2 ||w||^2)")
    print(f"{'learner':34s} {'objective':>10s} {'- optimum':>10s} {'train acc':>9s} {'test acc':>8s} "
          f"{'seconds':>8s}")
    for name, secs, w, b in rows:
        obj = _objective(xs, y, w, b, args.l2)
        acc = float(np.mean(((xs @ w + b) > 0) == y))
        t_acc = f"{np.mean(((xt @ w + b) > 0) == yt):8.3f}" if xt is not None else f"{'–':>8s}"
        print(f"{name:34s} {obj:10.6f} {obj - base:10.2e} {acc:9.3f} {t_acc} {secs:8.3f}")
    print(f"5-fold CV over the l2 grid (chose {l2:g}): {cv_s:.2f}s")


if __name__ == "__main__":
    main()
