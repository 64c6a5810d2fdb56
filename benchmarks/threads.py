"""Two trainings side by side, as `nbdev_test` runs notebooks on 2 cores: torch's threads against `torch_threads`.

    python benchmarks/threads.py [--epochs 1]

Two processes start at once, each training the `quick` preset's context model on DS1 for `--epochs`
(the model 11a's tests cross-validate), first with torch's default threads (every core in each process), then with
`torch_threads()` as `nbdev_test` sets it (`$IN_TEST`: one thread a process); and, as the baseline of the same run,
one process alone with the default threads. Reported: each setting's wall time (the slower of the pair) and the ratio
of the default pair to the one-thread pair. Goal: the one-thread pair faster than the default pair.
"""
import argparse, os, subprocess, sys, time

TRAIN = """
import contextlib, io, sys, tempfile, time, warnings
warnings.filterwarnings("ignore")
from ecg_nbdev.settings import CONTEXT_BEATS
from ecg_nbdev.training import input_rows, train
input_rows("context", None, CONTEXT_BEATS)  # read and cached before the clock starts
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    train(preset="quick", model="context", split="interpatient", run_dir=tempfile.mkdtemp(),
          max_epochs=int(sys.argv[1]))
print(time.perf_counter() - start)
"""


def side_by_side(processes:int, epochs:int, in_test:bool) -> float:
    "Wall seconds of the slowest of `processes` trainings started at once; under `$IN_TEST` if `in_test`."
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"} | ({"IN_TEST": "1"} if in_test else {})
    procs = [subprocess.Popen([sys.executable, "-c", TRAIN, str(epochs)], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(processes)]
    outs = [p.communicate()[0] for p in procs]
    for p, out in zip(procs, outs):
        if p.returncode: sys.exit(f"a training failed (exit {p.returncode}): {out[-2000:]}")
    return max(float(out.split()[-1]) for out in outs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    alone = side_by_side(1, args.epochs, in_test=False)
    default = side_by_side(2, args.epochs, in_test=False)
    one = side_by_side(2, args.epochs, in_test=True)
    print(f"one training alone, torch's threads:  {alone:6.1f} s")
    print(f"two at once, torch's threads each:    {default:6.1f} s")
    print(f"two at once, one thread each:         {one:6.1f} s")
    goal = "goal met" if one < default else "goal missed"
    print(f"one thread each is {default/one:.2f}x faster side by side ({goal})")
