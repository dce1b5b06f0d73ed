#!/usr/bin/env python3
"""Time-to-quality table from bench/ttq.sh's JSON lines and ae_probe's logs.

    bench/summarize_ttq.py RUNS.jsonl mnist=PROBE.log[:S] fmnist=PROBE.log[:S] ...

For each dataset, autoencoder budget (epochs) and method: ACC/NMI/ARI, the clustering
stage's seconds (the run's own wall time), the probe's logged time to that epoch, and
minutes = epochs x S + stage seconds, where S is seconds per pretraining epoch (default:
the median of the probe log's epoch times; pass S when the log was taken on a loaded
machine and a quiet rate was measured separately)."""
import json
import re
import statistics
import sys


def probe_times(path):
    t = {}
    for line in open(path):
        m = re.match(r"epoch (\d+) loss \S+ t ([\d.]+)s", line)
        if m:
            t[int(m.group(1))] = float(m.group(2))
    return t


def main():
    runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    probes = {}
    for arg in sys.argv[2:]:
        ds, spec = arg.split("=", 1)
        path, _, rate = spec.partition(":")
        t = probe_times(path)
        steps = [t[e] - t.get(e - 1, 0.0) for e in sorted(t)]
        probes[ds] = (t, float(rate) if rate else statistics.median(steps))
    print("| dataset | AE epochs | method | ACC | NMI | ARI | stage s | probe s to epoch | "
          "minutes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in sorted(runs, key=lambda r: (r["dataset"], r["ae_epochs"], r["method"])):
        t, rate = probes.get(r["dataset"], ({}, float("nan")))
        e = r["ae_epochs"]
        mins = (e * rate + r["seconds"]) / 60
        print(f"| {r['dataset']} | {e} | {r['method']} | {r['acc']:.4f} | {r['nmi']:.4f} | "
              f"{r['ari']:.4f} | {r['seconds']:.0f} | {t.get(e, float('nan')):.0f} | "
              f"{mins:.1f} |")
    for ds, (t, rate) in probes.items():
        print(f"\n{ds}: {rate:.2f} s per pretraining epoch used for the minutes")


if __name__ == "__main__":
    main()
