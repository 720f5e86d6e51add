"""Published theory of weak-to-strong generalization, checked on w2sg's own runs: one module per theory, each a
pure function of stored predictions and cached features (numpy; no training, no store).

- `charikar`: the squared-loss misfit inequality err_s <= err_w - misfit (Charikar, Pabbaraju & Shiragur 2024),
  its in-class check and a non-realisable bound;
- `mulgund`: the same for the cross-entropy / KL (Mulgund & Pabbaraju 2025), model first, and the ensemble rate;
- `lang`: pseudolabel correction and coverage expansion against k-NN expansion in the strong representation
  (Lang, Sontag & Vijayaraghavan 2024);
- `medvedev`: the exponent of the student's loss in the teacher's (Medvedev et al. 2025);
- `representations`: the principal-kernel predictor of W2S (Xue, Li & Mirzasoleiman 2025) and the same-n
  comparison of Ildiz et al. (2025).

`studies/theory/` puts each prediction beside its measurement; `pipeline.theory` gathers a run's inputs.
"""

from w2sg.theory.charikar import Ball, charikar_check, nonrealisable_bound, squared_record, squared_terms
from w2sg.theory.lang import correction_summary, knn, local_expansion
from w2sg.theory.medvedev import power_fit
from w2sg.theory.mulgund import ensemble_term, kl_terms
from w2sg.theory.representations import kernel_metric, label_projection, principal_basis

__all__ = ["Ball", "charikar_check", "correction_summary", "ensemble_term", "kernel_metric", "kl_terms", "knn",
           "label_projection", "local_expansion", "nonrealisable_bound", "power_fit", "principal_basis",
           "squared_record", "squared_terms"]
