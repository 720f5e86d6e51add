"""The scaling study's statistics on hand-made records: which pairs have a clear gap, the per-task slope of PGR
against strong-model size, and confidence-minus-naive against the gap."""

import importlib.util
import json
import sys

import numpy as np
import pytest

from .conftest import REPO


@pytest.fixture(scope="module")
def sc():
    sys.path.insert(0, str(REPO / "studies"))
    spec = importlib.util.spec_from_file_location("scaling", REPO / "studies" / "scaling.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(task, weak, strong, seed, method="naive", weak_acc=0.6, ceiling_acc=0.8, pgr=0.5, unstable=False):
    student = weak_acc + pgr * (ceiling_acc - weak_acc)
    return {"task": task, "weak": weak, "strong": strong, "seed": seed, "method": method, "weak_acc": weak_acc,
            "ceiling_acc": ceiling_acc, "student_acc": student, "gap_acc": ceiling_acc - weak_acc,
            "pgr_acc": pgr, "unstable": unstable}


def test_clear_gap_and_pgr_cells_per_pair(sc):
    rows = [_row("sst2", "tfidf", "mpnet", s, pgr=0.4 + 0.1 * s) for s in range(3)]
    rows += [_row("wic", "tfidf", "mpnet", s, weak_acc=0.55, ceiling_acc=0.56, unstable=True) for s in range(3)]
    pairs = sc.pair_rows(rows)
    stab = sc.pair_stability(pairs)
    assert not stab[("sst2", "tfidf", "mpnet")]["unstable"] and stab[("wic", "tfidf", "mpnet")]["unstable"]
    assert stab[("sst2", "tfidf", "mpnet")]["gap"] == pytest.approx(0.2)
    cells = sc.pgr_cells(pairs, stab, "naive")
    assert list(cells) == [("sst2", "tfidf", "mpnet")] and cells[("sst2", "tfidf", "mpnet")] == pytest.approx(
        [0.4, 0.5, 0.6])
    table, gap_tasks = sc.ladder_table(pairs, stab)
    assert gap_tasks == ["sst2"] and any(line.startswith("| wic |") and "none" in line for line in table)


def test_size_slope_is_per_decade_of_parameters(sc):
    # PGR rises by exactly 0.1 per decade of strong parameters on both tasks
    cells = {}
    for task in ("sst2", "sciq"):
        for strong in ("mpnet", "qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"):
            pgr = 0.1 * np.log10(sc.params(strong))
            cells[(task, "minilm", strong)] = [pgr, pgr]
    slopes = sc.size_slopes(cells, "minilm")
    assert slopes == pytest.approx([0.1, 0.1])
    assert sc.size_slopes(cells, "tfidf") == []


def test_confidence_gain_against_gap_is_seed_paired(sc):
    rows = []
    for i, task in enumerate(["a", "b", "c", "d", "e"]):
        gap = 0.05 * (i + 1)
        for s in range(2):
            rows.append(_row(task, "minilm", "mpnet", s, weak_acc=0.6, ceiling_acc=0.6 + gap, pgr=0.3))
            rows.append(_row(task, "minilm", "mpnet", s, "confidence", 0.6, 0.6 + gap, pgr=0.3 + gap))
    pairs = sc.pair_rows(rows)
    gaps, gains, tasks = sc.confidence_vs_gap(pairs, sc.pair_stability(pairs))
    assert gains == pytest.approx(gaps) and tasks == ["a", "b", "c", "d", "e"]
    rho, lo, hi = sc.spearman_ci(gaps, gains)
    assert rho == pytest.approx(1.0)
    # over groups: two tasks cannot give a CI; a task's cells are drawn together
    assert sc.spearman_ci(gaps, gains, ["a", "a", "a", "b", "b"])[1:] == (None, None)
    noisy = [g + e for g, e in zip(gaps + gaps, [0.06, -0.07, 0.05, -0.02, 0.08, -0.05, 0.03, 0.07, -0.06, 0.0],
                                   strict=True)]
    rho_g, lo_g, hi_g = sc.spearman_ci(gaps + gaps, noisy, tasks + tasks)
    assert 0 < rho_g < 1 and lo_g < rho_g <= hi_g
    assert sc.verdict(lo, hi, "yes", "no", "open") in ("yes", "open")
    assert sc.verdict(None, None, "yes", "no", "open").startswith("open")


def test_page_renders_every_section_from_rows(sc, tmp_path, monkeypatch):
    rows = []
    for task in ("sst2", "sciq", "tasks/sst2_cipher.yaml"):
        for strong, pgr in (("mpnet", 0.3), ("smollm2-135m", 0.4), ("qwen2.5-coder-0.5b", 0.6)):
            for s in range(3):
                for m in ("naive", "confidence"):
                    rows.append(_row(task, "tfidf", strong, s, m, pgr=pgr + (0.1 if m == "confidence" else 0)))
        rows.append({**_row(task, "minilm", "qwen2.5-coder-0.5b", 0, "zero_shot"), "student_acc": 0.7,
                     "student_auroc": 0.75, "ceiling_auroc": 0.9})
    monkeypatch.setattr(sc, "study_records", lambda root, part="main", layer="last": rows if part == "main" else [])
    text = sc.page(tmp_path, tmp_path).read_text()
    assert (tmp_path / "scaling_pgr_vs_size.png").stat().st_size > 10_000
    assert "Which tasks have a clear gap: 2 of 2 tasks run (2 from a weak model above" in text  # cipher not counted
    assert "| tfidf → qwen-0.5b | 494M | 2/2 |" in text
    assert "| sst2 | tfidf → qwen-0.5b | ciphered |" in text
    assert "| sst2 | qwen-0.5b | 0.700 | 0.750 | 0.800 | 0.900 |" in text  # zero-shot acc, AUROC; the ceiling's
    assert "PGR grows with the strong model" in text  # 0.3 -> 0.6 on both tasks
    assert "python studies/scaling.py run --part gpu" in text and str(tmp_path) not in text


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
    monkeypatch.setattr(sc.zoo, "_load", lambda root, workdir: rows)
    table = sc.layer_table(sc.study_records(None, layer=None))
    assert len(table) == 4
    assert table[2].startswith("| sst2 | smollm2 | last (30) | 0.800 | – |")
    # middle - last per seed: -0.10, -0.09, -0.08 -> mean -0.090
    assert table[3].startswith("| sst2 | smollm2 | middle (15) | 0.710 | -0.090 [")


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


def test_auroc_reading_finds_a_gap_that_a_one_sided_probe_hides(sc, tmp_path, monkeypatch):
    # cosmos_qa-like: every probe predicts one class (balanced accuracy exactly 0.5, no accuracy gap), while the
    # ceiling's ranking is clearly better than the weak model's
    rows = []
    for s in range(3):
        for m in ("naive", "confidence"):
            r = _row("cosmos_qa", "tfidf", "mpnet", s, m, weak_acc=0.5, ceiling_acc=0.5, unstable=True)
            r.update(pgr_acc=None, weak_auroc=0.55, ceiling_auroc=0.70, student_auroc=0.61 + 0.01 * s,
                     gap_auroc=0.15, pgr_auroc=(0.06 + 0.01 * s) / 0.15, unstable_auroc=False)
            rows.append(r)
    auroc = sc.pair_rows(sc.by_auroc(rows))
    stab = sc.pair_stability(auroc)
    assert not stab[("cosmos_qa", "tfidf", "mpnet")]["unstable"]
    assert sc.pair_stability(sc.pair_rows(rows))[("cosmos_qa", "tfidf", "mpnet")]["unstable"]
    assert sc.pgr_cells(auroc, stab, "naive")[("cosmos_qa", "tfidf", "mpnet")] == pytest.approx([0.4, 0.4667, 0.5333],
                                                                                               abs=1e-3)
    monkeypatch.setattr(sc, "study_records", lambda root, part="main", layer="last": rows if part == "main" else [])
    text = sc.page(tmp_path, tmp_path).read_text()
    by_acc, by_rank = text.split("## The same rows read by AUROC")[0], text.split("## The same rows read by AUROC")[1]
    assert "clear gap: 0 of 1 tasks run" in by_acc
    assert "clear gap: 1 of 1 tasks run (1 from a weak model above chance, AUROC ≥ 0.55)" in by_rank
    assert "| cosmos_qa | 0.550 | 0.700 | tfidf→mpnet |" in by_rank
    assert (tmp_path / "scaling_auroc_pgr_vs_size.png").stat().st_size > 10_000
