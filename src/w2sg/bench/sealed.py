"""The sealed method runner (parent side): a method's student step in a sandboxed process that sees only what a
W2S student may see.

    from w2sg.bench import SealedJob, run_sealed
    job = SealedJob(train=TrainSpec(), seed=0, transfer_texts=b_texts, transfer_x=b_x, transfer_weak_p1=b_weak,
                    val_texts=v_texts, val_x=v_x, val_weak_p1=v_weak, test_texts=t_texts, test_x=t_x)
    result = run_sealed("confidence", job)            # or run_sealed("path/to/my_method.py", job)
    result.test_p1, result.valid, result.violations   # P(y=1) on T; the parent scores it

The job holds B's and V's texts, strong frozen features and weak labels, T's texts and features (no labels), and
optional weak-labelled extra rows: no ground truth anywhere. The child (`w2sg.bench.child`) runs in the bubblewrap
sandbox of `w2sg.bench.sandbox` (checked by `check_isolation` before the first run: no fallback to in-process)
with the job's inputs read-only and an output directory, and streams what the method tried that a student may
not (`w2sg.bench.audit`) over a dedicated pipe. A result is invalid when the method tried anything forbidden,
the child failed or timed out, or its predictions are not one finite probability per row.

The report is best effort: a hostile method can suppress its own report (close the pipe, patch the hook's module
before misbehaving). The sealing is what keeps labels out: the sandbox holds none to find.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from w2sg.bench.sandbox import JOB_IN, JOB_OUT, check_isolation, child_command, host_env, make_outdir
from w2sg.config import MethodSpec, TrainSpec

STDERR_TAIL = 4000  # characters of the child's stderr kept in an error


@dataclass
class SealedJob:
    """What a W2S student may see: B (transfer), V (val) and the extra rows with weak labels, T without labels;
    `*_x` are the strong model's frozen features, one row per text. `transfer_groups`: question ids of B's rows
    (the student's l2 CV keeps a question's rows in one fold)."""

    train: TrainSpec
    seed: int
    transfer_texts: list[str]
    transfer_x: np.ndarray = field(repr=False)
    transfer_weak_p1: np.ndarray = field(repr=False)
    val_texts: list[str]
    val_x: np.ndarray = field(repr=False)
    val_weak_p1: np.ndarray = field(repr=False)
    test_texts: list[str]
    test_x: np.ndarray = field(repr=False)
    transfer_groups: list[str] | None = None
    extra_texts: list[str] | None = None
    extra_x: np.ndarray | None = field(default=None, repr=False)
    extra_weak_p1: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.train.mode != "frozen":
            raise ValueError(f"a sealed job trains frozen-feature heads; got train.mode {self.train.mode!r}")
        if self.train.student_l2 in ("weak", "ceiling"):
            raise ValueError(f"train.student_l2 {self.train.student_l2!r} reads another model's l2 ('ceiling': B's "
                             "ground truth); a sealed run takes 'cv' (CV on B's weak labels) or a number")
        width = None
        for part in self.parts():
            texts, x = getattr(self, f"{part}_texts"), np.asarray(getattr(self, f"{part}_x"))
            if x.ndim != 2 or len(x) != len(texts) or not all(isinstance(t, str) for t in texts):
                raise ValueError(f"SealedJob.{part}: {len(texts)} texts (strings) need a 2-d {part}_x with one row "
                                 f"each; got shape {x.shape}")
            if width is not None and x.shape[1] != width:
                raise ValueError(f"SealedJob.{part}_x has {x.shape[1]} columns, the others {width}")
            width = x.shape[1]
            if part != "test":
                w = np.asarray(getattr(self, f"{part}_weak_p1"), dtype=np.float64)
                if w.shape != (len(texts),) or not np.isfinite(w).all() or (w.size and (w.min() < 0 or w.max() > 1)):
                    raise ValueError(f"SealedJob.{part}_weak_p1 must be {len(texts)} probabilities in [0, 1]")
        if self.transfer_groups is not None and len(self.transfer_groups) != len(self.transfer_texts):
            raise ValueError("SealedJob.transfer_groups needs one group per transfer text")

    def parts(self) -> list[str]:
        return ["transfer", "val", "test"] + (["extra"] if self.extra_texts is not None else [])


@dataclass
class SealedResult:
    """A sealed run: P(y=1) on T (`test_p1`) and on B (`transfer_p1`, for misfit), None when the child produced
    none; `valid` is False when the method tried anything a W2S student may not (`violations`), the child failed
    (`error`) or timed out, or the predictions are malformed. `isolation` says how the run was sealed; `info` is
    what the learner recorded (its l2, solver, gradient norm) with the l2 CV on B's weak labels."""

    test_p1: np.ndarray | None
    transfer_p1: np.ndarray | None
    valid: bool
    violations: list[str]
    error: str | None
    seconds: float
    isolation: str
    method: str = ""
    info: dict = field(default_factory=dict)


