"""Training throughput (beats/s) of the CNN the main job trains, or of `LinearModel`, against a bare loop and the machine's limit.

    python benchmarks/training.py [--model conv|linear] [--batches 20] [--warmup 3] [--rounds 5]

`conv` (the default): the `default` preset's `ConvModel` (channels 32-32-64-64-128, kernel 5, raw 187-sample beats, batch 256)
trained through the project's own `training.fit` (the Trainer, data module and callbacks of every `train` call), in fp32
and in `bf16-mixed` (what the default run uses on a CPU with bf16 instructions), side by side with (a) the same network
and batches in a bare PyTorch loop (eager: forward, cross-entropy, backward, SGD step) and (b) the achieved FLOP rate
(FLOPs of one training beat from `FlopCounterMode`) as a share of plain fp32 and bf16 matrix multiplies measured in the
same run (fp32: the faster of torch's BLAS and oneDNN, over 2x apart on an AMD CPU). Goals: the project's path within
10 % of the bare loop; its FLOP rate >= 80 % of the fp32 matmul rate, or above it with bf16. (c) The network's
convolutions alone, forward and backward on the very inputs they see, in fp32 and bf16: the rate the whole network could
reach if batch norm, ReLU, pooling and the optimiser cost nothing, so the most any training path of this network can
reach on this machine.

`linear`: the original's tuned `LinearModel` (CWT features, 748 -> 4 x 2048 -> 5, batch 512) through `BeatDataModule`, against
the original project's per-item pandas `Dataset` and plain matmuls of the same shapes. Goals: >= 1.5x the original path and
>= 70 % of the plain-matmul limit.

Each path trains a fixed number of batches after a few warm-up batches; only the timed batches count. `conv` reports the
median over rounds of each round's ratios (the machine's speed drifts between rounds), every other round running the bare
loop of a pair before the project's path; `linear` the best of interleaved rounds.
"""
import argparse, contextlib, io, logging, tempfile, time, warnings

import lightning as L
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode

from ecg_nbdev.callbacks import MetricsCallback
from ecg_nbdev.settings import run_config
from ecg_nbdev.data import load_beats
from ecg_nbdev.features import beat_features
from ecg_nbdev.model import BeatDataModule, LinearModel, make_model
from ecg_nbdev.training import fit, trainer_precision

HIDDEN, LAYERS, LINEAR_BATCH, ORIGINAL_BATCH = 2048, 4, 512, 64
MATMUL_SIZE = 2048  # square matmuls large enough that oneDNN/MKL runs at its peak


class PandasBeats(Dataset):
    "The original project's input path: one `df.iloc[i]` per beat, collated item by item."
    def __init__(self, df): self.df = df
    def __len__(self): return len(self.df)
    def __getitem__(self, i):
        row = self.df.iloc[i]
        return torch.tensor(row.iloc[:-1].to_numpy(dtype=np.float32)), torch.tensor(int(row.iloc[-1]))


class BatchTimer(L.Callback):
    "Wall time from the start of batch `warmup` to the end of the last batch."
    def __init__(self, warmup): self.warmup, self.start, self.end, self.beats = warmup, None, None, 0
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if batch_idx == self.warmup: self.start = time.perf_counter()
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if batch_idx >= self.warmup: self.beats += len(batch[1]); self.end = time.perf_counter()


def lightning_throughput(model, loader, n_batches, warmup):
    "Beats/s of fitting `model` over `n_batches` of `loader` with a Lightning `Trainer` and `MetricsCallback`, warm-up excluded."
    timer = BatchTimer(warmup)
    trainer = L.Trainer(max_epochs=1, limit_train_batches=warmup + n_batches, limit_val_batches=0, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        num_sanity_val_steps=0, default_root_dir=tempfile.mkdtemp(), deterministic=True,
                        callbacks=[MetricsCallback(), timer])
    trainer.fit(model, train_dataloaders=loader)
    torch.use_deterministic_algorithms(False)  # Lightning leaves it set for the process: the paths after should not see it
    return timer.beats/(timer.end - timer.start)


