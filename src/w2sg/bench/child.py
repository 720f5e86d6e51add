"""The sealed child: `python -m w2sg.bench.child IN OUT [--report-fd N]`, run inside the sandbox by
`w2sg.bench.sealed.run_sealed` (never directly on real data: outside the sandbox nothing is sealed).

It reads IN (read-only: `job.json`, `arrays.npz`, the method's file under `method/`), builds the student's view —
a `StudentContext` whose students are `FrozenLearner`s over an in-memory featurizer that maps each text of the
job to its strong-feature row, no backbone, no zero-shot scorer, no oracle labels — resolves the method
(importing its file under the audit hook of `w2sg.bench.audit`), runs it, and writes P(y=1) on T and on B to
OUT/result.npz and what the learner recorded to OUT/info.json. Violations go to the report fd as they happen.

`python -m w2sg.bench.child --probe IN` is the isolation self-test (`sandbox.check_isolation`): it tries what a
leaky method would and prints what worked as JSON. Module level imports are stdlib only, so the probe is quick.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path


class RowFeaturizer:
    """texts -> their strong-feature rows (float32 torch tensor), from the job's arrays; an unknown text is a
    KeyError (the student has features of B, V, T and the extra rows, nothing else)."""

    def __init__(self, texts: list[str], x):
        import torch

        self.index: dict[str, int] = {}
        for i, t in enumerate(texts):
            self.index.setdefault(t, i)
        self.x = torch.from_numpy(x.astype("float32", copy=False))

    def __call__(self, texts, kind: str | None = None):
        import torch

        try:
            idx = [self.index[t] for t in texts]
        except KeyError as e:
            raise KeyError(f"text {str(e.args[0])[:60]!r} is not in the sealed job: a student has the features "
                           "of B, V, T and the extra rows only") from None
        return self.x[torch.as_tensor(idx, dtype=torch.long)] if idx else self.x[:0]


def load_job(indir: Path) -> tuple[dict, dict]:
    import numpy as np

    job = json.loads((indir / "job.json").read_text())
    with np.load(indir / "arrays.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return job, arrays


def resolve_stages(method: dict, method_file: Path | None):
    """The checked method chain: built-in names from the registry, a `.py` stage from `method_file` (which must
    register exactly one method). Oracle methods, adapters last, and methods without frozen mode are refused."""
    import importlib.util

    from w2sg.config import MethodSpec
    from w2sg.methods import METHODS, get_method

    file_name = None
    if method_file is not None:
        before = set(METHODS)
        spec = importlib.util.spec_from_file_location(f"w2sg_bench_method_{method_file.stem}", method_file)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        new = sorted(set(METHODS) - before)
        if len(new) != 1:
            raise ValueError(f"{method_file.name} must register exactly one method with @register_method; it "
                             f"registered {len(new)}: {', '.join(new) or 'none'}")
        file_name = new[0]
    stages = []
    for stage in MethodSpec.model_validate(method).stages():
        m = get_method(file_name if stage.name.endswith(".py") else stage.name)
        if m.oracle:
            raise ValueError(f"method '{m.name}' is an oracle (it reads V's ground truth): a sealed run has none")
        if "frozen" not in m.modes:
            raise ValueError(f"method '{m.name}' has no frozen mode; the sealed runner trains frozen-feature heads")
        stages.append((m, m.config_cls.model_validate(stage.options)))
    if stages[-1][0].adapter:
        raise ValueError(f"method '{stages[-1][0].name}' adapts the strong model and must be followed by a method "
                         "that trains the student")
    return stages


def student_l2(train, stages, x, weak_p1, groups, seed: int):
    """The student's l2 as the pipeline chooses it (`pipeline.steps.student_l2`): a number as given, else by
    group-aware CV on B's weak labels with the student's loss (`Plan.student_loss`). Returns (l2, cv info)."""
    import numpy as np

    from w2sg.train.convex import choose_l2

    choice = train.student_l2
    if not isinstance(choice, str):
        return float(choice), None
    if choice != "cv":
        raise ValueError(f"train.student_l2 {choice!r} needs the weak model's or the ceiling's l2; a sealed run "
                         "takes 'cv' (CV on B's weak labels) or a number")
    if train.l2 != "cv":
        return float(train.l2), None
    loss = getattr(stages[-1][1], "loss", "ce")
    extra = {} if loss == "ce" else {"loss": loss}
    return choose_l2(np.asarray(x, dtype=np.float64), np.asarray(weak_p1, dtype=np.float64), folds=train.cv_folds,
                     groups=None if groups is None else np.asarray(groups), seed=seed, fit_intercept=True, **extra)


def weak_set(prefix: str, job: dict, arrays: dict, groups=None):
    from w2sg.methods import WeakLabelled

    texts = job["texts"][prefix]
    return WeakLabelled(tuple(f"{prefix}{i}" for i in range(len(texts))), tuple(texts),
                        arrays[f"{prefix}_weak_p1"], None if groups is None else tuple(groups))


def build(job: dict, arrays: dict, stages):
    """(context, B, V): the student's view of the job."""
    import numpy as np

    from w2sg.config import TrainSpec
    from w2sg.methods import StudentContext
    from w2sg.train.frozen import FrozenLearner

    train = TrainSpec.model_validate(job["train"])
    seed = int(job["seed"])
    parts = [p for p in ("transfer", "val", "test", "extra") if p in job["texts"]]
    texts = [t for p in parts for t in job["texts"][p]]
    featurizer = RowFeaturizer(texts, np.concatenate([arrays[f"{p}_x"] for p in parts]))
    transfer = weak_set("transfer", job, arrays, job.get("transfer_groups"))
    val = weak_set("val", job, arrays)
    extra = weak_set("extra", job, arrays) if "extra" in job["texts"] else None
    l2, cv = student_l2(train, stages, arrays["transfer_x"], transfer.weak_p1, transfer.groups, seed)

    def new_student():
        return FrozenLearner(featurizer, train, l2=l2)

    ctx = StudentContext(new_student=new_student, seed=seed, train=train, extra=extra,
                         strong_features=lambda items: featurizer(list(items)).numpy(), strong_backbone=None,
                         learner_on=None, oracle_val_labels=None, zero_shot=None)
    return ctx, transfer, val, {"l2": l2, "l2_cv_weak_labels": cv}


