"""Learners fit a classifier on texts and predict P(y=1): on cached frozen features, or by finetuning."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from w2sg.cache import FeatureStore
from w2sg.config import BudgetSpec, TrainSpec, content_hash
from w2sg.models.classifier import (
    FeatureClassifier,
    TextClassifier,
    apply_lora,
    hidden_size_of,
    load_backbone,
)
from w2sg.train.batching import FeatureRows, TokenizedTexts, sorted_inference_batches, tokenize
from w2sg.train.convex import choose_l2, solve_head, standardise
from w2sg.train.loop import TrainResult, autocast_for, predict, resolve_device, train
from w2sg.train.losses import Loss

Progress = Callable[[str, int], Callable[[int], None]]  # (description, total) -> advance(n)


def _no_progress(desc: str, total: int) -> Callable[[int], None]:
    return lambda n=1: None


@dataclass
class Backbone:
    """A lazily loaded pretrained backbone + tokenizer for one model (loaded at most once per process)."""

    path: str
    arch: str = "auto"
    _loaded: tuple | None = field(default=None, repr=False)
    _tokenizer: object | None = field(default=None, repr=False)

    @classmethod
    def from_loaded(cls, path: str, arch: str, model, tokenizer, pooling) -> Backbone:
        """A backbone already in memory (e.g. adapted by generative finetuning); `path` is its origin."""
        return cls(path, arch, _loaded=(model, tokenizer, pooling), _tokenizer=tokenizer)

    def get(self):
        if self._loaded is None:
            self._loaded = load_backbone(self.path, self.arch)
            self._tokenizer = self._loaded[1]
        return self._loaded

    def tokenizer(self):
        """The tokenizer alone (cheap: no weights are loaded)."""
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.path)
        return self._tokenizer

    def count_truncated(self, texts: list[str], max_length: int) -> int:
        """How many of `texts` are longer than max_length tokens (they get truncated, never dropped)."""
        ids = self.tokenizer()(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return sum(len(x) > max_length for x in ids)

    def fresh(self):
        """A new copy of the pretrained backbone for finetuning (the cached one stays pristine)."""
        import copy

        backbone, tok, pooling = self.get()
        return copy.deepcopy(backbone), tok, pooling


class Featurizer:
    """Frozen features (pooled last hidden state) of a model, computed once per text and cached on disk."""

    def __init__(self, backbone: Backbone, identity: str, cache_root, max_length: int, batch_size: int = 64,
                 device: torch.device | None = None, progress: Progress = _no_progress):
        self.backbone = backbone
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device or resolve_device()
        self.progress = progress
        self.key = content_hash("features", identity, max_length, "left")
        self.store = FeatureStore(cache_root, self.key)
        self.n_computed = 0

    def __call__(self, texts: list[str]) -> torch.Tensor:
        missing = len(self.store.missing(texts))
        advance = self.progress("features", missing) if missing else None
        feats, n_new = self.store.get(texts, self._embed, on_chunk=advance)
        self.n_computed += n_new
        return torch.from_numpy(np.ascontiguousarray(feats))

    def _embed(self, texts: list[str]) -> np.ndarray:
        backbone, tok, pooling = self.backbone.get()
        model = TextClassifier(backbone, hidden_size_of(backbone), pooling).to(self.device).eval()
        rows = tokenize(tok, texts, self.max_length)
        out = np.empty((len(rows), hidden_size_of(backbone)), dtype=np.float32)
        with torch.inference_mode():
            for idx in sorted_inference_batches(rows.lengths, self.batch_size):
                batch = {k: v.to(self.device) for k, v in rows.collate(idx).items()}
                with autocast_for(self.device):
                    out[idx] = model.features(**batch).float().cpu().numpy()
        return out


LBFGS_ROUNDS = 10  # fixed-point rounds for losses whose targets depend on the student's own predictions


@dataclass
class Selection:
    """Early stopping: score the student's predictions on V's texts against `reference` labels."""

    texts: list[str]
    reference: np.ndarray  # V's hard weak labels, or V's ground truth for the oracle budget
    metric: str = "auroc"
    evals: int = 10


class _Budgeted:
    """What the frozen and the finetuning learner share: the student's budget and early stopping."""

    budget: BudgetSpec
    selection: Selection | None
    spec: TrainSpec

    def _epoch_steps(self, n: int) -> int:
        return max(1, int(np.ceil(self.spec.resolved_epochs() * np.ceil(n / self.spec.batch_size))))

    def _trajectory(self, n: int) -> int:
        """Steps of the SGD trajectory this budget trains for."""
        return self.budget.steps or self._epoch_steps(n)

    def trajectory_steps(self, n: int) -> int:
        """Optimizer steps a fit on n rows runs along when a method evaluates during training."""
        return self._trajectory(n)

    def _selecting(self, on_eval, eval_every: int, n: int):
        """(on_eval, eval_every, finish) with the budget's checkpoint selection, or the caller's own."""
        if not self.budget.kind.startswith("early_stop"):
            return on_eval, eval_every, lambda: None
        if on_eval is not None:
            raise ValueError(f"budget '{self.budget.kind}' selects checkpoints itself; a method that selects its "
                             "own (early_stop, early_stop_oracle) needs budget 'full' or 'steps=N'")
        if self.selection is None or not len(self.selection.texts):
            raise ValueError(f"budget '{self.budget.kind}' needs the validation split V: set --n-val > 0")
        from w2sg.train.selection import checkpoint_selector

        on_eval, finish = checkpoint_selector(self, self.selection)
        return on_eval, max(1, self._trajectory(n) // self.selection.evals), finish


class FrozenLearner(_Budgeted):
    """A linear head on a featurizer's cached features (linear-probe W2S).

    Default (solver lbfgs, budget full): the convex problem solved to convergence, with `l2` given or
    chosen by cross-validation on the (ground-truth) training rows. Otherwise (solver sgd, a step budget,
    early stopping, or a method that evaluates along training) the AdamW loop with the same L2 penalty.
    """

    def __init__(self, featurizer: Featurizer, spec: TrainSpec, l2: float | str | None = None,
                 budget: BudgetSpec | None = None, selection: Selection | None = None):
        self.featurizer = featurizer
        self.spec = spec
        self.l2 = spec.l2 if l2 is None else l2
        self.budget = budget or BudgetSpec()
        self.selection = selection
        self.model: FeatureClassifier | None = None
        self.result: TrainResult | None = None
        self.info: dict = {}  # l2 chosen, solver, gradient norm, steps: recorded by the pipeline

    def fit(self, texts, targets, loss: Loss, seed: int, on_eval=None, eval_every: int = 0,
            groups=None) -> TrainResult:
        t0 = time.perf_counter()
        x = self.featurizer(list(texts))
        x64 = x.numpy().astype(np.float64)
        targets = np.asarray(targets, dtype=np.float64)
        l2, self.info = self.l2, {}
        if l2 == "cv":
            l2, cv = choose_l2(x64, targets, folds=self.spec.cv_folds, groups=groups, seed=seed)
            self.info["cv"] = cv
        self.info["l2"] = float(l2)
        mean, std = standardise(x64)
        self.model = FeatureClassifier(x.shape[1], torch.from_numpy(mean).float(), torch.from_numpy(std).float())
        on_eval, eval_every, finish = self._selecting(on_eval, eval_every, len(texts))
        if self.spec.solver == "lbfgs" and self.budget.kind == "full" and on_eval is None:
            self._solve((x64 - mean) / std, targets, loss, float(l2))
            self.result = TrainResult(steps=self.info["iterations"], seconds=time.perf_counter() - t0,
                                      examples=len(texts))
            return self.result
        torch.manual_seed(seed)
        total = self.budget.steps if self.budget.kind == "steps" else self._trajectory(len(texts))
        self.result = train(self.model, FeatureRows(x), torch.as_tensor(targets), loss, self.spec, seed,
                            device=torch.device("cpu"), on_eval=on_eval, eval_every=eval_every,
                            total_steps=total, l2=float(l2), weight_decay=0.0)
        finish()
        self.info.update(solver="sgd", steps=self.result.steps, grad_norm=self._grad_norm(x64, mean, std, targets,
                                                                                        loss, float(l2)))
        return self.result

    def _solve(self, xs: np.ndarray, targets: np.ndarray, loss: Loss, l2: float) -> None:
        """L-BFGS to convergence; a loss whose targets depend on the student's own predictions (confidence,
        product) is solved in LBFGS_ROUNDS fixed-point rounds, round r seeing step_frac r / rounds and the
        whole training set as its logical batch, each round warm-started from the last."""
        rounds = LBFGS_ROUNDS if loss.self_training else 1
        weak = torch.as_tensor(targets, dtype=torch.float32)
        sol, iterations = None, 0
        for r in range(rounds):
            logits = torch.zeros(len(targets), 2, dtype=torch.float32)
            if sol is not None:
                logits[:, 1] = torch.from_numpy(xs @ sol.w + sol.b).float()
            t = loss.batch_targets(logits, weak, r / rounds)[:, 1].double().numpy()
            sol = solve_head(xs, t, l2, init=None if sol is None else (sol.w, sol.b))
            iterations += sol.iterations
        with torch.no_grad():
            self.model.head.weight.zero_()
            self.model.head.weight[1] = torch.from_numpy(sol.w).float()
            self.model.head.bias.zero_()
            self.model.head.bias[1] = float(sol.b)
        self.info.update(solver="lbfgs", iterations=iterations, rounds=rounds, grad_norm=sol.grad_norm,
                         objective=sol.loss, converged=sol.converged)

    def _grad_norm(self, x64, mean, std, targets, loss: Loss, l2: float) -> float | None:
        """Gradient norm of the convex objective at the SGD solution (fixed-target losses only)."""
        if loss.self_training:
            return None
        from w2sg.train.convex import _objective

        w2 = self.model.head.weight.detach().double().numpy()
        b2 = self.model.head.bias.detach().double().numpy()
        theta = np.r_[w2[1] - w2[0], b2[1] - b2[0]]
        t = loss.batch_targets(torch.zeros(len(targets), 2), torch.as_tensor(targets).float(), 1.0)[:, 1]
        return float(np.linalg.norm(_objective(theta, (x64 - mean) / std, t.double().numpy(), l2, None)[1]))

    def predict(self, texts) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("predict() before fit()")
        return predict(self.model, FeatureRows(self.featurizer(list(texts))), batch_size=4096,
                       device=torch.device("cpu"))


class FinetuneLearner(_Budgeted):
    """Full finetuning or LoRA of backbone + head on token ids, for `train.epochs` or the student's budget."""

    def __init__(self, backbone: Backbone, spec: TrainSpec, device: torch.device | None = None,
                 progress: Progress = _no_progress, budget: BudgetSpec | None = None,
                 selection: Selection | None = None):
        self.backbone = backbone
        self.spec = spec
        self.budget = budget or BudgetSpec()
        self.selection = selection
        self.info: dict = {}
        self.device = device or resolve_device(spec.device)
        self.progress = progress
        self.model: TextClassifier | None = None
        self.result: TrainResult | None = None

    def _rows(self, texts) -> TokenizedTexts:
        _, tok, _ = self.backbone.get()
        return tokenize(tok, list(texts), self.spec.max_length)

    def fit(self, texts, targets, loss: Loss, seed: int, on_eval=None, eval_every: int = 0,
            groups=None) -> TrainResult:
        torch.manual_seed(seed)
        backbone, _, pooling = self.backbone.fresh()
        if self.spec.mode == "lora":
            backbone = apply_lora(backbone, self.spec.lora_r, self.spec.lora_alpha)
        self.model = TextClassifier(backbone, hidden_size_of(backbone), pooling)
        rows = self._rows(texts)
        on_eval, eval_every, finish = self._selecting(on_eval, eval_every, len(rows))
        steps = self.budget.steps if self.budget.kind == "steps" else self._trajectory(len(rows))
        advance = self.progress("train", steps)
        self.result = train(self.model, rows, torch.as_tensor(np.asarray(targets)), loss, self.spec, seed,
                            device=self.device, on_step=lambda s, t, lo: advance(1), on_eval=on_eval,
                            eval_every=eval_every, total_steps=steps)
        finish()
        self.info = {"solver": "adamw", "steps": self.result.steps}
        return self.result

    def predict(self, texts) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("predict() before fit()")
        return predict(self.model, self._rows(texts), self.spec.eval_batch_size, self.device)
