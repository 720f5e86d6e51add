"""Per-run theory quantities for the theory page: every cell of a grid, its stored record (by the experiment's key)
and the theory modules applied to its cached predictions and features (`pipeline.theory.theory_inputs`). A cell
with no stored row is counted as not run, never replaced by another."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from w2sg.config import weak_label
from w2sg.metrics.diagnostics import misfit_bound
from w2sg.pipeline import Pipeline
from w2sg.pipeline.theory import theory_inputs
from w2sg.result import as_result
from w2sg.sweep import expand
from w2sg.theory import charikar_check, correction_summary, kernel_metric, label_projection, squared_terms

N_BOOT = 1000


def _f(v) -> float | None:
    return None if v is None or not math.isfinite(float(v)) else float(v)


def loss_of(spec) -> str:
    return spec.method.options.get("loss", "ce")


def measure_run(spec, pipe: Pipeline, record: dict) -> dict:
    """The page's numbers of one run (B = transfer, T = test)."""
    res = as_result(record)
    opts = {} if isinstance(spec.weak, str) else spec.weak.options  # a synthetic supervisor's error process
    inp = theory_inputs(spec, pipe.res)
    y, w, s, c = inp.labels, inp.weak, inp.student, inp.ceiling
    out = {"task": spec.task, "seed": spec.seed, "weak": weak_label(spec.weak), "strong": spec.strong,
           "loss": loss_of(spec), "weak_acc": res.score("weak", "acc"), "ceiling_acc": res.score("ceiling", "acc"),
           "student_acc": res.score("student", "acc"), "student_l2": _f(inp.student_l2),
           "error_rate": opts.get("error_rate"), "errors": opts.get("errors")}
    for split in ("transfer", "test"):
        sq = squared_terms(y[split], w[split], s[split])
        out |= {f"sq_{k}_{split}": v for k, v in sq.items()}
        kl = misfit_bound(y[split], w[split], s[split])
        out[f"kl_misfit_{split}"] = kl["misfit"]
    kl_c = misfit_bound(c["transfer"], w["transfer"], s["transfer"])  # truth := the ceiling (a head on the features)
    out |= {"kl_gain_ceiling_transfer": kl_c["weak_err"] - kl_c["student_err"],
            "kl_slack_ceiling_transfer": kl_c["slack"]}
    if inp.strong_x is not None:
        if out["loss"] == "squared" and inp.student_l2 is not None:
            ch = charikar_check(inp.strong_x["transfer"], y["transfer"], w["transfer"], inp.student_l2,
                                student=s["transfer"])
            out |= {f"ch_{k}": v for k, v in ch.items()}
        cs = correction_summary(inp.strong_x["test"], y["test"], w["test"], s["test"], k=10,
                                groups=inp.groups_test, n_boot=N_BOOT, seed=spec.seed)
        out |= {f"lang_{k}": v for k, v in cs.items()}
        if inp.weak_x is not None:
            km = kernel_metric(inp.weak_x["test"], inp.strong_x["test"])
            out |= {"xue_frob": km["frob"], "xue_op": km["op"], "xue_k_weak": km["k_weak"],
                    "xue_k_strong": km["k_strong"],
                    "xue_label": label_projection(inp.weak_x["test"], inp.strong_x["test"], y["test"])}
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in out.items()}


def measure_grid(sweep, workdir: Path, data_dir: str | None, log=print) -> tuple[list[dict], int]:
    """(measured runs, number of grid cells without a stored row)."""
    pipe = Pipeline(workdir, data_dir)
    rows, missing = [], 0
    for spec in expand(sweep):
        key = pipe.keys(spec)["experiment"]
        recs = pipe.store.records(hash=key)
        if not recs:
            missing += 1
            continue
        rows.append(measure_run(spec, pipe, recs[0]))
    log(f"{sweep.name}: {len(rows)} runs measured, {missing} cells not run")
    return rows, missing
