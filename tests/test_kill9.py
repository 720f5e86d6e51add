"""`kill -9` in the middle of a run loses at most the step in flight; a rerun resumes from finished steps."""

import os
import signal
import subprocess
import sys
import time

from w2sg.pipeline import Pipeline

from .conftest import tiny_spec

CHILD = """
import sys
from w2sg.config import ExperimentSpec
from w2sg.pipeline import Pipeline
spec = ExperimentSpec.model_validate_json(sys.argv[2])
Pipeline(sys.argv[1]).run(spec)
"""


def test_kill9_during_ceiling_then_resume(tmp_path, tiny_encoder, synthetic_task):
    # enough epochs that the ceiling step is still running when the weak artifact appears
    spec = tiny_spec(synthetic_task, tiny_encoder, tiny_encoder, mode="full", epochs=30)
    workdir = tmp_path / "runs"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(workdir), spec.model_dump_json()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    weak_dir = workdir / "cache" / "weak"
    deadline = time.time() + 240
    while time.time() < deadline and not (weak_dir.exists() and any(weak_dir.glob("*.npz"))):
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    pipe = Pipeline(workdir)
    keys = pipe.keys(spec)
    assert pipe.cache.path("weak", keys["weak"]).exists()
    assert not pipe.cache.path("ceiling", keys["ceiling"]).exists()
    assert not pipe.store.records()  # no half-written experiment row
    rec = pipe.run(spec)
    assert rec["cached_weak"] and not rec["cached_ceiling"] and not rec["cached_student"]
    assert len(pipe.store.records()) == 1
