#!/usr/bin/python3
"""How the best-likelihood choice among N mixture starts does on ACC, with scikit-learn's
GaussianMixture as the reference (not part of the product). For each embedding: R fits of
GaussianMixture(10, covariance_type='full', n_init=1) with random states 100..100+R-1, then the
expected ACC of the highest-likelihood fit among N starts drawn from those R, computed exactly
(the fit of likelihood rank r, ascending from 0, is the best of N with probability
C(r, N-1) / C(R, N)). Output: docs/n2d-gmm-restarts.log, lines "sklearn ...".

    /usr/bin/python3 bench/gmm_restarts_sklearn.py labels.npy 20 emb1.npy emb2.npy ...
"""
import numpy as np, sys
from math import comb
from sklearn.mixture import GaussianMixture
from scipy.optimize import linear_sum_assignment
y=np.load(sys.argv[1]); R=int(sys.argv[2])
def acc(y,p):
    k=max(y.max(),p.max())+1; C=np.zeros((k,k),int)
    np.add.at(C,(p,y),1); r,c=linear_sum_assignment(-C); return C[r,c].sum()/len(y)
Ns=[1,3,5,10,20]; tot={n:[] for n in Ns}
for f in sys.argv[3:]:
    E=np.load(f).astype(np.float64); rows=[]
    for rs in range(R):
        g=GaussianMixture(10,covariance_type='full',n_init=1,random_state=100+rs).fit(E)
        rows.append((g.score(E), acc(y,g.predict(E))))
    rows.sort(); a=np.array([r[1] for r in rows])
    ex={n: sum(a[r]*comb(r,n-1) for r in range(R))/comb(R,n) for n in Ns if n<=R}
    for n,v in ex.items(): tot[n].append(v)
    print(f,' '.join('N%d %.4f'%(n,v) for n,v in ex.items()),'min %.4f max %.4f'%(a.min(),a.max()), flush=True)
print('ALL',' '.join('N%d %.4f'%(n,np.mean(v)) for n,v in tot.items() if v))