def matmul_rate(dtype, library="blas", repeat=10):
    "GFLOP/s of plain `MATMUL_SIZE`-square matrix multiplies in `dtype` by `library`: `blas` (`a @ b`) or `onednn`."
    a, b = (torch.randn(MATMUL_SIZE, MATMUL_SIZE).to(dtype) for _ in range(2))
    if library == "onednn":  # the library of torch's CPU convolutions; `mkldnn_linear` computes x @ w.T
        am, bm = a.to_mkldnn(), b.t().contiguous().to_mkldnn()
        multiply = lambda: torch.ops.aten.mkldnn_linear(am, bm, None)
    else: multiply = lambda: a @ b
    for _ in range(2): multiply()
    start = time.perf_counter()
    for _ in range(repeat): multiply()
    return repeat*2*MATMUL_SIZE**3/(time.perf_counter() - start)/1e9


# ---------------------------------------------------------------- conv: the main job's CNN

def conv_model(seed=0):
    "The `default` preset's conv network, seeded, as `train` builds it."
    L.seed_everything(seed, verbose=False)
    return make_model("conv", run_config("default", "conv"), input_size=187)


def bare_throughput(model, batches, warmup, bf16=False):
    "Beats/s of an eager loop over `batches`: forward, cross-entropy, backward, the model's fused SGD and one-cycle step."
    hp = model.hparams
    opt = torch.optim.SGD(model.parameters(), lr=hp.learning_rate, momentum=hp.momentum, weight_decay=hp.weight_decay,
                          nesterov=True, fused=True)
    # the schedule `configure_optimizers` sets: the same learning rates, so the same weights and values, as the project's path
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=hp.learning_rate, total_steps=len(batches), pct_start=0.25,
                                                   base_momentum=min(0.85, hp.momentum), max_momentum=hp.momentum)
    model.train()
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    for i, (x, y) in enumerate(batches):
        if i == warmup: start = time.perf_counter()
        with autocast: loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
    return sum(len(y) for _, y in batches[warmup:])/(time.perf_counter() - start)


def convolution_rate(model, x, bf16=False, repeat=5):
    "GFLOP/s of `model`'s convolutions alone, forward and backward on the inputs they see for batch `x`: its own ceiling."
    seen = []  # each convolution with the input it gets, in the order of the forward pass
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append((m, i[0].detach()))) for m in model.modules()
             if isinstance(m, torch.nn.Conv1d)]
    with torch.no_grad(): model.train()(x)
    for h in hooks: h.remove()
    dtype = torch.bfloat16 if bf16 else torch.float32
    cases = [(conv, inp.to(dtype).requires_grad_(k > 0)) for k, (conv, inp) in enumerate(seen)]  # beats need no gradient
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    def step():
        for conv, inp in cases:
            with autocast: out = conv(inp)
            out.backward(torch.ones_like(out))
    with FlopCounterMode(display=False) as counter: step()
    step()
    start = time.perf_counter()
    for _ in range(repeat): step()
    return repeat*counter.get_total_flops()/(time.perf_counter() - start)/1e9


def flops_per_beat(model, x, y):
    "FLOPs of one training beat (forward and backward) of `model`, counted by torch on batch `x`."
    model.train()
    with FlopCounterMode(display=False) as counter: F.cross_entropy(model(x), y).backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()/len(x)


def project_throughput(beats, labels, n_batches, warmup, precision):
    "Beats/s of one epoch of `training.fit`, the path every `train` call takes, in `precision`, warm-up excluded."
    timer = BatchTimer(warmup)
    cfg = run_config("default", "conv", max_epochs=1, precision=precision)
    data = {"train": (beats, labels), "val": (beats[:10], labels[:10])}
    with contextlib.redirect_stdout(io.StringIO()): fit(conv_model(), data, cfg, seed=0, callbacks=[MetricsCallback(), timer])
    torch.use_deterministic_algorithms(False)  # Lightning leaves it set for the process: the paths after should not see it
    assert timer.beats == n_batches*cfg.batch_size, (timer.beats, n_batches)
    return timer.beats/(timer.end - timer.start)


