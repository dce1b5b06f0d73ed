#!/usr/bin/env python3
"""Which seed each rule without labels would serve, from a `deepclust study --out-dir DIR`
at one k (docs/studies.md, "Measured: which seed to serve").

    /usr/bin/python3 bench/study_rules.py DIR Y.npy SEEDS [K]
DIR holds seedS-kK.labels.npy and codesS.npy (seed S's pretrained autoencoder's codes of
the same data, from bench/study_rules.sh); Y.npy the true labels (int32). Per seed: ACC
(Hungarian), "pretrained-space silhouette" (R1: mean over every seed's pretrained codes
of the silhouette of this seed's labels, on one fixed sample of 2000 points drawn by
numpy default_rng(2026)), the same in its own pretrained space only, R1 with
Calinski-Harabasz, and agreement (mean ARI to the other seeds' labels, the service's
rule); and, when DIR/study.json is there (the study's JSON line), the criteria the study
computed in each model's own embedding: best silhouette, highest Calinski-Harabasz,
lowest Davies-Bouldin, lowest BIC (n2d). Then which seed each rule picks against the
seeds' mean ACC. A reference analysis (numpy, scipy, scikit-learn), not part of the
product."""
import json
import os
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, calinski_harabasz_score, silhouette_score


def acc(y, p, k):
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (p, y), 1)
    r, c = linear_sum_assignment(-m)
    return m[r, c].sum() / len(y)


def main():
    d, yp, seeds = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")]
    k = int(sys.argv[4]) if len(sys.argv) > 4 else 10
    y = np.load(yp)
    idx = np.random.default_rng(2026).choice(len(y), 2000, replace=False)
    lab = {s: np.load(f"{d}/seed{s}-k{k}.labels.npy") for s in seeds}
    codes = {t: np.load(f"{d}/codes{t}.npy") for t in seeds}
    rows = []
    for s in seeds:
        sil = [silhouette_score(codes[t][idx], lab[s][idx]) for t in seeds]
        ch = [calinski_harabasz_score(codes[t][idx], lab[s][idx]) for t in seeds]
        agr = np.mean([adjusted_rand_score(lab[s], lab[t]) for t in seeds if t != s])
        rows.append(dict(seed=s, acc=acc(y, lab[s], k), r1=np.mean(sil),
                         r1_own=sil[seeds.index(s)], r1_ch=np.mean(ch), agreement=agr,
                         each=" ".join(f"{v:.4f}" for v in sil)))
    mean = np.mean([r["acc"] for r in rows])
    for r in rows:
        print(f"seed {r['seed']}: ACC {r['acc']:.4f}  R1 {r['r1']:.4f}  own-pretrained "
              f"{r['r1_own']:.4f}  R1-CH {r['r1_ch']:.0f}  agreement {r['agreement']:.4f}  "
              f"per space {r['each']}")
    print(f"mean ACC {mean:.4f}, best {max(r['acc'] for r in rows):.4f}")
    picks = [(key, max(rows, key=lambda r: r[key])) for key in ("r1", "r1_own", "r1_ch", "agreement")]
    sj = os.path.join(d, "study.json")
    if os.path.exists(sj):  # the study's own criteria, per seed at this k
        own = {r["seed"]: r for r in json.load(open(sj))["runs"] if r["k"] == k}
        for key, best in (("silhouette", max), ("calinski_harabasz", max),
                          ("davies_bouldin", min), ("bic", min)):
            have = [r for r in rows if own.get(r["seed"], {}).get(key) is not None]
            if have:
                picks.append((key, best(have, key=lambda r: own[r["seed"]][key])))
    for key, b in picks:
        print(f"{key}: seed {b['seed']} ACC {b['acc']:.4f} "
              f"{'>=' if b['acc'] >= mean else '<'} mean")


if __name__ == "__main__":
    main()
