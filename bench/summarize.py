#!/usr/bin/env python3
"""Summarise bench/quality.sh output: mean ± std over seeds per (dataset, method,
pretraining budget), with the per-seed ACC, the issue's floor, and the time per seed.

    python3 bench/summarize.py docs/quality-runs.jsonl [BUDGET ...]
BUDGETs are exact pretrain_budget values to keep (e.g. none "150 epochs" "30 epochs");
none given: every row. "s/seed" is the wall time of one seed including its pretraining:
dec, idec and vae start from the ae_kmeans run's autoencoder (same dataset and seed), so
that run's pretraining time is added to theirs; "*" marks a mean that includes
contended runs. Standard library only."""
import json
import statistics as st
import sys
from collections import defaultdict

path = sys.argv[1] if len(sys.argv) > 1 else "docs/quality-runs.jsonl"
want = set(sys.argv[2:])
FLOORS = {("mnist", "kmeans"): 0.52, ("mnist", "ae_kmeans"): 0.80, ("mnist", "dec"): 0.85,
          ("mnist", "idec"): 0.85, ("mnist", "dcec"): 0.85, ("mnist", "vae"): 0.82,
          ("fmnist", "kmeans"): 0.47, ("fmnist", "ae_kmeans"): 0.55, ("fmnist", "dec"): 0.56,
          ("fmnist", "vae"): 0.55}
rows = defaultdict(list)
pretrain = {}  # (dataset, budget, seed) -> the ae_kmeans run's pretraining seconds
for line in open(path):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    budget = r.get("pretrain_budget", "")
    if r["method"] == "ae_kmeans" and r.get("pretrain_seconds"):
        pretrain[(r["dataset"], budget, r["seed"])] = r["pretrain_seconds"]
    if not want or budget in want:
        rows[(r["dataset"], r["method"], budget)].append(r)


def ms(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "—"
    if len(vals) == 1:
        return f"{vals[0]:.3f}"
    return f"{st.mean(vals):.3f} ± {st.stdev(vals):.3f}"


def contended(r):
    """Rows whose process shared the cores with more runs than cores."""
    return bool(r.get("contended"))


def per_seed(r, ds, b):
    if r["method"] in ("dec", "idec", "vae") and not r.get("pretrain_seconds"):
        pre = pretrain.get((ds, b, r["seed"]))
        return None if pre is None else r["seconds"] + pre
    return r["seconds"]


print("| dataset | method | pretraining | seeds | ACC per seed | ACC | floor | NMI | ARI "
      "| s/seed (mean) | pretrain s | s/epoch |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for (ds, m, b), rs in sorted(rows.items()):
    rs = sorted(rs, key=lambda r: r["seed"])
    seeds = ",".join(str(r["seed"]) for r in rs)
    per = " ".join(f"{r['acc']:.3f}" for r in rs)
    tot = [per_seed(r, ds, b) for r in rs]
    wall = f"{st.mean(tot):.0f}" if None not in tot else "?"
    if any(contended(r) for r in rs):
        wall += " *"
    pre = [r.get("pretrain_seconds") for r in rs if r.get("pretrain_seconds")]
    ep = [r.get("epoch_seconds") for r in rs if r.get("epoch_seconds")]
    floor = FLOORS.get((ds, m))
    print(f"| {ds} | {m} | {b} | {seeds} | {per} | {ms([r['acc'] for r in rs])} "
          f"| {f'{floor:.2f}' if floor else '—'} | {ms([r['nmi'] for r in rs])} | {ms([r['ari'] for r in rs])} "
          f"| {wall} | {st.mean(pre) if pre else 0:.0f} "
          f"| {st.mean(ep) if ep else float('nan'):.2f} |")
if any(contended(r) for rs in rows.values() for r in rs):
    print("\n\\* includes runs that shared the cores with more processes than cores "
          "(`contended` in the row): their seconds are not a speed figure.")
