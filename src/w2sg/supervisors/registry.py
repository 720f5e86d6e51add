"""The registry of weak-supervisor kinds; kinds register themselves with `register_supervisor`."""

from __future__ import annotations

from typing import Any

from w2sg.config import OptionsError
from w2sg.supervisors.base import Supervisor, SupervisorConfig, no_record

SUPERVISORS: dict[str, Supervisor] = {}


def register_supervisor(kind: str, description: str, config_cls: type[SupervisorConfig], key, models=None,
                        precheck=None, reads=None, record=None):
    """Decorator: register `supervise(cfg, ctx) -> Supervision` as supervisor kind `kind`.

    `key(cfg, ctx) -> str` is the cache key of its output (start from ctx.split_key and include everything
    that changes the labels); `models(cfg, spec)` lists models whose frozen features it needs, `reads(cfg, spec)`
    models it reads otherwise (both enter the experiment key by identity); `record(cfg, meta) -> dict` what the
    experiment's record says about the supervision (`base.RECORD_KEYS`; by default all None), from its options
    and what its step recorded (`meta`)."""

    def deco(fn):
        if kind in SUPERVISORS:
            raise ValueError(f"supervisor kind '{kind}' is registered twice")
        SUPERVISORS[kind] = Supervisor(kind, description.strip(), config_cls, fn, key,
                                       models or (lambda cfg, spec: []), precheck, reads or (lambda cfg, spec: []),
                                       record or (lambda cfg, meta: no_record()))
        return fn

    return deco


def get_supervisor(kind: str) -> Supervisor:
    if kind not in SUPERVISORS:
        raise ValueError(f"supervisor kind '{kind}' not found; known kinds: {', '.join(sorted(SUPERVISORS))} "
                         "(see `w2sg supervisors`)")
    return SUPERVISORS[kind]


def list_supervisors() -> list[Supervisor]:
    return [SUPERVISORS[k] for k in sorted(SUPERVISORS)]


def resolve_supervisor(weak: Any) -> tuple[Supervisor, SupervisorConfig]:
    """The kind and validated options of a spec's `weak` (a model string or a SupervisorSpec)."""
    from pydantic import ValidationError

    if isinstance(weak, str):
        kind, opts = "model", {"model": weak}
    else:
        kind, opts = weak.kind, weak.options
    sup = get_supervisor(kind)
    try:
        return sup, sup.config_cls.model_validate(opts)
    except ValidationError as e:
        raise OptionsError("weak", f"weak supervisor '{kind}'", e, sup.config_cls, "w2sg supervisors") from None


def check_supervisor(spec) -> tuple[Supervisor, SupervisorConfig]:
    """Validate an ExperimentSpec's supervisor before any work (kind, options, prerequisites)."""
    sup, cfg = resolve_supervisor(spec.weak)
    problem = sup.precheck(cfg, spec) if sup.precheck else None
    if problem:
        raise ValueError(f"weak supervisor '{sup.kind}': {problem}")
    return sup, cfg


def supervisor_models(spec) -> list[str]:
    """Models whose frozen features the spec's supervisor needs (A, B, V, T and the extra rows)."""
    sup, cfg = resolve_supervisor(spec.weak)
    return list(sup.models(cfg, spec))
