"""Inference speed: the PyTorch model against its ONNX Runtime export on the same real beats, one beat per call and 1,024
per call, and the time to annotate a whole 30-minute record end to end (read, detect, cut, classify, write).

Run from the project root: `python benchmarks/inference.py [MODEL] [--sessions] [--holter]`, MODEL a folder written by
`save_model` (default: the `default` preset's linear, conv and context networks, untrained: a network costs the same to
run whatever its weights). Not a test: it prints beats per second for both runtimes and their ratio (ONNX Runtime over PyTorch, above 1
when ONNX Runtime is faster). `--sessions` also times ONNX Runtime batched under other `SessionOptions` (threads, graph
optimisation, execution mode, memory arena), each against PyTorch in the same round: the evidence for `onnx_session`'s
settings. `--holter` also annotates a 24-hour record, the size of a Holter recording users feed `predict`: the first lead
of the 48 MIT-BIH records end to end, written as one record without annotations so that XQRS finds its beats, then
writes the review queue `predict --review 20` adds (the CSV and the strips' PNG).
Goals: ONNX Runtime batched >= PyTorch, a record >= 1,000x real time, a 24-hour record >= 1,500x real time, the review
queue <= 10 % of the 24-hour record's time.
"""
import argparse, resource, tempfile, time
from pathlib import Path

import numpy as np
import torch
import wfdb

from ecg_nbdev.adaptation import write_review
from ecg_nbdev.settings import run_config
from ecg_nbdev.data import MITDB_RECORDS, find_mitdb
from ecg_nbdev.features import RHYTHM_BEAT_WIDTH, WINDOW_FEATURES, WINDOW_LEN, row_width
from ecg_nbdev.inference import (export_onnx, load_predictor, onnx_proba, onnx_session, predict_proba, prediction_frame,
                                 record_proba, wfdb_beats, write_predictions)
from ecg_nbdev.model import make_model, probability_net
from ecg_nbdev.training import input_rows

N_SINGLE = 2_000     # one-beat calls timed
N_BATCHED = 20_480   # beats timed in batches
BATCH = 1_024
RECORD = "100"       # 30 min 5 s at 360 Hz, 2,273 beats
REVIEW = 20          # beats of the 24-hour record's review queue

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
    two = len(session.get_inputs()) == 2  # a window model's graph takes the row's beat part and the rest apart
    for x in X: session.run(None, {"beats": x[None, :RHYTHM_BEAT_WIDTH], "rhythm": x[None, RHYTHM_BEAT_WIDTH:]} if two
                            else {"beats": x[None]})

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

def session_options(path):
    "ONNX Runtime sessions on `path` under other `SessionOptions`, by name."
    import onnxruntime as ort
    threads = torch.get_num_threads()
    def session(**options):
        so = ort.SessionOptions()
        for k, v in options.items(): setattr(so, k, v)
        return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return {"default options": ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]),
            f"intra_op_num_threads={threads}": session(intra_op_num_threads=threads),
            f"intra_op_num_threads={threads}, ORT_ENABLE_ALL, sequential": session(
                intra_op_num_threads=threads, graph_optimization_level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                execution_mode=ort.ExecutionMode.ORT_SEQUENTIAL),
            f"intra_op_num_threads={threads}, no memory arena": session(intra_op_num_threads=threads,
                                                                        enable_cpu_mem_arena=False),
            "intra_op_num_threads=1": session(intra_op_num_threads=1),
            f"intra_op_num_threads={threads}, parallel": session(intra_op_num_threads=threads,
                                                                 execution_mode=ort.ExecutionMode.ORT_PARALLEL)}

def compare_sessions(name, net, X, folder, rounds=2):
    "Print ONNX Runtime batched under each of `session_options` against PyTorch batched, in interleaved rounds."
    sessions = session_options(export_onnx(net, Path(folder)/f"{name}.onnx"))
    batched = X[:N_BATCHED]
    print(f"{name}, {BATCH:,} beats per call, ONNX Runtime's session options:")
    for r in range(rounds):  # PyTorch in every round: load on the machine hits both alike
        pt = rate(lambda: predict_proba(net, batched, BATCH), len(batched))
        for what, session in sessions.items():
            ort = rate(lambda: onnx_proba(session, batched, BATCH), len(batched))
            print(f"  round {r + 1}  {what:50s} {ort:8,.0f} beats/s   PyTorch {pt:8,.0f}   ratio {ort/pt:.2f}x", flush=True)

