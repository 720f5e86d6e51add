"""The scaling study's statistics on hand-made records (issue 22): pairs admitted by the mean gap over all seeds,
pooled PGRs (never stable seeds only), the median over admitted tasks, the per-task slope against strong-model
size, confidence-minus-naive against the gap with a bootstrap over tasks, and the "What changed" section."""

import importlib.util
import json

import numpy as np
import pytest

from .conftest import REPO


@pytest.fixture(scope="module")
def sc():
    spec = importlib.util.spec_from_file_location("study_scaling", REPO / "studies" / "scaling" / "study.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(task, weak, strong, seed, method="naive", weak_acc=0.6, ceiling_acc=0.8, pgr=0.5, student=None):
    student = weak_acc + pgr * (ceiling_acc - weak_acc) if student is None else student
    gap = ceiling_acc - weak_acc
    return {"task": task, "weak": weak, "strong": strong, "seed": seed, "method": method, "mode": "frozen",
            "budget": "converged", "budget_kind": "full", "hash": f"{task}/{weak}/{strong}/{method}/{seed}",
            "weak_acc": weak_acc, "ceiling_acc": ceiling_acc, "student_acc": student, "gap_acc": gap,
            "pgr_acc": (student - weak_acc) / gap if gap > 0 else None, "unstable": gap < 0.05}


def _both(task, weak, strong, seed, weak_acc, ceiling_acc, pgr_naive, pgr_conf):
    return [_row(task, weak, strong, seed, "naive", weak_acc, ceiling_acc, pgr_naive),
            _row(task, weak, strong, seed, "confidence", weak_acc, ceiling_acc, pgr_conf)]


def test_a_pair_is_admitted_by_its_mean_gap_over_all_seeds_not_by_most_seeds(sc):
    rows = []
    # sst2: every seed has a gap of about 0.2 -> resolved
    for s, c in enumerate((0.80, 0.78, 0.82)):
        rows += _both("sst2", "tfidf", "mpnet", s, 0.6, c, 0.4 + 0.1 * s, 0.5)
    # wic: two seeds with a clear gap (0.2) and one with -0.45: "most seeds clear" under the old rule, but the mean
    # gap over all seeds (-0.017) is not resolved
    for s, c in enumerate((0.80, 0.80, 0.15)):
        rows += _both("wic", "tfidf", "mpnet", s, 0.6, c, 0.5, 0.5)
    pairs = sc.pair_summaries(rows)
    gap = sc.gaps(pairs)
    assert gap[("sst2", "tfidf", "mpnet")].resolved and not gap[("wic", "tfidf", "mpnet")].resolved
    assert gap[("wic", "tfidf", "mpnet")].gap == pytest.approx((0.2 + 0.2 - 0.45) / 3)
    # the pooled PGR is over all seeds: (mean student - mean weak) / mean gap
    sst2 = pairs[("sst2", "tfidf", "mpnet")]["naive"]
    students = [0.6 + (0.4 + 0.1 * s) * (c - 0.6) for s, c in enumerate((0.80, 0.78, 0.82))]
    assert sst2["pgr_acc_pooled"] == pytest.approx((np.mean(students) - 0.6) / 0.2)
    assert sc.pooled(pairs[("wic", "tfidf", "mpnet")]["naive"]).startswith("gap not resolved (gap -0.017 [")
    table, gap_tasks = sc.ladder_table(gap)
    assert gap_tasks == ["sst2"] and any(line.startswith("| wic |") and line.endswith("| none |") for line in table)


def _grid(tasks, gap_of_task=lambda i: 0.2, pgr=lambda task, strong: 0.3, gain=lambda i: 0.1, seeds=3):
    rows = []
    for i, task in enumerate(tasks):
        for strong in ("mpnet", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"):
            for s in range(seeds):
                p = pgr(task, strong)
                rows += _both(task, "minilm", strong, s, 0.6, 0.6 + gap_of_task(i), p, p + gain(i))
    return rows


def test_pgr_table_is_the_median_over_admitted_tasks_of_the_pooled_pgr(sc):
    tasks = ["a", "b", "c", "d"]
    values = {"a": 0.1, "b": 0.3, "c": 0.9, "d": 0.5}
    rows = _grid(tasks, pgr=lambda t, s: values[t])
    # a fifth task without a gap is left out of the median
    rows += [r for s in range(3) for r in _both("e", "minilm", "mpnet", s, 0.6, 0.6, 0.0, 0.0)]
    pairs = sc.pair_summaries(rows)
    gap = sc.gaps(pairs)
    table = sc.pgr_table(gap, sc.Cells(rows))
    line = next(x for x in table if x.startswith("| minilm → mpnet |"))
    # median of 0.1, 0.3, 0.5, 0.9 = 0.40 (naive), +0.1 for confidence; every seed alike: the CI is over tasks
    assert line.startswith("| minilm → mpnet | 109M | 4/5 | 0.200 | 0.40 [0.10, 0.90] | 0.50 [0.20, 1.00] |")


def test_size_slope_is_per_decade_of_parameters_with_a_verdict_only_from_enough_tasks(sc):
    slope = 0.1
    rows = _grid(["a", "b"], pgr=lambda t, s: slope * np.log10(sc.params(s)))
    pairs = sc.pair_summaries(rows)
    per_task, (mean, lo, hi) = sc.size_slopes(sc.Cells(rows), sc.gaps(pairs), "minilm", "naive")
    assert per_task == pytest.approx({"a": slope, "b": slope}) and mean == pytest.approx(slope)
    assert lo == pytest.approx(slope) and hi == pytest.approx(slope)  # no noise anywhere
    assert sc.verdict(lo, hi, "grows", "falls", "open", len(per_task)).startswith("no verdict: 2 task(s)")
    assert sc.verdict(lo, hi, "grows", "falls", "open", 5) == "grows"
    assert sc.size_slopes(sc.Cells(rows), sc.gaps(pairs), "tfidf", "naive")[0] == {}


def test_confidence_gain_against_gap_uses_pooled_pgrs_and_a_bootstrap_over_tasks(sc):
    tasks = ["a", "b", "c", "d", "e"]
    rows = _grid(tasks, gap_of_task=lambda i: 0.05 * (i + 2), gain=lambda i: 0.05 * (i + 2))
    pairs = sc.pair_summaries(rows)
    gap = sc.gaps(pairs)
    xs, ys, groups = sc.confidence_vs_gap(pairs, gap)
    assert ys == pytest.approx(xs) and sorted(set(groups)) == tasks and len(xs) == 15
    rho, lo, hi = sc.spearman_by_task(xs, ys, groups)
    assert rho == pytest.approx(1.0) and lo == pytest.approx(1.0)
    assert sc.verdict(lo, hi, "more", "less", "open", 5) == "more"
    # three tasks: rho, but no CI and no verdict (a bootstrap over 3 tasks has 10 distinct resamples; with one task
    # the library's bootstrap would return rho as both ends)
    keep = [i for i, g in enumerate(groups) if g in ("a", "b", "c")]
    rho3 = sc.spearman_by_task([xs[i] for i in keep], [ys[i] for i in keep], [groups[i] for i in keep])
    assert rho3 == (pytest.approx(1.0), None, None)


def test_confidence_against_naive_is_paired_by_seed(sc):
    rows = _grid(["a", "b", "c"], gain=lambda i: 0.1)
    pairs = sc.pair_summaries(rows)
    table = sc.comparison_table(rows, sc.gaps(pairs))
    line = next(x for x in table if x.startswith("| minilm → mpnet |"))
    assert line.startswith("| minilm → mpnet | 3 | +0.10 [+0.10, +0.10] |") and line.endswith("confidence better |")


def test_page_flags_negative_gaps_and_says_what_lost_support(sc, tmp_path, monkeypatch):
    rows = []
    for task in ("sst2", "sciq"):
        for strong, pgr in (("mpnet", 0.3), ("smollm2-135m", 0.4), ("qwen2.5-coder-0.5b", 0.6)):
            for s in range(3):
                rows += _both(task, "tfidf", strong, s, 0.6, 0.8 + 0.01 * s, pgr, pgr + 0.1)
    # the ciphered form: ceiling below the weak model in every seed (mean gap -0.038)
    for s in range(3):
        rows += [_row("tasks/sst2_cipher.yaml", "tfidf", "mpnet", s, m, 0.555, 0.517, student=0.5)
                 for m in ("naive", "confidence")]
    rows.append({**_row("sst2", "minilm", "qwen2.5-coder-0.5b", 0, "zero_shot"), "student_acc": 0.7,
                 "student_auroc": 0.75, "ceiling_auroc": 0.9})
    monkeypatch.setattr(sc, "study_records", lambda root, part="main", layer="last": rows if part == "main" else [])
    monkeypatch.setattr(sc, "grid_progress", lambda recs: ({r["task"] for r in recs}, {}))  # every task complete
    text = sc.page(tmp_path, tmp_path).read_text()
    assert (tmp_path / "scaling_pgr_vs_size.png").stat().st_size > 10_000
    assert text.index("## What changed (issue 22)") < text.index("## Frozen features")
    assert "This store holds the main grid on 2 task(s) (sst2, sciq) of the old page's 13" in text
    assert "\"The confidence loss helps more with larger gaps\": lost its support" in text
    assert "ρ 0.63 [0.27, 0.93] over 32 pairs on 4 tasks" in text and "and -0.08 [-0.60, 0.28]" in text
    assert "no verdict: 2 task(s), fewer than 5" in text
    assert "Which tasks have a resolved gap: 2 of 2 tasks run" in text  # the cipher form is not counted
    assert "| tfidf → qwen-0.5b | 494M | 2/2 |" in text
    cipher = next(x for x in text.splitlines() if x.startswith("| sst2 | tfidf → mpnet | ciphered |"))
    assert cipher.count("gap not resolved (gap -0.038 [") == 2  # both methods flagged, no bare number
    assert "| sst2 | qwen-0.5b | 0.700 | 0.750 | 0.810 | 0.900 |" in text  # zero-shot acc, AUROC; the ceiling's
    assert "python studies/scaling/study.py run --part gpu" in text and str(tmp_path) not in text


def test_what_changed_names_the_parts_still_missing_and_only_those(sc):
    done = {"main": (0, 780), "zero_shot": (0, 39), "novel": (0, 216), "xl": (0, 108), "layers": (0, 18)}
    text = "\n".join(sc.what_changed({}, ["sst2", "sciq"], done))
    assert "every CPU part's grid is complete (main, zero_shot, novel, xl, layers)" in text
    assert "await a rerun" not in text
    text = "\n".join(sc.what_changed({}, ["sst2", "sciq"], {**done, "xl": (79, 108)}))
    assert "not complete: xl (79 of 108 cells missing), which await a rerun: `w2sg models pull" in text
    assert "every CPU part's grid is complete" not in text
    # an old median whose new CI still excludes 0 says so; one whose CI reaches 0 says that
    from types import SimpleNamespace

    med = {("median", "acc", "smollm2-135m", "qwen2.5-coder-1.5b", "naive"):
           SimpleNamespace(value=0.56, ci_low=0.03, ci_high=0.77, tasks=["a", "b", "c", "d"]),
           ("median", "acc", "minilm", "gemma3-270m", "naive"):
           SimpleNamespace(value=-0.2, ci_low=-0.9, ci_high=0.1, tasks=["a"])}
    text = "\n".join(sc.what_changed(med, ["sst2"], done))
    assert ("smollm2 → qwen-1.5b, naive: old 0.55 [0.16, 0.75] over 3 task(s) → new 0.56 [0.03, 0.77] over 4 task(s): "
            "its CI still excludes 0 on the same side") in text
    assert "minilm → gemma3, naive: old -0.46 [-0.58, -0.38] over 1 task(s) → new -0.20 [-0.90, 0.10] over 1 " \
           "task(s): its CI now reaches 0" in text


def test_what_changed_without_a_rerun_keeps_the_old_numbers_and_says_so(sc):
    text = "\n".join(sc.what_changed(None))
    assert "The numbers and figures below this section are the old page's (old aggregates) and await a rerun" in text
    assert "python studies/scaling/study.py run --root w2sg-study --data-dir ../shared/data" in text
    assert "New: awaits the rerun." in text
    assert "smollm2 → qwen-1.5b, naive: old 0.55 [0.16, 0.75] over 3 task(s) → new awaits the rerun" in text
    assert "sst2 tfidf → mpnet, ciphered: old weak 0.555, ceiling 0.517 (mean gap -0.038); the old page printed " \
           "naive 0.00 (flagged), confidence −13.78 (not flagged)" in text


def test_layer_table_pairs_middle_with_last_by_seed(sc, monkeypatch):
    splits = sc.load_splits("main")
    rows = []
    for s in range(3):
        for layer, idx, ceil in (("last", 30, 0.80), ("middle", 15, 0.70 + 0.01 * s)):
            train = {"mode": "frozen"} if layer == "last" else {"mode": "frozen", "layer": layer}
            rows.append({**_row("sst2", "minilm", "smollm2-135m", s, ceiling_acc=ceil), "layer_strong": idx,
                         "spec": {"splits": splits, "train": train}})
    # a row of other splits and an encoder strong model are not layer rows
    rows.append({**_row("sst2", "minilm", "smollm2-135m", 0), "layer_strong": 15,
                 "spec": {"splits": {**splits, "n_test": 10}, "train": {"layer": "middle"}}})
    rows.append({**_row("sst2", "minilm", "mpnet", 0), "layer_strong": 12, "spec": {"splits": splits, "train": {}}})
    monkeypatch.setattr(sc, "load", lambda root, workdir: rows)
    table = sc.layer_table(sc.study_records(None, layer=None))
    assert len(table) == 4
    assert table[2].startswith("| sst2 | smollm2 | last (30) | 0.800 | – |")
    # middle - last per seed: -0.10, -0.09, -0.08 -> mean -0.090, t-interval over 3 seeds
    assert table[3].startswith("| sst2 | smollm2 | middle (15) | 0.710 | -0.090 [-0.115, -0.065] |")


def test_cost_projects_each_grid_from_the_tasks_it_computed(sc, tmp_path):
    (tmp_path / "scaling").mkdir()
    entries = [{"part": "main", "task": "sst2", "seconds": 600.0}, {"part": "main", "task": "sciq", "seconds": 1200.0},
               {"part": "main", "task": "sst2", "seconds": 2.0},  # a resumed run: rows already stored
               {"part": "xl", "task": "sst2", "seconds": 3600.0}]
    (tmp_path / "scaling" / "study_timings.json").write_text(json.dumps(entries))
    lines = sc.cost_lines(tmp_path)
    n_main = len(sc.grid("main").tasks)  # 13 built-in tasks
    main_line = next(line for line in lines if line.startswith("- main:"))
    assert "sst2 10 min, sciq 20 min" in main_line
    # 2 tasks measured (30 min incl. the resumed 2 s), 11 more at their mean of 15 min
    assert f"the whole grid ({n_main} tasks) would be about {(1802 + (n_main - 2) * 900) / 3600:.1f} h" in main_line
    assert any(line.startswith("- xl: sst2 60 min") for line in lines)


def test_cost_marks_a_task_resumed_after_an_interrupted_run(sc, tmp_path):
    """mc_taco: 2 of its 3 cells came from a run killed before it wrote its time, so its 3 min are a lower
    bound; sciq computed all 3 cells in recorded runs, so its time is complete."""
    (tmp_path / "scaling").mkdir()
    entries = [{"part": "main", "task": "mc_taco", "seconds": 180.0, "computed": 1, "already_done": 2, "failed": 0},
               {"part": "main", "task": "sciq", "seconds": 600.0, "computed": 2, "already_done": 0, "failed": 0},
               {"part": "main", "task": "sciq", "seconds": 300.0, "computed": 1, "already_done": 2, "failed": 0}]
    (tmp_path / "scaling" / "study_timings.json").write_text(json.dumps(entries))
    main_line = next(line for line in sc.cost_lines(tmp_path) if line.startswith("- main:"))
    assert "mc_taco ≥3 min, sciq 15 min" in main_line


def test_auroc_reading_finds_a_gap_that_a_one_sided_probe_hides(sc, tmp_path, monkeypatch):
    # cosmos_qa-like: every probe predicts one class (balanced accuracy exactly 0.5, no accuracy gap), while the
    # ceiling's ranking is clearly better than the weak model's
    rows = []
    for s in range(3):
        for m in ("naive", "confidence"):
            r = _row("cosmos_qa", "tfidf", "mpnet", s, m, weak_acc=0.5, ceiling_acc=0.5, student=0.5)
            r.update(weak_auroc=0.55, ceiling_auroc=0.70 + 0.01 * s, student_auroc=0.61 + 0.01 * s)
            rows.append(r)
    pairs = sc.pair_summaries(rows)
    assert sc.gaps(pairs, "auroc")[("cosmos_qa", "tfidf", "mpnet")].resolved
    assert not sc.gaps(pairs, "acc")[("cosmos_qa", "tfidf", "mpnet")].resolved
    # pooled AUROC PGR: (0.62 - 0.55) / (0.71 - 0.55)
    assert pairs[("cosmos_qa", "tfidf", "mpnet")]["naive"]["pgr_auroc_pooled"] == pytest.approx(0.07 / 0.16)
    monkeypatch.setattr(sc, "study_records", lambda root, part="main", layer="last": rows if part == "main" else [])
    monkeypatch.setattr(sc, "grid_progress", lambda recs: ({r["task"] for r in recs}, {}))  # every task complete
    text = sc.page(tmp_path, tmp_path).read_text()
    by_acc, by_rank = text.split("## The same rows read by AUROC")[0], text.split("## The same rows read by AUROC")[1]
    assert "resolved gap: 0 of 1 tasks run" in by_acc
    assert "resolved gap: 1 of 1 tasks run (1 from a weak model above chance, AUROC ≥ 0.55)" in by_rank
    assert "| cosmos_qa | 0.550 | 0.710 | tfidf→mpnet |" in by_rank
    assert f"| tfidf → mpnet | 109M | 1/1 | 0.160 | {0.07 / 0.16:.2f} [" in by_rank
    assert (tmp_path / "scaling_auroc_pgr_vs_size.png").stat().st_size > 10_000


def test_cipher_rows_are_keyed_by_their_yaml_path_whatever_name_the_record_shows(sc, monkeypatch):
    """Newer records show a YAML task by its `name:` (sst2_cipher) and keep the path as `task_path`; the page's
    cipher table is keyed by path, so both shapes must land on `tasks/sst2_cipher.yaml` (else the cipher rows
    would be counted as a main-grid task)."""
    old = {"task": "tasks/sst2_cipher.yaml", "task_path": "tasks/sst2_cipher.yaml", "seed": 0}
    new = {"task": "sst2_cipher", "task_path": "tasks/sst2_cipher.yaml", "seed": 1}
    builtin = {"task": "sst2", "seed": 0}
    monkeypatch.setattr(sc, "load_records", lambda root, workdir: [old, new, builtin])
    tasks = [r["task"] for r in sc.load("root", "scaling")]
    assert tasks == ["tasks/sst2_cipher.yaml", "tasks/sst2_cipher.yaml", "sst2"]
    assert all(t in sc.NOVEL for t in tasks[:2]) and "sst2" not in sc.NOVEL


def test_a_task_enters_the_page_only_when_its_main_grid_is_complete(sc):
    """A task half run would be pooled over fewer pairs and seeds than the others: the page leaves it out and
    says how far it got."""
    from w2sg.config import weak_label
    from w2sg.sweep import expand

    cells = [s for s in expand(sc.grid("main")) if s.task in ("sst2", "boolq")]
    rows = [{"task": s.task, "weak": weak_label(s.weak), "strong": s.strong, "method": s.method.name, "seed": s.seed}
            for s in cells]
    n = sum(s.task == "boolq" for s in cells)
    boolq = [r for r in rows if r["task"] == "boolq"]
    stored = [r for r in rows if r["task"] == "sst2"] + boolq[: n // 2]
    complete, running = sc.grid_progress(stored + [dict(stored[0])])  # a duplicate row counts once
    assert complete == {"sst2"} and running == {"boolq": (n // 2, n)} and n == 60
    assert sc.grid_progress(rows)[0] == {"sst2", "boolq"}


def test_a_rung_run_on_fewer_tasks_is_set_beside_every_rung_on_its_own_tasks(sc):
    def row(v, resolved=True):
        return {"pgr_acc_pooled": v, "pgr_acc_pooled_ci_low": v - 0.1, "pgr_acc_pooled_ci_high": v + 0.1,
                "pgr_acc_resolved": resolved, "gap_acc_pooled": 0.1 if resolved else 0.01,
                "gap_acc_pooled_ci_low": 0.05 if resolved else -0.02, "gap_acc_pooled_ci_high": 0.15}

    pairs = {(t, "minilm", s): {"naive": row(0.3)} for t in ("sst2", "sciq", "boolq")
             for s in ("mpnet", "qwen2.5-coder-0.5b")}
    assert sc.partial_rung_table(pairs) == []  # every rung on every task: nothing to add
    pairs[("sst2", "minilm", "qwen2.5-coder-1.5b")] = {"naive": row(0.6)}
    pairs[("sst2", "minilm", "mpnet")] = {"naive": row(0.2, resolved=False)}
    lines = sc.partial_rung_table(pairs)
    assert lines[0].startswith("qwen-1.5b ran on 1 task(s) only (sst2;")
    body = [x for x in lines if x.startswith("| sst2 |")]
    # boolq and sciq never had the rung, so only sst2's row: mpnet n.r., qwen-0.5b and -1.5b numbers, the rest not run
    assert body == ["| sst2 | minilm | n.r. | – | – | 0.30 [0.20, 0.40] | 0.60 [0.50, 0.70] |"]
