"""`w2sg bench`: W2S methods run sealed, away from ground truth (`sealed.run_sealed`), in a bubblewrap sandbox
(`sandbox`) with an audit-hook report of what a method tried (`audit`).

The names below are imported on first use, so the sealed child (`python -m w2sg.bench.child`) loads none of the
parent's side."""

from __future__ import annotations

__all__ = ["IsolationError", "SealedJob", "SealedResult", "check_isolation", "run_sealed", "sealed_record"]


def __getattr__(name: str):
    if name in ("IsolationError", "check_isolation"):
        from w2sg.bench import sandbox

        return getattr(sandbox, name)
    if name in __all__:
        from w2sg.bench import sealed

        return getattr(sealed, name)
    raise AttributeError(f"module 'w2sg.bench' has no attribute {name!r}")