def annotate(net, base, out, review=0):
    "Seconds to read, detect, cut, classify and write record `base` (and its `review` least sure beats), and the beats."
    times = {}
    start = time.perf_counter()
    X, index, fs = wfdb_beats(base, "xqrs", net.features, net.context_beats)
    times["read, XQRS, cut"] = time.perf_counter() - start
    t = time.perf_counter(); proba = record_proba(net, X, index, fs); times["classify"] = time.perf_counter() - t
    frame = prediction_frame(index, proba)
    t = time.perf_counter(); write_predictions(frame, out); times["write"] = time.perf_counter() - t
    if review:  # what predict --review adds: the queue's CSV and its strips (the record's lead read once more)
        t = time.perf_counter(); write_review(base, frame, review, out)
        times[f"review {review}"] = time.perf_counter() - t
    return time.perf_counter() - start, times, len(X)

def holter_record(folder):
    "A 24-hour record in `folder`: the first lead of every MIT-BIH record, one after another, in mV; its base path."
    mitdb = find_mitdb()
    leads = [wfdb.rdrecord(str(mitdb/name), channels=[0]) for name in MITDB_RECORDS]
    assert len({r.fs for r in leads}) == 1, "the records' sampling rates differ"
    signal = np.concatenate([r.p_signal for r in leads])
    wfdb.wrsamp("holter", fs=leads[0].fs, units=["mV"], sig_name=["lead 1"], p_signal=signal, fmt=["16"], write_dir=str(folder))
    return Path(folder)/"holter"

def report(name, base, net, folder, review=0):
    "Print the time to annotate record `base` with `net` end to end, its parts and the speed against real time."
    total, times, n = annotate(net, base, Path(folder)/"out.csv", review)
    parts = ", ".join(f"{k} {v:.2f} s" for k, v in times.items())
    hea = wfdb.rdheader(str(base))
    length = f"{hea.sig_len/hea.fs/3600:.1f} h" if hea.sig_len > 2*3600*hea.fs else f"{hea.sig_len/hea.fs/60:.1f} min"
    print(f"record {base.name} ({length}) end to end with {name}: {n:,} beats in {total:.2f} s ({parts}); "
          f"{hea.sig_len/hea.fs/total:.0f}x real time", flush=True)
    if review:
        added = times[f"review {review}"]
        print(f"  the review queue adds {100*added/(total - added):.1f} % to predict's {total - added:.2f} s",
              flush=True)

def default_net(model):
    "The `default` preset's untrained `model` as a `probability_net`."
    cfg = run_config("default", model)
    shape = dict(beat_length=WINDOW_LEN, rhythm_size=9) if cfg.features in WINDOW_FEATURES else {}
    width = 748 if cfg.features == "cwt" else row_width(cfg.features, cfg.context_beats)
    return probability_net(make_model(model, cfg, input_size=width, **shape).net, cfg.features)

def rows_for(net):
    "`N_BATCHED` real rows of what `net` reads: raw beats, or a rhythm or context model's rows."
    X, _ = input_rows(net.features if net.features in WINDOW_FEATURES else "raw", context_beats=net.context_beats)
    return X[np.random.default_rng(0).permutation(len(X))[:N_BATCHED]]

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", nargs="?", help="a folder written by save_model; default: untrained default networks")
    p.add_argument("--sessions", action="store_true", help="also time ONNX Runtime under other SessionOptions")
    p.add_argument("--holter", action="store_true", help="also annotate a 24-hour record made of the 48 MIT-BIH records")
    a = p.parse_args()
    if a.model: nets = {Path(a.model).name: load_predictor(a.model)}
    else: nets = {m: default_net(m) for m in ("linear", "conv", "context")}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as folder:
        for name, net in nets.items():
            X = rows_for(net)
            compare(name, net, X, folder)
            if a.sessions: compare_sessions(name, net, X, folder)
        for name, net in nets.items(): report(name, find_mitdb()/RECORD, net, folder)
        if a.holter:
            base = holter_record(folder)
            for name, net in nets.items(): report(name, base, net, folder, review=REVIEW)
            print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/2**20:.1f} GiB")

if __name__ == "__main__": main()
