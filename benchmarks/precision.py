"""Reduced-precision frozen features on CPU: fp32 against bf16 weights and int8 dynamic quantization.

A decoder rung embeds the same SST-2 texts (inside the task's prompt template, last token of the last layer, as
the scaling study reads them) in fp32, in bf16 (weights and activations cast) and with int8 dynamic quantization
of its Linear layers (torch.ao.quantization.quantize_dynamic, fbgemm). For each precision: texts/s, the largest
feature difference from fp32 (relative to the features' scale), and probe accuracy: a logistic regression (C by
5-fold CV) trained on the first half of the texts and scored on the second half, with the paired difference
from fp32 and its bootstrap CI. w2sg keeps fp32 on CPU unless a precision is faster *and* within 0.5 points.

    python benchmarks/precision.py [--model smollm2-135m] [--n 600] [--batch-size 32] [--max-length 128]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from w2sg.models.classifier import load_backbone, pool
from w2sg.models.zoo import resolve
from w2sg.prompts import TEMPLATES, apply_template
from w2sg.tasks import load_task


def rows_of(n: int, data_dir: str | None) -> tuple[list[str], np.ndarray]:
    rows = sorted(load_task("sst2", data_dir).pool, key=lambda r: r.id)
    idx = np.random.default_rng(0).choice(len(rows), size=min(n, len(rows)), replace=False)
    return [rows[i].text for i in idx], np.array([rows[i].label for i in idx])


def embed(model, tok, pooling, texts: list[str], batch_size: int, max_length: int) -> tuple[np.ndarray, float]:
    out = []
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = tok(texts[i:i + batch_size], padding=True, truncation=True, max_length=max_length,
                        return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            out.append(pool(hidden.float(), batch["attention_mask"], pooling).numpy())
    return np.concatenate(out), time.perf_counter() - t0


def probe_correct(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per test text (second half): does a CV-tuned logistic regression trained on the first half get it right."""
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.preprocessing import StandardScaler

    half = len(y) // 2
    scaler = StandardScaler().fit(x[:half])
    clf = LogisticRegressionCV(Cs=np.logspace(-4, 2, 13), cv=5, max_iter=5000).fit(scaler.transform(x[:half]),
                                                                                   y[:half])
    return clf.predict(scaler.transform(x[half:])) == y[half:]


def paired_ci(a: np.ndarray, b: np.ndarray, n_boot: int = 2000) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    d = [np.mean(a[i]) - np.mean(b[i]) for i in (rng.choice(len(a), len(a)) for _ in range(n_boot))]
    lo, hi = np.percentile(d, [2.5, 97.5])
    return float(lo), float(hi)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args()
    torch.manual_seed(0)
    texts, y = rows_of(args.n, args.data_dir)
    texts = apply_template(TEMPLATES["sentiment"], texts)
    model, tok, pooling = load_backbone(str(resolve(args.model).path))
    model.eval()
    tok.truncation_side = "left"
    variants = {
        "fp32": lambda m: m,
        "bf16": lambda m: m.to(torch.bfloat16),
        "int8_dynamic": lambda m: torch.ao.quantization.quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8),
    }
    out, ref, ref_correct = {}, None, None
    for name, make in variants.items():
        m = make(model) if name != "bf16" else make(load_backbone(str(resolve(args.model).path))[0].eval())
        embed(m, tok, pooling, texts[: args.batch_size], args.batch_size, args.max_length)  # warm-up
        x, seconds = embed(m, tok, pooling, texts, args.batch_size, args.max_length)
        correct = probe_correct(x, y)
        row = {"texts_per_s": round(len(texts) / seconds, 2), "probe_acc": round(float(correct.mean()), 4)}
        if ref is None:
            ref, ref_correct = x, correct
        else:
            lo, hi = paired_ci(correct.astype(float), ref_correct.astype(float))
            row |= {"speed_vs_fp32": round(row["texts_per_s"] / out["fp32"]["texts_per_s"], 3),
                    "acc_minus_fp32": round(float(correct.mean() - ref_correct.mean()), 4),
                    "acc_minus_fp32_ci": [round(lo, 4), round(hi, 4)],
                    "max_rel_feature_diff": float(np.abs(x - ref).max() / np.abs(ref).max())}
            row["adopt"] = bool(row["speed_vs_fp32"] > 1.0 and abs(row["acc_minus_fp32"]) <= 0.005)
        out[name] = row
    print(json.dumps({"model": args.model, "texts": len(texts), "probe_test": len(y) - len(y) // 2,
                      "threads": torch.get_num_threads(), **out}, indent=1))


if __name__ == "__main__":
    main()
