"""The sealed child's report of what a method tried that a W2S student may not: a `sys.addaudithook` hook.

Stdlib only (it runs inside the sandbox before anything else of the method's). What counts as a violation:

* opening, listing, creating or removing a path outside the places a student may touch: the job's inputs
  (read), the job's output directory (read/write), the read-only interpreter, virtual environment and w2sg
  source (read), the system libraries (read), `/proc/self`, `/dev/null`, `/dev/urandom`;
* any `socket.*` event (the sandbox has no network; trying is reported);
* starting processes or signalling them (`subprocess.Popen`, `os.system`, `os.exec`, `os.posix_spawn`, `os.fork`,
  `os.kill`, ...), loading native code with `ctypes`, `mmap`, tracing hooks (`sys.settrace`, `sys.setprofile`),
  adding audit hooks;
* introspection of the process's own memory *by the method's code*: `gc.get_objects` / `get_referrers` /
  `get_referents`, `sys._getframe`, `sys._current_frames`, and the traceback/generator frame attributes
  (`object.__getattr__` of `tb_frame`, `gi_frame`, ...). These are attributed to the nearest caller outside
  the standard library (so `inspect.stack()` called by the method counts, pydantic's or torch's own use does
  not): they are violations only when that caller is the method's file;
* importing the parts of w2sg that hold data (the task loaders, the store, the pipeline, the sweeps, the API).

A report is a line of text per violation written to a pipe the parent reads. It is a *report*, not the seal: a
hostile method can close the pipe or patch this module before it misbehaves and so suppress its own report.
What keeps labels out is that the sandbox holds none (see `w2sg.bench.sandbox`).
"""

from __future__ import annotations

import os
import re
import sys
import threading

# importing these is a violation: they hold (or load) data a student may not see
FORBIDDEN_MODULES = ("w2sg.tasks", "w2sg.store", "w2sg.pipeline", "w2sg.sweep", "w2sg.api", "w2sg.study",
                     "w2sg.cli", "w2sg.result", "w2sg.bench.sealed", "w2sg.bench.sandbox", "datasets")
ALWAYS = {  # event -> what the report says (any caller)
    "subprocess.Popen": "started a process (subprocess.Popen)", "os.system": "ran a shell command (os.system)",
    "os.exec": "exec'd a program (os.exec*)", "os.posix_spawn": "spawned a process (os.posix_spawn)",
    "os.spawn": "spawned a process (os.spawn*)", "os.fork": "forked (os.fork)", "os.forkpty": "forked (os.forkpty)",
    "pty.spawn": "spawned a pty (pty.spawn)", "os.kill": "signalled a process (os.kill)",
    "os.killpg": "signalled a process group (os.killpg)", "sys.addaudithook": "added an audit hook",
    "sys.settrace": "set a trace function (sys.settrace)", "sys.setprofile": "set a profile function",
    "sys.remote_exec": "ran code in another process",
}
INTROSPECTION = {  # event -> what the report says (when the method's own code asks)
    "gc.get_objects": "walked the heap (gc.get_objects)", "gc.get_referrers": "walked the heap (gc.get_referrers)",
    "gc.get_referents": "walked the heap (gc.get_referents)", "sys._getframe": "walked stack frames (sys._getframe)",
    "sys._current_frames": "walked stack frames (sys._current_frames)", "ctypes.dlopen": "loaded a library (ctypes)",
    "ctypes.dlsym": "looked up a native symbol (ctypes)", "ctypes.string_at": "read raw memory (ctypes.string_at)",
    "ctypes.wstring_at": "read raw memory (ctypes.wstring_at)", "ctypes.cdata": "read raw memory (ctypes)",
    "ctypes.addressof": "took a raw address (ctypes.addressof)", "mmap.__new__": "mapped memory (mmap)",
}
FRAME_ATTRS = {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"}
PATH_EVENTS = {"open": 0, "os.listdir": 0, "os.scandir": 0, "glob.glob": 0, "os.mkdir": 0, "os.remove": 0,
               "os.rmdir": 0, "os.rename": 0, "os.symlink": 1, "os.link": 1, "os.truncate": 0, "os.chmod": 0,
               "os.chown": 0, "os.utime": 0, "shutil.rmtree": 0, "shutil.copyfile": 1, "os.chdir": 0}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
DEVICES = ("/dev/null", "/dev/urandom", "/dev/random", "/dev/zero", "/dev/shm")


class Policy:
    """What a method may touch: `read` roots (read-only), `write` roots (read/write), and `untrusted`, the
    directory holding the method's own file (its frames are the ones introspection is attributed to)."""

    def __init__(self, read: list[str], write: list[str], untrusted: str | None):
        self.read = [os.path.realpath(p) for p in read]
        self.write = [os.path.realpath(p) for p in write]
        self.untrusted = os.path.realpath(untrusted) if untrusted else None
        self.stdlib = os.path.dirname(os.__file__)
        self.self_proc = ("/proc/self", f"/proc/{os.getpid()}", "/proc/thread-self")

    def path_problem(self, path, writing: bool) -> str | None:
        """Why touching `path` is forbidden (None: allowed). Integer paths are this process's own fds."""
        if isinstance(path, int):
            return None
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        p = os.path.abspath(os.fspath(path))
        if p.startswith(self.self_proc) or p in DEVICES or p.startswith("/dev/shm/"):
            return None
        try:
            real = os.path.realpath(p)
        except (OSError, ValueError):
            real = p
        if _under(real, self.write) and _under(p, self.write):
            return None
        if not writing and _under(real, self.read) and _under(p, self.read):
            return None
        if p == "/proc" or re.match(r"/proc/\d+(/|$)", p):  # its own pid was allowed above
            return f"read another process's /proc entry ({p})" if p != "/proc" else "listed the processes (/proc)"
        if p.startswith("/proc/") and not writing:  # system-wide counters (/proc/stat, /proc/cpuinfo, ...)
            return None
        return f"{'wrote' if writing else 'opened'} a path outside the job ({p})"

    def is_method_frame(self, frame) -> bool:
        """Whether the nearest caller outside the standard library (and this module) is the method's code."""
        if self.untrusted is None:
            return False
        f = frame
        while f is not None:
            name = os.path.realpath(f.f_code.co_filename) if f.f_code.co_filename[:1] != "<" else ""
            if name and not (name.startswith(self.stdlib) and "site-packages" not in name) and name != __file__:
                return name.startswith(self.untrusted)
            f = f.f_back
        return False


def _under(p: str, roots: list[str]) -> bool:
    return any(p == r or p.startswith(r.rstrip("/") + "/") for r in roots)


def _writing(event: str, args: tuple) -> bool:
    if event != "open":
        return event not in ("os.listdir", "os.scandir", "glob.glob", "os.chdir")
    mode, flags = (args + (None, None))[1:3]
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & WRITE_FLAGS)