def sealed_record(result: SealedResult) -> dict:
    """The keys a sealed run adds to its store row."""
    return {"bench_valid": bool(result.valid), "bench_violations": list(result.violations),
            "bench_isolation": result.isolation, "bench_seconds": float(result.seconds)}


def method_input(method: MethodSpec | str | Path) -> tuple[MethodSpec, Path | None]:
    """(the method chain, the method's file or None). A string or Path ending in .py, or a stage named so, is a
    file holding one method registered with `register_method`; anything else is a registered name. Registered
    oracle methods are refused here (they read ground truth); a file's is refused in the child."""
    if isinstance(method, Path) or (isinstance(method, str) and method.endswith(".py")):
        method = MethodSpec(name=str(method))
    elif isinstance(method, str):
        method = MethodSpec.model_validate(method)
    files = [Path(s.name) for s in method.stages() if s.name.endswith(".py")]
    if len(files) > 1:
        raise ValueError(f"method '{method.label}': at most one stage may be a file")
    if files and not files[0].is_file():
        raise FileNotFoundError(f"method file {files[0]} not found")
    from w2sg.methods import get_method

    for s in method.stages():
        if not s.name.endswith(".py") and get_method(s.name).oracle:
            raise ValueError(f"method '{s.name}' is an oracle baseline (it reads V's ground truth); a sealed run "
                             "has no ground truth to give it: benchmark a method that learns from weak labels")
    return method, (files[0].resolve() if files else None)


def write_job(indir: Path, method: MethodSpec, method_file: Path | None, job: SealedJob) -> None:
    """The child's inputs: job.json (method, settings, texts), arrays.npz (features, weak labels), the method file."""
    spec = method.model_dump(mode="json")
    if method_file is not None:
        (indir / "method").mkdir()
        shutil.copyfile(method_file, indir / "method" / method_file.name)
        spec = _rename_file_stage(spec, method_file.name)
    parts = job.parts()
    doc = {"method": spec, "method_file": method_file.name if method_file else None,
           "train": job.train.model_dump(mode="json"), "seed": int(job.seed),
           "texts": {p: list(getattr(job, f"{p}_texts")) for p in parts},
           "transfer_groups": None if job.transfer_groups is None else [str(g) for g in job.transfer_groups]}
    (indir / "job.json").write_text(json.dumps(doc))
    arrays = {f"{p}_x": np.asarray(getattr(job, f"{p}_x"), dtype=np.float32) for p in parts}
    arrays |= {f"{p}_weak_p1": np.asarray(getattr(job, f"{p}_weak_p1"), dtype=np.float32)
               for p in parts if p != "test"}
    np.savez(indir / "arrays.npz", **arrays)


def _rename_file_stage(spec: dict, name: str) -> dict:
    out = dict(spec)
    if out["name"].endswith(".py"):
        out["name"] = name
    if out.get("then"):
        out["then"] = _rename_file_stage(out["then"], name)
    return out


