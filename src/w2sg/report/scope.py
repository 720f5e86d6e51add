"""What a report covers, said in the report: several runs write into one workdir's report folder, so a reader
must see which experiments a page shows (their cells, when they were stored, and their hashes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from w2sg.result import ExperimentResult, as_result, as_results

HASH_CHARS = 12  # the experiment hash as the experiment table shows it (the store keeps it whole)
SHOWN = 8  # names listed per axis before "and N more"


def short_hash(record: Mapping | ExperimentResult) -> str:
    h = as_result(record).hash
    return str(h)[:HASH_CHARS] if h else "-"


def _names(results: list[ExperimentResult], *fields: str) -> str:
    values = sorted({" → ".join(str(getattr(r, f)) for f in fields) for r in results})
    more = f" and {len(values) - SHOWN} more" if len(values) > SHOWN else ""
    return ", ".join(values[:SHOWN]) + more


def _when(results: list[ExperimentResult]) -> str:
    times = [r.created_at for r in results if isinstance(r.created_at, int | float)]
    if not times:
        return ""

    def at(t: float) -> str:
        return dt.datetime.fromtimestamp(t).isoformat(sep=" ", timespec="seconds")

    lo, hi = min(times), max(times)
    return f", stored {at(lo)}" + ("" if hi - lo < 1 else f" to {at(hi)}")


def covers(records: list[Mapping[str, Any] | ExperimentResult]) -> str:
    """One sentence (plain text: escape it for Markdown or HTML) naming the experiments a report shows: how
    many, their tasks, supervisor → strong pairs, methods and seeds, when they were stored, and where their
    hashes are."""
    if not records:
        return "This report covers no experiment."
    records = as_results(records)
    seeds = ", ".join(str(s) for s in sorted({r.seed for r in records},
                                             key=lambda s: (0, s) if isinstance(s, int) else (1, str(s))))
    return (f"This report covers {len(records)} experiment(s): task {_names(records, 'task')}; "
            f"{_names(records, 'weak', 'strong')}; method {_names(records, 'method')}; seed {seeds}"
            f"{_when(records)}. Each one's hash (its key in the results store, first {HASH_CHARS} characters) is "
            "the last column of 'Every experiment'.")
