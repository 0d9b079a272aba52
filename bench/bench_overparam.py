"""Q1.2 speed: each kernel against a straightforward baseline, side by side in one process.

- SGD: the batched hand-written step against a per-seed autograd loop (float32).
- The continuation and certificate (float64, exact loss): gradient descent on the closed form
  batched over runs against one run at a time; the analytic Hessian-vector product against a
  finite difference of two exact gradients; the analytic dense Hessian against central
  differences of the gradient (what a Newton step and the dense eigenvalues need).
The achieved GFLOP/s of each kernel's matrix products is set against this machine's float32
matmul peak (bench/peak.py; float64 peaks are about half). Then, unless --no-full-run, every
full-profile Q1.2 task runs into a temporary folder, one after the other on one thread, and
its CPU time (robust to other tenants) and wall time are printed.

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
from hw4.q1_2_overparam import experiments, loss, safran, sgd, tasks  # noqa: E402
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


def compare_exact(runs: int, m: int, d: int) -> list[dict]:
    """The continuation's kernels at one shape (float64): rows of (kernel, baseline, ours, flops)."""
    W = sgd.init(runs, m, d, torch.Generator().manual_seed(0))
    V = torch.randn(W.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    rows = []
    t_loop = best_time(lambda: [loss.exact_grad(W[i:i + 1]) for i in range(runs)], 1, rounds=3)
    t_batch = best_time(lambda: loss.exact_grad(W), 5, rounds=3)
    rows.append(("gradient step", "one run at a time", t_loop, t_batch, 4 * runs * m * m * d))
    h = 1e-6
    fd = lambda: (loss.exact_grad(W + h * V) - loss.exact_grad(W - h * V)) / (2 * h)
    apply = loss.hessian_operator(W)  # as Lanczos uses it: the terms of W once, then many products
    t_fd, t_hvp = best_time(fd, 5, rounds=3), best_time(lambda: apply(V), 5, rounds=3)
    rows.append(("Hessian-vector product", "finite difference", t_fd, t_hvp, 10 * runs * m * m * d))
    if m * d <= 600:
        n = m * d

        def dense_fd():
            for i in range(runs):
                step = torch.eye(n, dtype=torch.float64).reshape(n, m, d) * 1e-5
                loss.exact_grad(W[i] + step) - loss.exact_grad(W[i] - step)
        t_dfd = best_time(dense_fd, 1, rounds=1)
        t_dense = best_time(lambda: torch.linalg.cholesky_ex(loss.hessian(W)), 1, rounds=3)
        rows.append(("dense Hessian + Cholesky", "finite differences", t_dfd, t_dense,
                     runs * (6 * m * m * d * d + n ** 3 / 3)))
    return rows


def full_run() -> dict:
    """Every full-profile Q1.2 task, into a throwaway folder, one after the other: (cpu, wall) seconds."""
    section = config.load(config.CONFIG_FILE, "full").overparam
    parts = [("calibrate", experiments.run_calibration, ()), ("settings", experiments.run_settings, ()),
             ("sweep", experiments.run_sweep, ()), ("compare", experiments.run_compare, ()),
             *((f"safran_{t}", safran.run_table, (t,)) for t in ("square", "plus_one", "wide")),
             ("check", experiments.run_check, (tasks.check_table(section),))]
    times = {}
    with tempfile.TemporaryDirectory() as out:
        for name, part, extra in parts:
            cpu, wall = time.process_time(), time.perf_counter()
            part(section, out, *extra)
            times[name] = (time.process_time() - cpu, time.perf_counter() - wall)
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
    print("the continuation and certificate, float64 (time per call; GFLOP/s of the matrix products):")
    print(f"{'runs':>5} {'m':>4} {'kernel':<25} {'baseline':<20} {'baseline':>10} {'ours':>10} {'ratio':>6} {'GFLOP/s':>8} {'of peak':>7}")
    for runs, m in ((section.ss_runs, section.d), (1, max(section.sweep_m))):
        for kernel, base_name, t_base, t_ours, flops in compare_exact(runs, m, section.d):
            gflops = flops / t_ours / 1e9
            print(f"{runs:>5} {m:>4} {kernel:<25} {base_name:<20} {1e3 * t_base:>7.2f} ms {1e3 * t_ours:>7.2f} ms"
                  f" {t_base / t_ours:>5.1f}x {gflops:>8.2f} {100 * gflops / peak:>6.1f}%")
    if not args.no_full_run:
        print("full-profile Q1.2, every task one after the other on this thread ...", flush=True)
        times = full_run()
        for name, (cpu, wall) in times.items():
            print(f"  {name:<18} cpu {cpu:7.1f} s   wall {wall:7.1f} s")
        cpu, wall = sum(t[0] for t in times.values()), sum(t[1] for t in times.values())
        print(f"  {'total':<18} cpu {cpu:7.1f} s   wall {wall:7.1f} s  (budget 600 s)")


if __name__ == "__main__":
    main()
