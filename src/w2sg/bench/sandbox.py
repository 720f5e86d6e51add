"""The sandbox a sealed method runs in: bubblewrap (`bwrap`), and the self-test that proves it seals.

The child gets fresh user, pid, network, ipc, uts and cgroup namespaces (`--unshare-all --unshare-user`),
runs as an unprivileged uid with every capability dropped, as the only process of its pid namespace
(`--as-pid-1`: no other /proc/<pid> exists, the parent's least of all), in a new session, and dies with its
parent. It sees a filesystem of exactly: the system libraries (`/usr`, `/lib*`, `/etc/ld.so.cache`), the
interpreter (`sys.base_prefix`), the virtual environment (`sys.prefix`) and the w2sg source — all read-only — a
fresh `/proc`, a minimal `/dev`, the job's inputs read-only at /job/in and its output directory read-write at
/job/out (HOME and TMPDIR point inside it); the root is remounted read-only, so there is no other writable place
(no /tmp). No data directory, results store, feature cache, W2SG_HOME or /work is mounted, and the network
namespace has no interface up. The environment is cleared (only PATH, HOME, TMPDIR, PYTHONPATH, the thread
counts and the locale are set), and bwrap itself starts with a minimal environment.

`check_isolation()` runs a probe child in that sandbox that tries to read a canary file outside the job, connect
to a TCP listener of the parent on 127.0.0.1, and see other processes; if any of that works, or bwrap is
missing or cannot start, it raises `IsolationError` naming why and the fix. There is no fallback to running a
method in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

JOB_IN, JOB_OUT = "/job/in", "/job/out"
ENV_PASSED = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
FIX = ("install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`) and run where user namespaces are "
       "allowed (as root, or with kernel.unprivileged_userns_clone=1 / a Docker seccomp profile that permits "
       "unshare)")


class IsolationError(RuntimeError):
    """The sandbox cannot be set up (or leaks): a sealed run refuses to start."""


def source_dir() -> Path:
    """The directory that holds the `w2sg` package (the src dir of an editable install)."""
    return Path(__file__).resolve().parents[2]  # src/w2sg/bench/sandbox.py -> src


def read_only_roots() -> list[str]:
    """What the child reads besides the job: the interpreter, the environment and the w2sg source."""
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix), str(source_dir())}
    out: list[str] = []
    for r in sorted(roots, key=len):  # drop roots inside another (or inside /usr, bound anyway)
        if not any(r == o or r.startswith(o.rstrip("/") + "/") for o in [*out, "/usr"]):
            out.append(r)
    return out


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise IsolationError(f"bubblewrap (bwrap) is not installed, so a method cannot be sealed: {FIX}")
    return path


def bwrap_version() -> str:
    try:
        return subprocess.run([bwrap_path(), "--version"], capture_output=True, text=True, timeout=10,
                              env=host_env()).stdout.strip() or "bubblewrap"
    except (OSError, subprocess.SubprocessError):
        return "bubblewrap"


def host_env() -> dict[str, str]:
    """The environment bwrap itself starts with: nothing of the parent's but PATH."""
    return {"PATH": "/usr/bin:/bin"}


def bwrap_command(indir: Path, outdir: Path) -> list[str]:
    """The bwrap command line (up to the program to run) sealing a child to `indir` (ro) and `outdir` (rw)."""
    cmd = [bwrap_path(), "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
           "--as-pid-1", "--die-with-parent", "--new-session", "--hostname", "sealed", "--clearenv",
           "--proc", "/proc", "--dev", "/dev", "--ro-bind", "/usr", "/usr"]
    for top in ("/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin"):
        if os.path.islink(top):
            cmd += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            cmd += ["--ro-bind", top, top]
    cmd += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for root in read_only_roots():
        cmd += ["--ro-bind", root, root]
    cmd += ["--ro-bind", str(indir), JOB_IN, "--bind", str(outdir), JOB_OUT, "--remount-ro", "/", "--chdir", JOB_OUT]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": f"{JOB_OUT}/home",
           "TMPDIR": f"{JOB_OUT}/tmp", "PYTHONPATH": str(source_dir()),
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "LANG": "C.UTF-8",
           **{k: os.environ.get(k, "1") for k in ENV_PASSED}}
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    return cmd


