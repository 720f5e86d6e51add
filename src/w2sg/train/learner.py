"""Learners fit a model on items (texts or comparisons) and predict P(item positive): on cached frozen
features (`frozen.FrozenLearner`), by finetuning (`finetune.FinetuneLearner`), or on TF-IDF features fitted per
task (`classic.TfidfLearner`, the zoo's classic `tfidf` rung).

All take `fit(items, targets, loss, seed, on_eval=None, eval_every=0, groups=None)` and
`predict(items) -> np.ndarray`; all items of one call are one kind (`w2sg.items.kind_of`). This module
gathers the learners and what they are built from under one import.
"""

from __future__ import annotations

from w2sg.train.budget import Budgeted, Selection
from w2sg.train.classic import TfidfLearner
from w2sg.train.featurizer import Backbone, Featurizer, Progress, item_features, no_progress
from w2sg.train.finetune import FinetuneLearner
from w2sg.train.frozen import LBFGS_ROUNDS, FrozenLearner

__all__ = ["LBFGS_ROUNDS", "Backbone", "Budgeted", "Featurizer", "FinetuneLearner", "FrozenLearner", "Progress",
           "Selection", "TfidfLearner", "no_progress", "item_features"]