def _roots() -> list[str]:
    roots = {sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parents[2]), "/usr", "/lib", "/lib64",
             "/etc/ld.so.cache"}
    return sorted(roots)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--probe"]:
        return probe(Path(argv[1]))
    indir, outdir = Path(argv[0]), Path(argv[1])
    fd = int(argv[argv.index("--report-fd") + 1]) if "--report-fd" in argv else None
    from w2sg.bench import audit

    job, arrays = load_job(indir)
    method_file = indir / "method" / job["method_file"] if job.get("method_file") else None
    reporter = audit.install(audit.Policy(_roots() + [str(indir)], [str(outdir)],
                                          str(method_file.parent) if method_file else None), fd)
    import w2sg.methods  # noqa: F401 - the child's own imports happen before the method phase
    import w2sg.train.frozen  # noqa: F401

    reporter.active = True  # from here on, everything is the method's doing
    try:
        stages = resolve_stages(job["method"], method_file)
        ctx, transfer, val, info = build(job, arrays, stages)
        from w2sg.methods import run_method

        learner = run_method(stages, ctx, transfer, val)
        import numpy as np

        test_p1 = np.asarray(learner.predict(list(job["texts"]["test"])), dtype=np.float64)
        transfer_p1 = np.asarray(learner.predict(list(transfer.items)), dtype=np.float64)
        np.savez(outdir / "result.npz", test_p1=test_p1, transfer_p1=transfer_p1)
        learned = {k: v for k, v in getattr(learner, "info", {}).items() if k != "cv"}
        (outdir / "info.json").write_text(json.dumps({"method": stages[-1][0].name, **learned, **info},
                                                     default=str))
    except BaseException as e:  # noqa: BLE001 - the parent gets the message and the exit status
        traceback.print_exc()
        print(f"sealed-error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


def probe(indir: Path) -> int:
    """The isolation self-test: try to read the canary outside the job, connect to the parent's listener, and see
    other processes; print what succeeded (JSON)."""
    import socket

    cfg = json.loads((indir / "probe.json").read_text())
    out: dict = {"pid": os.getpid()}
    try:
        out["canary"] = Path(cfg["canary"]).read_text()
    except OSError as e:
        out["canary"] = None
        out["canary_error"] = type(e).__name__
    try:
        with socket.create_connection(("127.0.0.1", cfg["port"]), timeout=2):
            out["tcp"] = True
    except OSError as e:
        out["tcp"] = False
        out["tcp_error"] = type(e).__name__
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    out["pids"] = pids
    out["parent_visible"] = os.path.exists(f"/proc/{cfg['parent_pid']}/environ")
    out["env"] = sorted(os.environ)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
