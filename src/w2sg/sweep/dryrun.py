"""A dry run: what each cell would reuse from the cache and what it would compute, with a rough cost."""

from __future__ import annotations

from pathlib import Path

from w2sg.models.zoo import is_classic
from w2sg.supervisors import supervisor_models
from w2sg.sweep.grid import SweepSpec, cell_label, expand, rung_size
from w2sg.sweep.jobs import texts_for

CPU_FLOPS = 5e10  # effective fp32 FLOP/s of a 2-core CPU on transformer layers (rough; GPU: x20)


def _params(pipe, model: str) -> float:
    size = rung_size(model)
    if size:
        return size
    try:
        import json

        cfg = json.loads((Path(pipe.res.model(model).path) / "config.json").read_text())
        h, n, v = cfg.get("hidden_size", 768), cfg.get("num_hidden_layers", 12), cfg.get("vocab_size", 30000)
        return 12 * h * h * n + h * v
    except Exception:  # noqa: BLE001 — a Hub id we cannot inspect offline
        return 1e8


def dry_run(sweep: SweepSpec, workdir: str | Path, data_dir: str | Path | None = None) -> list[dict]:
    """What is cached and what will be computed, per cell, with a rough CPU cost estimate in seconds."""
    import torch

    from w2sg.pipeline import Pipeline

    pipe = Pipeline(workdir, data_dir)
    speed = CPU_FLOPS * (20 if torch.cuda.is_available() else 1)
    rows, seen_features = [], set()
    for c in expand(sweep):
        keys = pipe.keys(c)
        row = {"cell": cell_label(c), "done": pipe.store.has(keys["experiment"])}
        for step in ("weak", "ceiling", "student"):
            row[f"{step}_cached"] = pipe.cache.path(step, keys[step]).exists()
        cost, new_texts = 0.0, 0
        if not row["done"]:
            s = pipe.splits(c)
            tokens = {name: sum(len(r.text) for r in rows_) / 4 for name, rows_ in s.items()}  # ~4 chars/token
            if c.train.mode == "frozen":
                for m in dict.fromkeys([*supervisor_models(c), c.strong]):
                    if is_classic(m):  # a classic rung (tfidf) has no frozen features; its fit costs ~nothing
                        continue
                    missing = [t for t in pipe.res.featurizer(m, c.train).store.missing(sorted(texts_for(pipe, m, c)))
                               if (m, t) not in seen_features]
                    seen_features.update((m, t) for t in missing)
                    new_texts += len(missing)
                    cost += 2 * _params(pipe, m) * sum(len(t) / 4 for t in missing) / speed
            else:
                ep = c.train.resolved_epochs()
                fits = [(m, "weak_train", not row["weak_cached"]) for m in supervisor_models(c)] + [
                    (c.strong, "transfer", not row["ceiling_cached"]), (c.strong, "transfer", True)]
                for m, split, needed in fits:
                    if needed:
                        cost += 6 * _params(pipe, m) * tokens[split] * ep / speed
                        cost += 2 * _params(pipe, m) * (tokens["test"] + tokens["transfer"]) / speed
        row["new_feature_texts"] = new_texts
        row["est_seconds"] = round(cost, 1)
        rows.append(row)
    return rows
