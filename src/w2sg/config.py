"""Typed experiment specs (YAML in/out: `w2sg.config_io`; content hashes: `w2sg.hashing`)."""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

from w2sg.hashing import ARTIFACT_VERSION, canonical_json, content_hash  # noqa: F401  (re-exported)
from w2sg.spec_checks import (  # noqa: F401  (OptionsError re-exported)
    MAX_EPOCHS,
    MAX_STEPS,
    OptionsError,
    finite_values,
    integer_text,
    number_or_word,
)

Mode = Literal["frozen", "full", "lora"]
MAX_SEED = 2**31 - 1  # seeds are 0..2**31-1 (numpy, torch and Python's random all take them)


class Spec(BaseModel):
    """Base class: strict (unknown keys are errors) and immutable.

    `hash_neutral` names fields that are left out of the serialisation (and so of every content hash) while
    they hold the given value: a field added after artifacts were cached, left at the behaviour from before it
    existed, keeps the old keys valid."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # inf/nan would dump as null
    hash_neutral: ClassVar[dict[str, Any]] = {}

    @model_serializer(mode="wrap")
    def _drop_hash_neutral(self, handler):
        d = handler(self)
        if isinstance(d, dict):
            for k, v in self.hash_neutral.items():
                if k in d and d[k] == v:
                    del d[k]
        return d


class SplitSpec(Spec):
    """Sizes (in binary rows) of the four splits; the test split may come from the task's own test file."""

    n_weak_train: int = Field(1000, ge=2, description="A: rows the weak model trains on, with ground truth")
    n_transfer: int = Field(1000, ge=2, description="B: rows the weak model labels; student and ceiling train here")
    n_val: int = Field(200, ge=0, description="V: weak-labelled validation rows (carved from B's pool)")
    n_test: int = Field(1000, ge=2, description="T: test rows (capped by the task's test file when it has one)")
    n_extra: int = Field(0, ge=0, description="fresh weak-labelled transfer rows for methods that need more "
                         "(bootstrapping: one slice per intermediate rung)")
    balance: bool = Field(False, description="undersample the majority class in every split")
    n_pool: int | None = Field(None, ge=2, description="seeds re-split one fixed subset of this many rows (T: a "
                               "fixed n_test rows of a test file), so features are computed once for all seeds")
    pool_block: int = Field(0, ge=0, description="with n_pool: block b of the fixed shuffle (the rows after blocks "
                            "0..b-1), so a benchmark's dev (0) and final (1) parts share no row")
    hash_neutral: ClassVar[dict[str, Any]] = {"n_pool": None, "pool_block": 0}


