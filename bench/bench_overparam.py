"""Q1.2 speed: the batched SGD trainer against a straightforward per-seed autograd loop.

Both sides run the same mathematics (mini-batch SGD on mean_b (h(W, x_b) - y(x_b))^2, float32)
in the same process, side by side. The achieved GFLOP/s of the batched step (its two matrix
products) is set against this machine's float32 matmul peak, measured here on 2048 x 2048.
Then, unless --no-full-run, the whole full-profile Q1.2 (calibration, the two settings, the
sweep over m) runs into a temporary folder and its wall time is printed.

    python bench/bench_overparam.py [--no-full-run] [--threads N]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from hw4.core import config  # noqa: E402
from hw4.q1_2_overparam import experiments, sgd  # noqa: E402
from peak import matmul_peak  # noqa: E402  (bench/peak.py, beside this script)

D, BATCH, LR = 20, 64, 1e-3


def best_time(fn, repeats: int, rounds: int = 5) -> float:
    """Seconds per call: the best of a few rounds, which filters out the other tenants' noise."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def baseline_step(weights: list[torch.Tensor], gen: torch.Generator) -> None:
    """What one would write first: a loop over seeds, autograd for the gradient."""
    for w in weights:
        x = torch.randn(BATCH, D, generator=gen)
        loss = ((torch.relu(x @ w.T).sum(-1) - torch.relu(x).sum(-1)) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= LR * w.grad
        w.grad = None


def batched_step(Wt: torch.Tensor, gen: torch.Generator) -> None:
    """What the trainer does per step: one batched draw, then the hand-written batched step."""
    x = torch.randn(Wt.shape[0], BATCH, D, generator=gen)
    sgd.sgd_step(Wt, x, LR)


def compare(seeds: int, m: int) -> dict:
    """Both steps at one width and seed count; each draws its own samples, as training does."""
    W = sgd.init(seeds, m, D, torch.Generator().manual_seed(0), dtype=torch.float32) * 0.1
    weights = [w.clone().requires_grad_() for w in W]
    Wt = W.transpose(-1, -2).contiguous()
    gen = torch.Generator().manual_seed(1)
    t_base = best_time(lambda: baseline_step(weights, gen), max(2, 400 // seeds))
    t_ours = best_time(lambda: batched_step(Wt, gen), 200)
    flops = 2 * (2 * seeds * BATCH * m * D)  # x W^T and (r x)^T 1[.]: 2 S B m d each
    return {"seeds": seeds, "m": m, "base_ms": 1e3 * t_base, "ours_ms": 1e3 * t_ours,
            "ratio": t_base / t_ours, "gflops": flops / t_ours / 1e9}


def full_run() -> dict:
    """The full profile's Q1.2, timed per part, into a throwaway folder."""
    section = config.load(config.CONFIG_FILE, "full").overparam
    times = {}
    with tempfile.TemporaryDirectory() as out:
        for part in (experiments.run_calibration, experiments.run_settings, experiments.run_sweep):
            start = time.perf_counter()
            part(section, out)
            times[part.__name__] = time.perf_counter() - start
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-full-run", action="store_true", help="skip timing the full-profile run")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: the experiment's own [overparam] cpu_threads)")
    args = parser.parse_args()
    threads = args.threads or config.load(config.CONFIG_FILE, "full").overparam.cpu_threads
    torch.set_num_threads(threads)

    print(f"device: cpu, {threads} thread(s), torch {torch.__version__}; batch {BATCH}, d {D}, float32")
    peak = matmul_peak()
    print(f"float32 matmul peak (2048 x 2048): {peak:.1f} GFLOP/s")
    section = config.load(config.CONFIG_FILE, "full").overparam
    workloads = {"required settings": [(section.settings_seeds, m) for m in section.settings_m],
                 "sweep over m": [(section.sweep_seeds, m) for m in section.sweep_m]}
    print("one SGD step, per width, then summed over the widths of each workload (time per step):")
    print(f"{'seeds':>5} {'m':>4} {'per-seed autograd':>18} {'batched':>10} {'ratio':>6} {'GFLOP/s':>8} {'of peak':>7}")
    results = {}
    for name, runs in workloads.items():
        rows = [results.setdefault(run, compare(*run)) for run in runs]
        for r in rows:
            print(f"{r['seeds']:>5} {r['m']:>4} {r['base_ms']:>15.3f} ms {r['ours_ms']:>7.3f} ms {r['ratio']:>5.1f}x"
                  f" {r['gflops']:>8.2f} {100 * r['gflops'] / peak:>6.1f}%")
        base, ours = sum(r["base_ms"] for r in rows), sum(r["ours_ms"] for r in rows)
        gflops = sum(r["gflops"] * r["ours_ms"] for r in rows) / ours
        print(f"{name + ', all widths:':>24} {base:>7.3f} ms {ours:>7.3f} ms {base / ours:>5.1f}x"
              f" {gflops:>8.2f} {100 * gflops / peak:>6.1f}%")
    if not args.no_full_run:
        print("full-profile Q1.2 run (calibration + settings + sweep) ...", flush=True)
        times = full_run()
        for name, seconds in times.items():
            print(f"  {name:<16} {seconds:7.1f} s")
        print(f"  {'total':<16} {sum(times.values()):7.1f} s  (budget 600 s)")


if __name__ == "__main__":
    main()