def make_outdir(root: Path) -> Path:
    """The child's output directory (read-write in the sandbox, at JOB_OUT), with its HOME and TMPDIR."""
    out = root / "out"
    for d in (out, out / "home", out / "tmp"):
        d.mkdir()
    return out


def child_command(indir: Path, outdir: Path, *args: str) -> list[str]:
    """The sealed child's full command line (`python -m w2sg.bench.child ...` inside bwrap)."""
    return [*bwrap_command(indir, outdir), sys.executable, "-m", "w2sg.bench.child", *args]


_CHECKED: str | None = None


def check_isolation(force: bool = False) -> str:
    """Prove the sandbox seals (once per process; `force`: again) and return how it seals, in words.

    Raises IsolationError naming what leaked or why the sandbox could not start, and the fix."""
    global _CHECKED
    if _CHECKED is not None and not force:
        return _CHECKED
    bwrap_path()
    with tempfile.TemporaryDirectory(prefix="w2sg-isolation-") as tmp:
        root = Path(tmp)
        (indir := root / "in").mkdir()
        outdir = make_outdir(root)
        canary = root / "canary.txt"
        canary.write_text("w2sg-canary")
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.settimeout(0.0)
            (indir / "probe.json").write_text(json.dumps({"canary": str(canary), "port": listener.getsockname()[1],
                                                          "parent_pid": os.getpid()}))
            try:
                run = subprocess.run(child_command(indir, outdir, "--probe", JOB_IN), capture_output=True, text=True,
                                     timeout=60, env=host_env(), stdin=subprocess.DEVNULL)
            except (OSError, subprocess.SubprocessError) as e:
                raise IsolationError(f"the sandbox did not start ({type(e).__name__}: {e}): {FIX}") from None
            connected = _accepted(listener)
    if run.returncode != 0:
        tail = (run.stderr or "").strip().splitlines()[-3:]
        raise IsolationError(f"the sandbox did not start (bwrap exit {run.returncode}: {' | '.join(tail)}): {FIX}")
    try:
        seen = json.loads(run.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise IsolationError(f"the isolation probe printed no report ({run.stdout[-200:]!r}); {FIX}") from None
    leaks = []
    if seen.get("canary") is not None:
        leaks.append("it read a file outside the job directory")
    if seen.get("tcp") or connected:
        leaks.append("it connected to a TCP listener on the host's 127.0.0.1")
    if seen.get("parent_visible") or len(seen.get("pids", [])) > 3:
        leaks.append(f"it sees processes outside the sandbox (pids {seen.get('pids')})")
    extra_env = set(seen.get("env", [])) - {"PATH", "HOME", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE",
                                            "PYTHONNOUSERSITE", "LANG", "LC_CTYPE", "PWD", "TMPDIR", *ENV_PASSED}
    if extra_env:
        leaks.append(f"its environment carries the parent's variables ({', '.join(sorted(extra_env))})")
    if leaks:
        raise IsolationError("the sandbox leaks: " + "; ".join(leaks) + ". Refusing to run a method unsealed; check "
                             f"that this bwrap honours --unshare-all and the binds of `bwrap_command` ({FIX})")
    _CHECKED = (f"{bwrap_version()}: new user/pid/net/ipc/uts/cgroup namespaces (uid 65534, no capabilities, no "
                "network), read-only interpreter and w2sg source, read-write job output only, cleared environment; "
                "self-test passed (no canary, no TCP, no other processes)")
    return _CHECKED


def _accepted(listener: socket.socket) -> bool:
    try:
        conn, _ = listener.accept()
    except (BlockingIOError, OSError):
        return False
    conn.close()
    return True