def conv_main(a):
    cfg = run_config("default", "conv")
    batch, precision = cfg.batch_size, trainer_precision(cfg.precision, cfg.accelerator)
    X, meta = load_beats()
    n = (a.batches + a.warmup)*batch
    beats, labels = X[:n].astype(np.float32), meta["label"].to_numpy()[:n]
    # the very batches the project's path sees: its data module, seeded as `fit` seeds it
    batches = list(BeatDataModule(beats, labels, beats[:10], labels[:10], batch_size=batch, seed=0).train_dataloader())
    flops = flops_per_beat(conv_model(), *batches[0])
    print(f"ConvModel channels {'-'.join(map(str, cfg.channels))}, kernel {cfg.kernel_size}, batch {batch}, "
          f"{flops/1e6:.1f} MFLOP per training beat; the default run trains in {precision}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")

    # each project path right beside its bare loop: the ratio of a round compares neighbours in time
    paths = {"project: training.fit (Trainer, BeatDataModule, callbacks), fp32":
                 lambda: project_throughput(beats, labels, a.batches, a.warmup, "32-true"),
             "bare loop, fp32 eager": lambda: bare_throughput(conv_model(), batches, a.warmup),
             "project, bf16-mixed": lambda: project_throughput(beats, labels, a.batches, a.warmup, "bf16-mixed"),
             "bare loop, bf16 autocast": lambda: bare_throughput(conv_model(), batches, a.warmup, bf16=True)}
    # torch's fp32 `a @ b` is MKL's BLAS, which on an AMD CPU ran at under half of oneDNN's rate (an EPYC with AVX-512):
    # the machine's fp32 limit is the faster of the two
    limits = {"fp32 matmul, BLAS": lambda: matmul_rate(torch.float32),
              "fp32 matmul, oneDNN": lambda: matmul_rate(torch.float32, "onednn"),
              "bf16 matmul": lambda: matmul_rate(torch.bfloat16),
              "its convolutions alone, fp32": lambda: convolution_rate(conv_model(), batches[0][0]),
              "its convolutions alone, bf16 autocast": lambda: convolution_rate(conv_model(), batches[0][0], bf16=True)}
    project, bare, project_bf16, bare_bf16 = paths
    blas, onednn, bf16, conv_fp32, conv_bf16 = limits
    measures, pairs = {**paths, **limits}, ((project, bare), (project_bf16, bare_bf16))
    rounds = []  # per round: every path's and limit's speed
    for r in range(a.rounds):
        speeds = {}
        # every other round runs the bare loop of a pair first: over the rounds, going first favours neither
        order = [name for pair in pairs for name in (pair if r % 2 == 0 else pair[::-1])]
        for name in [*order, *limits]:
            speeds[name] = speed = measures[name]()
            unit = f"{speed:7.0f} beats/s  {speed*flops/1e9:6.1f} GFLOP/s" if name in paths else f"{speed:6.1f} GFLOP/s"
            print(f"round {r + 1}  {name:66s} {unit}", flush=True)
        rounds.append(speeds)
    # the machine's speed drifts between rounds (other tenants): medians of each round's own ratios
    median = lambda f: float(np.median([f(s) for s in rounds]))
    gflops = lambda beats_per_s: beats_per_s*flops/1e9
    fp32 = lambda s: max(s[blas], s[onednn])  # a round's fp32 limit: the faster of its BLAS and oneDNN matmuls
    print(f"medians over {a.rounds} rounds of each round's ratios:")
    print(f"project / bare loop, fp32      = {median(lambda s: s[project]/s[bare]):.2f}x (goal >= 0.90x)")
    print(f"project / bare loop, bf16      = {median(lambda s: s[project_bf16]/s[bare_bf16]):.2f}x (goal >= 0.90x)")
    print(f"project bf16-mixed / fp32      = {median(lambda s: s[project_bf16]/s[project]):.2f}x beats/s")
    print(f"fp32 matmul rate: the faster of BLAS and oneDNN; oneDNN / BLAS = {median(lambda s: s[onednn]/s[blas]):.2f}x")
    print(f"project fp32: {median(lambda s: gflops(s[project])/fp32(s)):.0%} of the fp32 matmul rate (goal >= 80 %)")
    print(f"project bf16: {median(lambda s: gflops(s[project_bf16])/fp32(s)):.0%} of the fp32 matmul rate, "
          f"{median(lambda s: gflops(s[project_bf16])/s[bf16]):.0%} of the bf16 matmul rate (goal: above the fp32 rate)")
    print(f"its convolutions alone (the most the network can reach): {median(lambda s: s[conv_fp32]/fp32(s)):.0%} (fp32) "
          f"and {median(lambda s: s[conv_bf16]/fp32(s)):.0%} (bf16) of the fp32 matmul rate")
    print(f"project / its convolutions alone: {median(lambda s: gflops(s[project])/s[conv_fp32]):.0%} (fp32), "
          f"{median(lambda s: gflops(s[project_bf16])/s[conv_bf16]):.0%} (bf16)")


