"""Training throughput (beats/s) of `LinearModel` through `BeatDataModule`, against the original project's per-item pandas
`Dataset` and against plain torch matrix multiplies of the same shapes (the machine's limit).

    python benchmarks/training.py [--batches 12] [--warmup 3] [--rounds 2]

The model is the original's tuned shape: CWT features (748 wide), hidden size 2048, 4 hidden layers. Each path trains a fixed
number of batches after a few warm-up batches; only the timed batches count, and the best of interleaved rounds. Goal: >= 1.5x the original path and >= 70 % of the
plain-matmul limit.
"""
import argparse, logging, tempfile, time, warnings

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from ecg_nbdev.callbacks import MetricsCallback
from ecg_nbdev.data import load_beats
from ecg_nbdev.features import beat_features
from ecg_nbdev.model import BeatDataModule, LinearModel

HIDDEN, LAYERS, BATCH, ORIGINAL_BATCH = 2048, 4, 512, 64


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


def lightning_throughput(loader, n_batches, warmup, width):
    "Beats/s of a seeded LinearModel fit over `n_batches` of `loader`, warm-up batches excluded."
    L.seed_everything(0, verbose=False)
    model = LinearModel(input_size=width, hidden_size=HIDDEN, num_hidden_layers=LAYERS, learning_rate=0.005, momentum=0.97, weight_decay=1e-4)
    timer = BatchTimer(warmup)
    trainer = L.Trainer(max_epochs=1, limit_train_batches=warmup + n_batches, limit_val_batches=0, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, default_root_dir=tempfile.mkdtemp(),
                        callbacks=[MetricsCallback(), timer])
    trainer.fit(model, train_dataloaders=loader)
    return timer.beats/(timer.end - timer.start)


def matmul_throughput(width, n_batches, warmup):
    "Beats/s of the forward and backward matrix multiplies alone: h@W.T per layer, then dW = g.T@h and dh = g@W."
    shapes = [(HIDDEN, width)] + [(HIDDEN, HIDDEN)]*LAYERS + [(5, HIDDEN)]
    W = [torch.randn(o, i)*0.01 for o, i in shapes]
    x = torch.randn(BATCH, width)
    def step():
        hs = [x]
        for w in W: hs.append(hs[-1] @ w.T)
        g = torch.randn(BATCH, 5)
        for k in reversed(range(len(W))):
            _ = g.T @ hs[k]                # weight gradient
            if k: g = g @ W[k]             # gradient of the layer's input; the beats themselves need none
    for _ in range(warmup): step()
    start = time.perf_counter()
    for _ in range(n_batches): step()
    return n_batches*BATCH/(time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", type=int, default=12, help="timed batches of 512 beats per path (the original path times as many beats)")
    p.add_argument("--warmup", type=int, default=3, help="untimed batches first")
    p.add_argument("--rounds", type=int, default=2, help="measurements of each path, interleaved; the best counts")
    a = p.parse_args()
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*LeafSpec.*")
    warnings.filterwarnings("ignore", ".*no `val_dataloader`.*")

    X, meta = load_beats()
    n = (a.batches + a.warmup)*BATCH
    features, labels = beat_features(X[:n], "cwt"), meta["label"].to_numpy()[:n]
    width = features.shape[1]
    print(f"LinearModel {width} -> {HIDDEN} -> {LAYERS} x {HIDDEN} -> 5, torch {torch.__version__}, {torch.get_num_threads()} threads")

    ours_loader = lambda: BeatDataModule(features, labels, features[:10], labels[:10], batch_size=BATCH).train_dataloader()
    df = pd.DataFrame(features).assign(label=labels)
    per_batch = BATCH//ORIGINAL_BATCH  # the original path times as many beats as the others
    paths = {"ours: BeatDataModule, batch 512": lambda: lightning_throughput(ours_loader(), a.batches, a.warmup, width),
             "original: pandas df.iloc per beat, batch 64": lambda: lightning_throughput(
                 DataLoader(PandasBeats(df), batch_size=ORIGINAL_BATCH, shuffle=True), a.batches*per_batch, a.warmup*per_batch, width),
             "limit: plain torch matmuls, batch 512": lambda: matmul_throughput(width, a.batches, a.warmup)}
    best = dict.fromkeys(paths, 0.0)
    for r in range(a.rounds):  # interleaved rounds, best of each: other load on the machine hits all paths alike
        for name, measure in paths.items():
            speed = measure()
            best[name] = max(best[name], speed)
            print(f"round {r + 1}  {name:45s} {speed:7.0f} beats/s", flush=True)
    ours, original, limit = best.values()
    print(f"ours / original = {ours/original:.2f}x (goal >= 1.5x)")
    print(f"ours / limit    = {ours/limit:.0%} (goal >= 70 %)")


if __name__ == "__main__": main()