class TrainSpec(Spec):
    """Optimisation settings shared by the weak model, the ceiling and the student.

    Frozen mode solves the convex problem it poses by default (`solver: lbfgs`): a linear head on fixed
    features with soft-label cross-entropy + (l2 / 2) * ||w||^2, solved to convergence, with the weak
    model's and the ceiling's l2 chosen by k-fold cross-validation on their own ground-truth training rows
    (`l2: cv`). The student's l2 never reads ground truth (`student_l2`): by default it is chosen by the same
    group-aware CV on B's *weak* labels (the rows and labels the student trains on); 'weak' takes the weak
    model's l2; 'ceiling' takes the ceiling's (chosen on B's ground truth: an oracle, recorded `oracle=true`);
    a number fixes it. `solver: sgd` trains the head with the AdamW loop.

    `prompt` and `layer` say what a decoder reads (`w2sg.prompts`): the text inside a task prompt (every
    mode), and the hidden state of a chosen layer at its last token (frozen features only). Encoders ignore both
    (mean pooling of the last layer). At their defaults they are left out of the spec's serialisation, so every
    hash from before they existed is unchanged.
    """

    mode: Mode = "frozen"
    solver: Literal["lbfgs", "sgd"] = Field("lbfgs", description="frozen mode: L-BFGS to convergence, or the "
                                            "AdamW loop for `epochs`")
    l2: float | Literal["cv"] = Field("cv", description="frozen mode: L2 strength on the head weights "
                                      "(mean loss + l2/2 ||w||^2); 'cv' = k-fold CV on the ground-truth rows")
    cv_folds: int = Field(5, ge=2, description="folds of the l2 cross-validation (group-aware)")
    student_l2: float | Literal["cv", "weak", "ceiling"] = Field(
        "cv", description="frozen mode: the student's L2. 'cv' = k-fold CV on B's weak labels when l2 is 'cv' (else "
        "l2's number); 'weak' = the weak model's l2; 'ceiling' = the ceiling's, tuned on B's ground truth (an "
        "oracle: the row is marked oracle=true); or a number")
    epochs: float | None = Field(None, gt=0, le=MAX_EPOCHS, description="default: 2 when finetuning, 20 for "
                                 "frozen-feature heads")
    lr: float | None = Field(None, gt=0, description="default: 5e-5 full, 2e-4 LoRA, 1e-3 frozen (sgd solver)")
    head_lr: float | None = Field(None, gt=0, description="learning rate of the new linear head when finetuning "
                                  "(default: 1e-3 in full/lora mode; the backbone uses lr)")
    batch_size: int = Field(32, ge=1)
    micro_batch_size: int | None = Field(None, ge=1, description="gradient accumulation; None = batch_size")
    weight_decay: float = Field(0.01, ge=0)
    warmup_frac: float = Field(0.1, ge=0, le=1, description="linear LR warmup, then cosine decay")
    max_length: int = Field(256, ge=8)
    group_by_length: bool = True
    train_dropout: bool = False
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1)
    eval_batch_size: int = Field(64, ge=1, description="rows per forward pass at inference (features, predictions)")
    device: str = "auto"
    prompt: str = Field("none", description="decoders, every mode: 'none' (the bare text), 'auto' (a template "
                        "per item kind), a template name (see w2sg.prompts) or a template with '{text}'; "
                        "encoders ignore it")
    layer: int | Literal["last", "middle"] = Field("last", description="decoders, frozen mode: the hidden state "
                                                   "read (an index into hidden_states, negative from the end); "
                                                   "encoders ignore it")

    def resolved_epochs(self) -> float:
        return self.epochs if self.epochs is not None else (20.0 if self.mode == "frozen" else 2.0)

    def resolved_head_lr(self) -> float:
        if self.head_lr is not None:
            return self.head_lr
        return self.resolved_lr() if self.mode == "frozen" else 1e-3

    def resolved_lr(self) -> float:
        if self.lr is not None:
            return self.lr
        return {"frozen": 1e-3, "full": 5e-5, "lora": 2e-4}[self.mode]

    @field_validator("l2", mode="before")
    @classmethod
    def _l2_nonneg(cls, v: Any) -> Any:
        return number_or_word(v, "l2", ("cv",))

    @field_validator("student_l2", mode="before")
    @classmethod
    def _student_l2_nonneg(cls, v: Any) -> Any:
        return number_or_word(v, "student_l2", ("cv", "weak", "ceiling"))

    @property
    def student_l2_oracle(self) -> bool:
        """True when the student's l2 is the ceiling's, i.e. tuned on B's ground truth (frozen mode)."""
        return self.mode == "frozen" and self.student_l2 == "ceiling"

    @field_validator("device")
    @classmethod
    def _device_name(cls, v: str) -> str:
        # Only the name is checked here: a spec asking for cuda stays loadable on a machine without a GPU.
        if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", v):
            raise ValueError(f"device {v!r} (--device / train.device) is not a device; use auto, cpu, cuda, "
                             "cuda:N (e.g. cuda:1) or mps")
        return v

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, v: str) -> str:
        from w2sg.prompts import check_prompt

        return check_prompt(v)

    @field_validator("layer", mode="before")
    @classmethod
    def _layer_not_bool(cls, v: Any) -> Any:
        if isinstance(v, bool):
            raise ValueError(f"layer must be 'last', 'middle' or an int, got {v}")
        return v

    @model_validator(mode="after")
    def _frozen_reading(self) -> TrainSpec:
        if self.mode != "frozen" and self.layer != "last":
            raise ValueError(f"layer is a frozen-mode option (train.mode is '{self.mode}': the finetuned head reads "
                             "the last layer); leave layer: last when finetuning (prompt applies in every mode)")
        return self
    # specs that leave them at their defaults serialise (and hash) as before
    # (student_l2 at its default too: the student's and the experiment's keys name it explicitly, see
    # pipeline.steps, so weak models, ceilings and features keep their keys)
    hash_neutral: ClassVar[dict[str, Any]] = {"prompt": "none", "layer": "last", "student_l2": "cv"}


