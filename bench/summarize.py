#!/usr/bin/env python3
"""Summarise bench/quality.sh output: mean ± std over seeds per (dataset, method,
pretraining recipe), with the per-seed ACC.

    python3 bench/summarize.py docs/quality-runs.jsonl [substring of pretrain_budget]
Standard library only."""
import json
import statistics as st
import sys
from collections import defaultdict

path = sys.argv[1] if len(sys.argv) > 1 else "docs/quality-runs.jsonl"
want = sys.argv[2] if len(sys.argv) > 2 else ""
rows = defaultdict(list)
for line in open(path):
    line = line.strip()
    if line:
        r = json.loads(line)
        budget = r.get("pretrain_budget", "")
        if want in budget or r["method"] == "kmeans":
            rows[(r["dataset"], r["method"], budget)].append(r)


def ms(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "—"
    if len(vals) == 1:
        return f"{vals[0]:.3f}"
    return f"{st.mean(vals):.3f} ± {st.stdev(vals):.3f}"


print("| dataset | method | pretraining | seeds | ACC per seed | ACC | NMI | ARI | wall s (mean) | pretrain s | s/epoch |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for (ds, m, b), rs in sorted(rows.items()):
    seeds = ",".join(str(r["seed"]) for r in rs)
    per = " ".join(f"{r['acc']:.3f}" for r in rs)
    wall = st.mean(r["seconds"] for r in rs)
    pre = [r.get("pretrain_seconds") for r in rs if r.get("pretrain_seconds")]
    ep = [r.get("epoch_seconds") for r in rs if r.get("epoch_seconds")]
    print(f"| {ds} | {m} | {b} | {seeds} | {per} | {ms([r['acc'] for r in rs])} | {ms([r['nmi'] for r in rs])} "
          f"| {ms([r['ari'] for r in rs])} | {wall:.0f} | {st.mean(pre) if pre else 0:.0f} "
          f"| {st.mean(ep) if ep else float('nan'):.2f} |")
