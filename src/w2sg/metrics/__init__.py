"""Metrics for weak-to-strong experiments: (class-balanced) accuracy, per-question accuracy, AUROC, PGR with
paired bootstrap CIs, agreement split by weak-right / weak-wrong, KL misfit (Charikar et al. 2024; Mulgund &
Pabbaraju 2025), calibration and summaries over seeds.

Numpy only, so that the pipeline and the report can import it cheaply. Probabilities are P(y=1) vectors;
a hard prediction is 1 iff P(y=1) > 0.5 (ties go to 0, like argmax over [p0, p1]).

Modules (import the names from here; the modules never import this package):

- `scores`: accuracy, majority baseline, AUROC, squared error, ECE, per-question accuracy
- `resample`: the vectorised (cluster) paired bootstrap over test examples and percentile intervals
- `pgr`: performance gap recovered (PGR) with its paired bootstrap CI (`PGRResult`)
- `diagnostics`: agreement with the weak supervisor, KL and the misfit bound
- `seeds`: mean, sd and t-based CI over seeds
- `deception`: student accuracy per weak right/wrong x strong right/wrong region, the deception score (Yang et al.
  2025) and imitation of systematic vs random supervisor errors
- `experiment`: every metric of one experiment as a flat record (`evaluate`, `supervisor_metrics`)
- `process`: process-supervision metrics of a step-labelled task (best-of-N accuracy, trace error, step AUROC,
  first-error localisation, their PGR) with a paired bootstrap over problems (`process_metrics`)
"""

from w2sg.metrics._inputs import THRESHOLD
from w2sg.metrics.deception import REGIONS, region_keys, region_masks, region_metrics
from w2sg.metrics.diagnostics import agreement, kl, misfit, misfit_bound
from w2sg.metrics.experiment import evaluate, supervisor_metrics
from w2sg.metrics.pgr import PGRResult, pgr, pgr_with_ci
from w2sg.metrics.process import PROCESS_METRICS, process_metrics, task_granularity
from w2sg.metrics.resample import (
    METRICS,
    accuracy_boot,
    auroc_boot,
    balanced_accuracy_boot,
    paired_bootstrap,
    resample_counts,
)
from w2sg.metrics.scores import (
    accuracy,
    auroc,
    ece,
    hard_labels,
    majority_accuracy,
    per_question_correct,
    question_coverage,
    sq_error,
)
from w2sg.metrics.seeds import seed_summary

__all__ = [
    "METRICS",
    "THRESHOLD",
    "PGRResult",
    "PROCESS_METRICS",
    "REGIONS",
    "accuracy",
    "accuracy_boot",
    "agreement",
    "auroc",
    "auroc_boot",
    "balanced_accuracy_boot",
    "ece",
    "evaluate",
    "hard_labels",
    "kl",
    "majority_accuracy",
    "misfit",
    "misfit_bound",
    "paired_bootstrap",
    "per_question_correct",
    "pgr",
    "pgr_with_ci",
    "process_metrics",
    "question_coverage",
    "region_keys",
    "region_masks",
    "region_metrics",
    "resample_counts",
    "seed_summary",
    "sq_error",
    "supervisor_metrics",
    "task_granularity",
]
