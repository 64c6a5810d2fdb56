"""Inference speed: the PyTorch model against its ONNX Runtime export on the same real beats, one beat per call and 1,024 per call,
and the time to annotate a whole 30-minute record end to end (read, detect, cut, classify, write).

Run from the project root: `python benchmarks/inference.py [MODEL]`, MODEL a folder written by `save_model` (default: the `default`
preset's linear and conv networks, untrained: a network costs the same to run whatever its weights). Not a test: it prints beats per
second for both runtimes and their ratio (ONNX Runtime over PyTorch, above 1 when ONNX Runtime is faster).
"""
import sys, tempfile, time
from pathlib import Path

import numpy as np
import torch
import wfdb

from ecg_nbdev.core import run_config
from ecg_nbdev.data import find_mitdb, load_beats
from ecg_nbdev.inference import (export_onnx, load_predictor, onnx_proba, onnx_session, predict_proba, prediction_frame, wfdb_beats,
                                 write_predictions)
from ecg_nbdev.model import make_model, probability_net

N_SINGLE = 2_000     # one-beat calls timed
N_BATCHED = 20_480   # beats timed in batches
BATCH = 1_024
RECORD = "100"       # 30 min 5 s at 360 Hz, 2,273 beats

def rate(f, n, repeat=3):
    "Beats per second of `f()`, which handles `n` beats: the best of `repeat` runs after a warm-up."
    f()
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter(); f(); best = min(best, time.perf_counter() - start)
    return n/best

def single_torch(net, X):
    with torch.inference_mode():
        for x in X: net(torch.from_numpy(x[None]))

def single_onnx(session, X):
    for x in X: session.run(None, {"beats": x[None]})

def compare(name, net, X, folder):
    "Print both runtimes' speed on `X`, one beat per call and `BATCH` per call, after checking they agree."
    session = onnx_session(export_onnx(net, Path(folder)/f"{name}.onnx"))
    diff = np.abs(onnx_proba(session, X[:BATCH]) - predict_proba(net, X[:BATCH])).max()
    assert diff < 1e-5, diff
    single, batched = X[:N_SINGLE], X[:N_BATCHED]
    rows = [("1 beat per call", rate(lambda: single_torch(net, single), len(single)), rate(lambda: single_onnx(session, single), len(single))),
            (f"{BATCH:,} beats per call", rate(lambda: predict_proba(net, batched, BATCH), len(batched)),
             rate(lambda: onnx_proba(session, batched, BATCH), len(batched)))]
    print(f"{name} (features {net.features}, probabilities agree to {diff:.1e}):")
    for what, pt, ort in rows: print(f"  {what:20s} PyTorch {pt:10,.0f} beats/s   ONNX Runtime {ort:10,.0f} beats/s   ratio {ort/pt:.2f}x")

def annotate(net, base, out):
    "Seconds to read, detect, cut, classify and write record `base`, and the number of beats."
    times = {}
    start = time.perf_counter()
    X, index, _ = wfdb_beats(base, "xqrs"); times["read, XQRS, cut"] = time.perf_counter() - start
    t = time.perf_counter(); proba = predict_proba(net, X); times["classify"] = time.perf_counter() - t
    t = time.perf_counter(); write_predictions(prediction_frame(index, proba), out); times["write"] = time.perf_counter() - t
    return time.perf_counter() - start, times, len(X)

def main():
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    X, _ = load_beats()
    X = X[np.random.default_rng(0).permutation(len(X))[:N_BATCHED]]
    if len(sys.argv) > 1: nets = {Path(sys.argv[1]).name: load_predictor(sys.argv[1])}
    else:
        nets = {m: probability_net(make_model(m, input_size=748 if m == "linear" else 187, **run_config("default", m)).net,
                                   run_config("default", m)["features"]) for m in ("linear", "conv")}
    with tempfile.TemporaryDirectory() as folder:
        for name, net in nets.items(): compare(name, net, X, folder)
        base = find_mitdb()/RECORD
        for name, net in nets.items():
            total, times, n = annotate(net, base, Path(folder)/"out.csv")
            parts = ", ".join(f"{k} {v:.2f} s" for k, v in times.items())
            hea = wfdb.rdheader(str(base))
            print(f"record {RECORD} ({hea.sig_len/hea.fs/60:.1f} min) end to end with {name}: {n:,} beats in {total:.2f} s ({parts}); "
                  f"{hea.sig_len/hea.fs/total:.0f}x real time")

if __name__ == "__main__": main()
