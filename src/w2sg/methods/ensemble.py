"""Weak ensembles: several weak supervisors averaged into one."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from w2sg.methods import register_method
from w2sg.methods.base import MethodConfig, StudentContext, WeakLabelled
from w2sg.train.losses import SoftXent


class EnsembleConfig(MethodConfig):
    members: int = Field(5, ge=1, le=32, description="members of the weak model itself: the weak step, plus "
                         "members - 1 refits with other training seeds")
    models: list[str] = Field(default_factory=list, description="further members: other models (aliases or "
                              "paths), each trained on A like the weak model")
    bagging: bool = Field(True, description="refits (not the weak step itself) train on a bootstrap resample "
                          "of A; without it, frozen-feature refits differ only by seed and barely differ")

    def n_total(self) -> int:
        return self.members + len(self.models)


@register_method("weak_ensemble", """
Weak ensemble (bagged weak teachers as in Sang et al. 2024, arXiv 2402.00667; see also EnsemW2S, Agrawal et
al. 2024, arXiv 2410.04571): the supervisor is
the mean P(y=1) of several weak models trained on A with ground truth — the weak step, `members - 1` refits of
the weak model with other seeds (on bootstrap resamples of A when `bagging`), and one fit of each model in
`models` (e.g. other small rungs). The strong student then trains naively on the averaged soft labels:
L = CE(f(x), mean_m p_m(x)). PGR keeps the single weak model as its floor; records carry the ensemble's own
test accuracy as supervisor_acc. Options: members, models, bagging.""", EnsembleConfig)
def weak_ensemble(ctx: StudentContext, transfer: WeakLabelled, val: WeakLabelled, cfg: EnsembleConfig):
    if ctx.weak_member is None:
        raise ValueError("weak_ensemble needs the pipeline's weak_member (run it through w2sg run / a sweep)")
    members = [ctx.weak_member(ctx.weak_model, 0, False)]
    members += [ctx.weak_member(ctx.weak_model, m, cfg.bagging) for m in range(1, cfg.members)]
    members += [ctx.weak_member(model, 0, False) for model in cfg.models]
    if not np.allclose(members[0].transfer.weak_p1, transfer.weak_p1, atol=1e-6):
        raise RuntimeError("weak_ensemble: the first member is not the experiment's weak model")
    labels = np.mean([m.transfer.weak_p1 for m in members], axis=0)
    ctx.supervisor_test = np.mean([m.test_p1 for m in members], axis=0)
    student = ctx.new_student()
    student.fit(list(transfer.texts), labels, SoftXent(), seed=ctx.seed)
    return student