# ---------------------------------------------------------------- linear: the original's model

def linear_model(width):
    "The original's tuned `LinearModel`, seeded."
    L.seed_everything(0, verbose=False)
    return LinearModel(input_size=width, hidden_size=HIDDEN, num_hidden_layers=LAYERS, learning_rate=0.005,
                       momentum=0.97, weight_decay=1e-4)


def linear_matmul_throughput(width, n_batches, warmup):
    "Beats/s of the forward and backward matrix multiplies alone: h@W.T per layer, then dW = g.T@h and dh = g@W."
    shapes = [(HIDDEN, width)] + [(HIDDEN, HIDDEN)]*LAYERS + [(5, HIDDEN)]
    W = [torch.randn(o, i)*0.01 for o, i in shapes]
    x = torch.randn(LINEAR_BATCH, width)
    def step():
        hs = [x]
        for w in W: hs.append(hs[-1] @ w.T)
        g = torch.randn(LINEAR_BATCH, 5)
        for k in reversed(range(len(W))):
            _ = g.T @ hs[k]                # weight gradient
            if k: g = g @ W[k]             # gradient of the layer's input; the beats themselves need none
    for _ in range(warmup): step()
    start = time.perf_counter()
    for _ in range(n_batches): step()
    return n_batches*LINEAR_BATCH/(time.perf_counter() - start)


def linear_main(a):
    X, meta = load_beats()
    n = (a.batches + a.warmup)*LINEAR_BATCH
    features, labels = beat_features(X[:n], "cwt"), meta["label"].to_numpy()[:n]
    width = features.shape[1]
    print(f"LinearModel {width} -> {HIDDEN} -> {LAYERS} x {HIDDEN} -> 5, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    ours_loader = lambda: BeatDataModule(features, labels, features[:10], labels[:10],
                                         batch_size=LINEAR_BATCH).train_dataloader()
    df = pd.DataFrame(features).assign(label=labels)
    per_batch = LINEAR_BATCH//ORIGINAL_BATCH  # the original path times as many beats as the others
    paths = {"ours: BeatDataModule, batch 512":
                 lambda: lightning_throughput(linear_model(width), ours_loader(), a.batches, a.warmup),
             "original: pandas df.iloc per beat, batch 64": lambda: lightning_throughput(
                 linear_model(width), DataLoader(PandasBeats(df), batch_size=ORIGINAL_BATCH, shuffle=True),
                 a.batches*per_batch, a.warmup*per_batch),
             "limit: plain torch matmuls, batch 512": lambda: linear_matmul_throughput(width, a.batches, a.warmup)}
    best = dict.fromkeys(paths, 0.0)
    for r in range(a.rounds):
        for name, measure in paths.items():
            best[name] = max(best[name], speed := measure())
            print(f"round {r + 1}  {name:45s} {speed:7.0f} beats/s", flush=True)
    ours, original, limit = best.values()
    print(f"ours / original = {ours/original:.2f}x (goal >= 1.5x)")
    print(f"ours / limit    = {ours/limit:.0%} (goal >= 70 %)")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", choices=("conv", "linear"), default="conv", help="the main job's CNN or the original's MLP")
    p.add_argument("--batches", type=int, default=20, help="timed batches per path")
    p.add_argument("--warmup", type=int, default=3, help="untimed batches first")
    p.add_argument("--rounds", type=int, default=5, help="measurements of each path, interleaved")
    a = p.parse_args()
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    for message in (".*does not have many workers.*", ".*LeafSpec.*", ".*no `val_dataloader`.*", ".*bf16.*",
                    ".*No positive samples.*"):  # the 10 validation beats of the project path lack some classes
        warnings.filterwarnings("ignore", message)
    (conv_main if a.model == "conv" else linear_main)(a)


if __name__ == "__main__": main()
