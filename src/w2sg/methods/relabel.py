"""Relabelling methods (EleutherAI w2s): strong-to-strong rounds and probe relabelling of the transfer set."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from w2sg.methods.base import MethodConfig, StudentContext, WeakLabelled
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent


class S2SConfig(MethodConfig):
    rounds: int = Field(1, ge=1, le=5, description="relabelling rounds after the first student")


@register_method("s2s_relabel", """
Strong-to-strong relabelling (EleutherAI w2s): train a student on the weak labels, let it relabel the transfer
set with its own soft predictions, train a fresh student on those labels; repeat `rounds` times.""", S2SConfig)
def s2s_relabel(ctx: StudentContext, transfer: WeakLabelled, val: WeakLabelled, cfg: S2SConfig):
    texts, labels = list(transfer.items), transfer.weak_p1
    student = ctx.new_student()
    student.fit(texts, labels, SoftXent(), seed=ctx.seed)
    for r in range(cfg.rounds):
        labels = student.predict(texts)
        student = ctx.new_student()
        student.fit(texts, labels, SoftXent(), seed=ctx.seed + r + 1)
    return student


class ProbeConfig(MethodConfig):
    probe: Literal["knn", "logreg"] = "knn"
    k: int = Field(20, ge=1, description="neighbours (knn)")
    C: float = Field(1.0, gt=0, description="inverse L2 strength (logreg)")
    folds: int = Field(5, ge=2, description="cross-fitting folds (logreg): each row is labelled out of fold")


def knn_relabel(features: np.ndarray, weak_p1: np.ndarray, k: int, groups=None) -> np.ndarray:
    """Each row's new label: the mean weak label of its k nearest neighbours (cosine), never itself and never
    a row of the same question (`groups`): the nearest neighbour of a multiple-choice answer is otherwise the
    other answer to the same question, whose weak label says the opposite."""
    x = features - features.mean(0)
    x = x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    if groups is not None:
        g = np.unique(np.asarray(groups), return_inverse=True)[1]
        sims[g[:, None] == g[None, :]] = -np.inf
    k = min(k, len(x) - 1 - (0 if groups is None else int(np.bincount(g).max()) - 1))
    if k < 1:
        raise ValueError("knn_relabel: no row has a neighbour outside its own question")
    nn = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return weak_p1[nn].mean(1).astype(np.float32)


def logreg_relabel(features: np.ndarray, weak_p1: np.ndarray, C: float, folds: int, seed: int,
                   groups=None) -> np.ndarray:
    """Out-of-fold P(y=1) of a logistic probe fitted on the strong features with hard weak labels (folds keep
    the rows of one question together, so no row is labelled by a probe that saw its sibling answers)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
    from sklearn.preprocessing import StandardScaler

    y = (weak_p1 > 0.5).astype(int)
    if np.bincount(y, minlength=2).min() < folds:
        # the weak labels (nearly) never say one of the classes, e.g. a converged weak probe that answers the
        # majority class everywhere: no probe can be cross-fitted on them, so the weak labels stand unchanged
        return np.asarray(weak_p1, dtype=np.float32).copy()
    out = np.empty(len(y), dtype=np.float32)
    splitter = (StratifiedKFold(folds, shuffle=True, random_state=seed) if groups is None
                else StratifiedGroupKFold(folds, shuffle=True, random_state=seed))
    for tr, te in splitter.split(features, y, groups):
        scaler = StandardScaler().fit(features[tr])
        clf = LogisticRegression(C=C, max_iter=2000).fit(scaler.transform(features[tr]), y[tr])
        out[te] = clf.predict_proba(scaler.transform(features[te]))[:, 1]
    return out


@register_method("probe_relabel", """
Probe relabelling (EleutherAI w2s): relabel the transfer set with a probe on the pretrained strong model's
frozen features — kNN (mean weak label of the k nearest neighbours) or a cross-fitted logistic probe on the
hard weak labels — then train the student naively on the relabelled set.""", ProbeConfig)
def probe_relabel(ctx: StudentContext, transfer: WeakLabelled, val: WeakLabelled, cfg: ProbeConfig):
    feats = ctx.strong_features(list(transfer.items))
    labels = (knn_relabel(feats, transfer.weak_p1, cfg.k, transfer.groups) if cfg.probe == "knn"
              else logreg_relabel(feats, transfer.weak_p1, cfg.C, cfg.folds, ctx.seed, transfer.groups))
    student = ctx.new_student()
    student.fit(list(transfer.items), labels, SoftXent(), seed=ctx.seed)
    return student
