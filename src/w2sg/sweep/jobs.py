"""Jobs: the unit of work an executor runs. Before the cells run, their shared work runs as separate jobs so
that nothing is computed twice even with parallel workers: frozen features per (model, task), then every
distinct supervisor and ceiling, then the students."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any, Literal

from w2sg.config import ExperimentSpec
from w2sg.models.zoo import is_classic
from w2sg.supervisors import supervisor_models
from w2sg.sweep.grid import cell_label


@dataclass(frozen=True)
class Job:
    kind: Literal["features", "weak", "ceiling", "cell"]
    specs: tuple[str, ...]  # ExperimentSpec JSON (one, or several for a features job)
    model: str = ""
    label: str = ""


def plan(pipe, cells: list[ExperimentSpec]) -> tuple[list[list[Job]], dict[str, str]]:
    """Phases of jobs for the cells not yet in the store, and each cell's state ('done' or 'todo')."""
    state: dict[str, str] = {}
    todo: list[ExperimentSpec] = []
    for c in cells:
        k = pipe.keys(c)["experiment"]
        state[k] = "done" if pipe.store.has(k) else "todo"
        if state[k] == "todo":
            todo.append(c)
    features: dict[tuple[str, str], list[ExperimentSpec]] = {}
    weak: dict[str, ExperimentSpec] = {}
    ceiling: dict[str, ExperimentSpec] = {}
    for c in todo:
        keys = pipe.keys(c)
        if c.train.mode == "frozen":
            for m in dict.fromkeys([*supervisor_models(c), c.strong]):
                if is_classic(m):  # tfidf: no frozen features to precompute
                    continue
                features.setdefault((m, c.task), []).append(c)
        if not pipe.cache.path("weak", keys["weak"]).exists():
            weak.setdefault(keys["weak"], c)
        if not pipe.cache.path("ceiling", keys["ceiling"]).exists():
            ceiling.setdefault(keys["ceiling"], c)
    phases = [
        [Job("features", tuple(s.model_dump_json() for s in specs), m, f"features {m} {t}")
         for (m, t), specs in features.items()],
        [Job("weak", (c.model_dump_json(),), c.weak_label, f"weak {c.weak_label} {c.task} seed={c.seed}")
         for c in weak.values()]
        + [Job("ceiling", (c.model_dump_json(),), c.strong, f"ceiling {c.strong} {c.task} seed={c.seed}")
           for c in ceiling.values()],
        [Job("cell", (c.model_dump_json(),), c.strong, cell_label(c)) for c in todo],
    ]
    return [p for p in phases if p], state


_WORKER_PIPES: dict[tuple, Any] = {}


def run_job(workdir: str, data_dir: str | None, job: Job) -> dict:
    """Run one job in this process (also the body of process and Ray workers). Never raises: errors come
    back as {'error': ...} so that one failed cell does not stop the sweep."""
    from w2sg.pipeline import Pipeline

    key = (workdir, data_dir)
    if key not in _WORKER_PIPES:
        _WORKER_PIPES[key] = Pipeline(workdir, data_dir)
    pipe = _WORKER_PIPES[key]
    t0 = time.perf_counter()
    try:
        specs = [ExperimentSpec.model_validate_json(s) for s in job.specs]
        if job.kind == "features":
            out: dict = {"new_texts": features_step(pipe, job.model, specs)}
        elif job.kind == "weak":
            pipe.weak_step(specs[0])
            out = {}
        elif job.kind == "ceiling":
            pipe.ceiling_step(specs[0])
            out = {}
        else:
            out = {"result": pipe.compute(specs[0])}
    except Exception as e:  # noqa: BLE001 — recorded, the sweep goes on
        out = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=8)}
    out["seconds"] = time.perf_counter() - t0
    return out


def texts_for(pipe, model: str, spec: ExperimentSpec) -> set[str]:
    """Texts whose frozen features `model` needs in this experiment (a supervisor's model: A, B, V, T and the
    extra rows; the strong model: B, V, T and the extra rows). None for a classic rung (tfidf): no features."""
    from w2sg.items import item_texts

    if is_classic(model):
        return set()
    s = pipe.splits(spec)
    parts = [s.transfer, s.val, s.test, s.extra]
    if model in supervisor_models(spec):
        parts.append(s.weak_train)
    elif model != spec.strong:
        return set()
    return {t for rows in parts for t in item_texts([r.item for r in rows])}


def features_step(pipe, model: str, specs: list[ExperimentSpec]) -> int:
    """Frozen features of `model` for every text the given experiments need; returns how many were new (0 for a
    classic rung: tfidf has no frozen features)."""
    if is_classic(model):
        return 0
    texts: set[str] = set()
    for spec in specs:
        texts |= texts_for(pipe, model, spec)
    from w2sg.items import kind_of

    f = pipe.res.featurizer(model, specs[0].train)
    before = f.n_computed
    test = pipe.splits(specs[0]).test
    # the item kind picks a decoder's prompt template (a comparison's sides are read as responses)
    f(sorted(texts), kind=kind_of([r.item for r in test]) if test else "text")
    return f.n_computed - before