BudgetKind = Literal["full", "steps", "early_stop", "early_stop_oracle"]


class BudgetSpec(Spec):
    """The student's training budget: a named axis of every experiment, recorded in every row.

    - full: train to the end: L-BFGS to convergence for frozen heads (the default), `train.epochs` when
      finetuning (or with the sgd solver);
    - steps: exactly `steps` optimiser steps of the training loop (warmup + cosine over those steps);
    - early_stop: along a trajectory of `steps` steps (default: the `train.epochs` budget), keep the
      checkpoint whose predictions best match V's weak labels (no ground truth);
    - early_stop_oracle: the same, scored against V's GROUND TRUTH: an analysis upper bound, flagged
      oracle=true in every record.
    The weak model and the ceiling are never budgeted: they are trained to their (tuned) optimum.
    """

    kind: BudgetKind = "full"
    steps: int | None = Field(None, ge=1, le=MAX_STEPS, description="steps (kind=steps) or trajectory length "
                              "(early stopping)")
    evals: int = Field(10, ge=1, le=MAX_STEPS, description="evaluations on V along the trajectory (early stopping)")
    metric: Literal["auroc", "accuracy"] = Field("auroc", description="selection score on V (early stopping)")

    @model_validator(mode="after")
    def _check(self) -> BudgetSpec:
        if self.kind == "steps" and self.steps is None:
            raise ValueError("budget kind 'steps' needs budget.steps (e.g. --budget steps=256)")
        if self.kind == "full" and self.steps is not None:
            raise ValueError("budget kind 'full' takes no steps; use kind 'steps' for a step budget")
        return self

    @property
    def oracle(self) -> bool:
        return self.kind == "early_stop_oracle"

    @property
    def early_stop(self) -> bool:
        """The student keeps the checkpoint that scores best on V (`w2sg.train.budget`)."""
        return self.kind.startswith("early_stop")

    def label(self, train: TrainSpec) -> str:
        """How the row's student was budgeted, e.g. 'converged', 'epochs=2', 'steps=256', 'early_stop'."""
        if self.kind == "full":
            if train.mode == "frozen" and train.solver == "lbfgs":
                return "converged"
            return f"epochs={train.resolved_epochs():g}"
        if self.kind == "steps":
            return f"steps={self.steps}"
        along = f"steps={self.steps}" if self.steps else f"epochs={train.resolved_epochs():g}"
        return f"{self.kind}({self.metric},{along})"

    @classmethod
    def parse(cls, text: str) -> BudgetSpec:
        """'full' | 'steps=256' | 'early_stop' | 'early_stop_oracle' | 'early_stop:steps=512' (CLI form)."""
        text = text.strip()
        if text.startswith("steps="):
            return cls(kind="steps", steps=integer_text(text[6:], text))
        kind, _, rest = text.partition(":")
        opts: dict[str, Any] = {}
        for part in filter(None, rest.split(",")):
            k, _, v = part.partition("=")
            opts[k.strip()] = integer_text(v, text) if k.strip() in ("steps", "evals") else v.strip()
        if kind not in ("full", "steps", "early_stop", "early_stop_oracle"):
            raise ValueError(f"budget '{text}' unknown; use full, steps=N, early_stop or early_stop_oracle "
                             "(optionally ':steps=N,evals=K')")
        return cls(kind=kind, **opts)


