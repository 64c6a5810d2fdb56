"""Class balancing: `balance_classes` against a per-beat Python loop doing the same, on the training part of the real `kaggle` split.

Both balance to 10,000 beats per class: common classes down-sampled, rare ones keep their beats and are topped up with beats
grafted from two of the class (split where both have signal) then shifted by up to 5 samples with the edge value filling the gap.
The loop shifts with pandas (`Series.shift().ffill().bfill()`), as the original project did; for scale, the same loop with
a numpy shift (no pandas) is timed too, as it shows how much of the gain is pandas' per-call overhead.
Run from the project root: `python benchmarks/augmentation.py`. Not a test: it prints beats per second and the ratio (goal ≥ 20×).
"""
import time

import numpy as np
import pandas as pd

from ecg_nbdev.augmentation import balance_classes
from ecg_nbdev.data import load_beats, split_beats

PER_CLASS = 10_000
MAX_SHIFT = 5

def last_signal(beat):
    "One past the last non-zero sample of one beat."
    nonzero = np.flatnonzero(beat)
    return nonzero[-1] + 1 if len(nonzero) else 0

def pandas_shift(beat, d):
    "The original project's shift of one beat by `d` samples."
    return pd.Series(beat).shift(d).ffill().bfill().to_numpy()

def numpy_shift(beat, d):
    "The same shift with numpy indexing."
    return beat[np.clip(np.arange(len(beat)) - d, 0, len(beat) - 1)]

def loop_balance(X, y, per_class, rng, shift=pandas_shift):
    "The same balancing one beat at a time."
    beats, labels = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        chosen = rng.choice(idx, per_class, replace=False) if len(idx) >= per_class else idx
        for i in chosen:
            beats.append(X[i]); labels.append(c)
        for _ in range(per_class - len(chosen)):
            i1, i2 = rng.choice(idx, size=2)
            split = rng.integers(1, max(min(last_signal(X[i1]), last_signal(X[i2])), 2))
            beat = np.concatenate([X[i1][:split], X[i2][split:]])
            beat = shift(beat, rng.integers(-MAX_SHIFT, MAX_SHIFT + 1))
            beats.append(beat); labels.append(c)
    order = rng.permutation(len(beats))
    return np.array(beats, dtype=np.float32)[order], np.array(labels)[order]

def timed(f):
    "`f()` and the seconds it took."
    start = time.perf_counter()
    out = f()
    return out, time.perf_counter() - start

def main():
    X, meta = load_beats()
    train = split_beats(meta, "kaggle", seed=0)["train"]
    X, y = X[train], meta["label"].to_numpy()[train]
    (Xo, yo), t_ours = timed(lambda: balance_classes(X, y, PER_CLASS, np.random.default_rng(0), augment={"temporal_shift": MAX_SHIFT}))
    (Xl, yl), t_loop = timed(lambda: loop_balance(X, y, PER_CLASS, np.random.default_rng(0)))
    (Xn, yn), t_numpy = timed(lambda: loop_balance(X, y, PER_CLASS, np.random.default_rng(0), numpy_shift))
    assert np.array_equal(Xn, Xl) and np.array_equal(yn, yl)  # the two loops draw alike, so they must agree exactly
    for name, (Xb, yb) in (("ours", (Xo, yo)), ("loop", (Xl, yl))):  # ours and the loop agree up to the random draws
        assert np.bincount(yb).tolist() == [PER_CLASS]*5 and Xb.shape == (5*PER_CLASS, 187), name
        assert Xb.min() >= 0 and Xb.max() <= 1, name
    n = len(Xo)
    print(f"training part: {np.bincount(y).tolist()} beats per class → {PER_CLASS:,} each ({n:,} beats)")
    print(f"balance_classes {t_ours:.3f} s, per-beat loop {t_loop:.2f} s (with a numpy shift instead of pandas: {t_numpy:.2f} s, "
          f"{n/t_numpy:.0f} beats/s, ratio {t_numpy/t_ours:.1f}x)")
    print(f"augmentation: ours {n/t_ours:.0f} beats/s, baseline {n/t_loop:.0f} beats/s, ratio {t_loop/t_ours:.1f}x")

if __name__ == "__main__": main()