class Reporter:
    """The audit hook: records each violation once (event and detail) and writes it to `fd` as a line."""

    def __init__(self, policy: Policy, fd: int | None):
        self.policy, self.fd = policy, fd
        self.seen: set[str] = set()
        self.active = False  # the method phase: set once the child's own imports are done
        self._busy = threading.local()

    def report(self, message: str) -> None:
        if message in self.seen:
            return
        self.seen.add(message)
        if self.fd is not None:
            try:
                os.write(self.fd, (message.replace("\n", " ") + "\n").encode())
            except OSError:  # the method closed the pipe: it suppressed its own report
                pass

    def __call__(self, event: str, args: tuple) -> None:
        if not self.active or getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            message = self._check(event, args)
            if message:
                self.report(message)
        except Exception:  # noqa: BLE001 - a hook must never break the audited call
            pass
        finally:
            self._busy.on = False

    def _check(self, event: str, args: tuple) -> str | None:
        if event in PATH_EVENTS:
            problem = self.policy.path_problem(args[PATH_EVENTS[event]], _writing(event, args))
            if problem is None and event in ("os.rename", "os.symlink", "os.link", "shutil.copyfile"):
                problem = self.policy.path_problem(args[1 - PATH_EVENTS[event]], True)
            return f"{event}: {problem}" if problem else None
        if event.startswith("socket."):
            return f"{event}: tried the network ({event} {_short(args)})"
        if event in ALWAYS:
            return f"{event}: {ALWAYS[event]}"
        if event == "import":
            name = args[0] or ""
            hit = next((m for m in FORBIDDEN_MODULES if name == m or name.startswith(m + ".")), None)
            return f"import: imported {hit} (w2sg's data loaders, store or pipeline)" if hit else None
        if event in INTROSPECTION or (event == "object.__getattr__" and len(args) > 1 and args[1] in FRAME_ATTRS):
            caller = sys._getframe(2)  # 0: _check, 1: __call__, 2: the audited call's frame
            if self.policy.is_method_frame(caller):
                what = INTROSPECTION.get(event) or f"walked stack frames ({args[1]})"
                return f"{event}: {what}"
        return None


def _short(args: tuple) -> str:
    text = ", ".join(repr(a) for a in args[1:] if not hasattr(a, "fileno"))
    return text[:120]


def install(policy: Policy, fd: int | None) -> Reporter:
    """Add the hook (inactive until `reporter.active = True`); hooks cannot be removed once added."""
    reporter = Reporter(policy, fd)
    sys.addaudithook(reporter)
    return reporter