class MethodSpec(Spec):
    """A W2S method by registry name plus its options (validated by the method's own config class).

    Methods compose as a chain: `then` names the method that runs after this one (e.g. generative
    finetuning, then the confidence loss), written `generative_finetune+confidence` on the command line or
    `method: [generative_finetune, confidence]` in YAML. Every stage but the last adapts the strong model."""

    name: str = "naive"
    options: dict[str, Any] = Field(default_factory=dict)
    then: MethodSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _chain(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [p.strip() for p in v.split("+")] if "+" in v else {"name": v}
        if isinstance(v, list | tuple):
            if not v:
                raise ValueError("an empty method chain; name at least one method")
            stages = [{"name": x} if isinstance(x, str) else x for x in v]
            out = stages[-1]
            for st in reversed(stages[:-1]):
                out = {**(st.model_dump() if isinstance(st, BaseModel) else st), "then": out}
            return out
        return v

    @field_validator("options")
    @classmethod
    def _finite_options(cls, v: dict[str, Any]) -> dict[str, Any]:
        return finite_values(v, "MethodSpec")

    # a single method serialises (and hashes) exactly as before chains existed
    hash_neutral: ClassVar[dict[str, Any]] = {"then": None}

    def stages(self) -> list[MethodSpec]:
        """The chain as a list, first stage first."""
        out, m = [], self
        while m is not None:
            out.append(m.model_copy(update={"then": None}))
            m = m.then
        return out

    @property
    def label(self) -> str:
        labels = []
        for m in self.stages():
            opts = ",".join(f"{k}={v}" for k, v in sorted(m.options.items()))
            labels.append(f"{m.name}({opts})" if opts else m.name)
        return "+".join(labels)


class SupervisorSpec(Spec):
    """The weak supervisor as a mapping: `{kind: ensemble, model: minilm, members: 5}`. Options beyond `kind`
    are validated by the kind's own config class (see `w2sg supervisors`). A plain string is the shorthand of
    `{kind: model, model: <alias or path>}` and is stored as that string."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    kind: str = "model"

    @model_validator(mode="after")
    def _finite_options(self) -> SupervisorSpec:
        finite_values(self.options, "SupervisorSpec")
        return self

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})

    @property
    def label(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in sorted(self.options.items()))
        return f"{self.kind}({opts})" if opts else self.kind


Weak = str | SupervisorSpec


def canonical_weak(v: Any) -> Any:
    """`{kind: model, model: X}` -> 'X' (the shorthand, so hashes and stores match the plain alias)."""
    if isinstance(v, SupervisorSpec):
        v = v.model_dump()
    if isinstance(v, dict) and v.get("kind", "model") == "model" and set(v) <= {"kind", "model"}:
        if "model" not in v:
            raise ValueError("weak: {kind: model} needs `model` (an alias, path or Hub id)")
        return v["model"]
    return v


def weak_label(weak: Weak | dict) -> str:
    """How a supervisor is named in tables and the store: the model alias, or e.g. 'synthetic(error_rate=0.2)'."""
    if isinstance(weak, dict):
        weak = SupervisorSpec.model_validate(weak)
    return weak if isinstance(weak, str) else weak.label


class LockSpec(Spec):
    """A locked strong model (password-locked, Greenblatt et al. 2024), the student's starting point.

    Frozen mode: a one-hidden-layer MLP head on the strong model's frozen features is trained on the extra rows
    (never A, B or T) to answer like the supervisor on plain inputs and like ground truth when `trigger` is
    prepended to the input (variant `password`). Variant `deceptive` answers ground truth where the supervisor
    is confident (where it could check: its confidence |p - 0.5| at or above the median on the extra rows) and
    the opposite elsewhere, and ground truth with the trigger; it needs a supervisor whose confidence varies
    (hard 0/1 labels give it nothing to rank: an error). Variant `unlocked` is the control: the same MLP head
    (same width, same standardisation), freshly initialised from the seed and never locked, so that locked vs
    unlocked changes one thing only. The W2S method then trains this head (AdamW, the experiment's epochs and lr)
    on weak labels; the record carries the locked model's and the student's test accuracy with and without the
    trigger."""

    variant: Literal["password", "deceptive", "unlocked"] = "password"
    trigger: str = Field("|UNLOCK|", min_length=1, description="the password, prepended to the input text")
    hidden: int = Field(256, ge=1, description="width of the MLP head")
    epochs: float = Field(40.0, gt=0, le=MAX_EPOCHS, description="epochs of the locking fit on the extra rows (x2: "
                          "plain + trigger)")
    lr: float = Field(1e-3, gt=0, description="learning rate of the locking fit")


class ExperimentSpec(Spec):
    """One experiment: (task, weak model, strong model, method, seed) plus the settings that shape it."""

    task: str = "sst2"
    weak: Weak = Field("minilm", description="the weak supervisor: a model alias/path, or {kind: ..., ...}")
    strong: str = "mpnet"
    method: MethodSpec = Field(default_factory=MethodSpec)
    seed: int = 0
    splits: SplitSpec = Field(default_factory=SplitSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    balance_test: bool = Field(True, description="accuracy on T is class-balanced (mean per-class recall)")
    lock: LockSpec | None = Field(None, description="start the student from a locked strong model (frozen mode)")

    @field_validator("weak", mode="before")
    @classmethod
    def _weak(cls, v: Any) -> Any:
        return canonical_weak(v)

    @field_validator("task")
    @classmethod
    def _task_key(cls, v: str) -> str:
        """A YAML task by its resolved path (t.yaml, ./t.yaml and /abs/t.yaml are one task); names as given."""
        from w2sg.tasks.keys import task_key

        return task_key(v)

    @model_validator(mode="before")
    @classmethod
    def _task_prompt(cls, v: Any) -> Any:
        """train.prompt 'auto' becomes the task's template name (a built-in task's or its derived YAML's)."""
        if not isinstance(v, dict) or "train" not in v:
            return v
        from w2sg.prompts import task_template

        train = v["train"]
        prompt = train.get("prompt") if isinstance(train, dict) else getattr(train, "prompt", None)
        name = task_template(str(v.get("task", "sst2")))
        if prompt != "auto" or name is None:
            return v
        train = {**train, "prompt": name} if isinstance(train, dict) else train.model_copy(update={"prompt": name})
        return {**v, "train": train}

    @model_validator(mode="after")
    def _folds_possible(self) -> ExperimentSpec:
        """A cv_folds no training split can give is refused (stratified k-fold needs k rows of each class); the
        default is capped by the data as before. The folds each CV used are in the record (cv_folds_weak, ...)."""
        folds, default = self.train.cv_folds, TrainSpec.model_fields["cv_folds"].default
        most = min(self.splits.n_weak_train, self.splits.n_transfer) // 2
        if folds != default and folds > most:
            raise ValueError(f"train.cv_folds {folds}: stratified k-fold needs k rows of each class, so "
                             f"n_weak_train={self.splits.n_weak_train} and n_transfer={self.splits.n_transfer} "
                             f"allow at most {most} folds; use --set train.cv_folds={max(2, most)} or less")
        return self

    @model_validator(mode="after")
    def _lock_needs(self) -> ExperimentSpec:
        if self.lock is not None:
            if self.train.mode != "frozen":
                raise ValueError(f"lock: a locked strong model is built on frozen features; use train.mode "
                                 f"'frozen' (got '{self.train.mode}')")
            if self.splits.n_extra < 20:
                raise ValueError("lock: the locked model is trained on the extra rows (never A, B or T); set "
                                 f"splits.n_extra (--n-extra) to at least 20, e.g. 500 (now {self.splits.n_extra})")
            opts = {} if isinstance(self.weak, str) else self.weak.options
            if (self.lock.variant == "deceptive" and not isinstance(self.weak, str) and self.weak.kind == "synthetic"
                    and opts.get("errors", "random") != "degrade"):
                raise ValueError("lock: variant deceptive answers truthfully where the supervisor is confident and "
                                 "wrongly elsewhere, but a synthetic supervisor gives every row the same confidence "
                                 "(hard or fixed-confidence labels), so it would silently lock to ground truth; use "
                                 "a supervisor with graded confidence (a weak model, e.g. weak: minilm, or errors: "
                                 "degrade) or variant password")
        return self

    # an unlocked experiment serialises (and hashes) exactly as before locks existed
    hash_neutral: ClassVar[dict[str, Any]] = {"lock": None}

    @field_validator("seed")
    @classmethod
    def _seed_range(cls, v: int) -> int:
        if not 0 <= v <= MAX_SEED:
            raise ValueError(f"seed {v} is out of range; seeds must be integers in 0..{MAX_SEED}")
        return v

    @property
    def weak_label(self) -> str:
        return weak_label(self.weak)

    def hash(self) -> str:
        return content_hash(self)
