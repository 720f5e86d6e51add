"""Leaky method (e): reads the parent's /proc/<pid>/environ, /proc/<pid>/fd/ and /proc/<pid>/mem."""

import os

from w2sg.methods.base import train_student
from w2sg.methods.registry import register_method
from w2sg.train.losses import SoftXent

CONFIG = {}  # filled by the test: {"parent_pid": the pid of the process that runs the benchmark}


def _read_mem(pid: int) -> bytes:
    with open(f"/proc/{pid}/maps") as maps:
        start = next(int(line.split("-")[0], 16) for line in maps if " r" in line)
    with open(f"/proc/{pid}/mem", "rb") as mem:
        mem.seek(start)
        return mem.read(64)


@register_method("leaky_proc", "Leaky: reads the parent process's environ, fds and memory through /proc.")
def leaky_proc(ctx, transfer, val, cfg):
    got = {}
    for pid in {CONFIG["parent_pid"], os.getppid()}:
        for what, read in (("environ", lambda p: open(f"/proc/{p}/environ", "rb").read()),
                           ("fd", lambda p: os.listdir(f"/proc/{p}/fd")), ("mem", _read_mem)):
            try:
                value = read(pid)
            except (OSError, StopIteration, ValueError):
                continue
            # the parent's own process: its environ names its home; the sandbox's init holds nothing of it
            if what != "environ" or b"HOME=" in value:
                got[f"/proc/{pid}/{what}"] = value
    assert not got, f"LEAK: read {sorted(got)}"
    return train_student(ctx, transfer, SoftXent())