def run_sealed(method: MethodSpec | str | Path, job: SealedJob, timeout_s: float = 600) -> SealedResult:
    """Run `method`'s student step on `job` in the sandbox; P(y=1) on T and B, valid or not and why.

    Raises IsolationError (before anything runs) when the sandbox cannot be set up or leaks, ValueError for an
    oracle method or a malformed job. The method's own failures are results: valid=False with the error."""
    spec, method_file = method_input(method)
    isolation = check_isolation()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="w2sg-sealed-") as tmp:
        root = Path(tmp)
        (indir := root / "in").mkdir()
        outdir = make_outdir(root)
        write_job(indir, spec, method_file, job)
        violations, status, error = _run_child(root, indir, outdir, timeout_s)
        test_p1, transfer_p1, info, problem = _read_outputs(outdir, job)
    error = error or problem
    valid = not violations and error is None
    return SealedResult(test_p1, transfer_p1, valid, violations, error, time.perf_counter() - t0, isolation,
                        method=str(info.pop("method", spec.label)), info=info)


def _run_child(root: Path, indir: Path, outdir: Path, timeout_s: float) -> tuple[list[str], int | None, str | None]:
    """Start the sealed child, collect its report while it runs; (violations, exit status, error or None)."""
    read_fd, write_fd = os.pipe()
    lines: list[str] = []
    log = root / "child.log"
    with open(log, "wb") as out:
        try:
            proc = subprocess.Popen(child_command(indir, outdir, JOB_IN, JOB_OUT, "--report-fd", str(write_fd)),
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=host_env(),
                                    pass_fds=(write_fd,), start_new_session=True)
        finally:
            os.close(write_fd)
        reader = threading.Thread(target=_read_report, args=(read_fd, lines), daemon=True)
        reader.start()
        timed_out = False
        try:
            status = proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            status = proc.wait()
        reader.join(timeout=10)
    text = log.read_text(errors="replace")
    violations = list(dict.fromkeys(lines))
    if timed_out:
        return violations, status, f"the method ran past its {timeout_s:g} s limit and was killed"
    if status != 0:
        marked = [ln for ln in text.splitlines() if ln.startswith("sealed-error: ")]
        what = marked[-1][len("sealed-error: "):] if marked else f"the child exited with status {status}"
        return violations, status, f"{what}\n--- child output (tail) ---\n{text[-STDERR_TAIL:]}"
    return violations, status, None


def _read_report(fd: int, lines: list[str]) -> None:
    buf = b""
    try:
        while chunk := os.read(fd, 65536):
            buf += chunk
            *done, buf = buf.split(b"\n")
            lines += [d.decode(errors="replace")[:500] for d in done if d.strip()]
    finally:
        os.close(fd)
    if buf.strip():
        lines.append(buf.decode(errors="replace")[:500])


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _read_outputs(outdir: Path, job: SealedJob) -> tuple[np.ndarray | None, np.ndarray | None, dict, str | None]:
    """(test P(y=1), transfer P(y=1), the learner's info, why they are unusable or None)."""
    path = outdir / "result.npz"
    if not path.is_file():
        return None, None, {}, "the method returned no predictions"
    try:
        with np.load(path, allow_pickle=False) as z:
            test_p1, transfer_p1 = np.asarray(z["test_p1"]), np.asarray(z["transfer_p1"])
        info = json.loads((outdir / "info.json").read_text()) if (outdir / "info.json").is_file() else {}
        info = info if isinstance(info, dict) else {}
    except (OSError, ValueError, KeyError) as e:
        return None, None, {}, f"unreadable predictions ({type(e).__name__}: {e})"
    problems = []
    for name, p, n in (("test", test_p1, len(job.test_texts)), ("transfer", transfer_p1, len(job.transfer_texts))):
        if p.shape != (n,) or not np.issubdtype(p.dtype, np.floating):
            problems.append(f"{name} predictions have shape {p.shape} ({p.dtype}), expected ({n},) floats")
        elif not np.isfinite(p).all() or (p.size and (p.min() < 0 or p.max() > 1)):
            problems.append(f"{name} predictions are not probabilities in [0, 1] (non-finite or out of range)")
    if problems:
        return None, None, info, "; ".join(problems)
    return test_p1.astype(np.float64), transfer_p1.astype(np.float64), info, None
