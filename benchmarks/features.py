"""Wavelet features: `cwt_features` against the original project's per-row `DataFrame.apply` of `pywt.cwt`, on the same 10,000 real beats.

Run from the project root: `python benchmarks/features.py`. Not a test: it prints beats per second for both and their ratio (goal ≥ 50×).
"""
import time

import numpy as np
import pandas as pd
import pywt

from ecg_nbdev.data import load_beats
from ecg_nbdev.features import cwt_features

SCALES = (1, 2, 3, 4)
N_BEATS = 10_000

def original(X):
    "The original project's way: one `pywt.cwt` per DataFrame row, flattened."
    rows = pd.DataFrame(X).apply(lambda row: pywt.cwt(row.values, SCALES, "mexh")[0].flatten(), axis=1)
    return np.stack(rows.to_numpy())

def timed(f, X):
    "`f(X)` and the seconds it took."
    start = time.perf_counter()
    out = f(X)
    return out, time.perf_counter() - start

def main():
    X, _ = load_beats()
    X = X[np.sort(np.random.default_rng(0).choice(len(X), N_BEATS, replace=False))]
    ours, t_ours = timed(lambda x: cwt_features(x, SCALES), X)  # a cold call: building the wavelet matrix is included
    base, t_base = timed(original, X)
    diff = np.abs(ours - base).max()
    np.testing.assert_allclose(ours, base, rtol=0, atol=2e-6)
    print(f"{N_BEATS:,} real beats, scales {SCALES}, outputs {ours.shape} equal to float32 precision (largest difference {diff:.1e})")
    print(f"cwt_features {t_ours:.3f} s, DataFrame.apply + pywt.cwt {t_base:.2f} s")
    print(f"features: ours {N_BEATS/t_ours:.0f} beats/s, baseline {N_BEATS/t_base:.0f} beats/s, ratio {t_base/t_ours:.1f}x")

if __name__ == "__main__": main()
