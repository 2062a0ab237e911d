"""Benchmark: the near-field MIMO operator A + A^H, recon's chunked NearFieldMIMO against a dense complex64 einsum.

The paper's full problem (Oral and Öktem, IEEE TCI 2024): the 12 x 13 X-shaped
array, N_f = 20 frequencies over 4-16 GHz, the 25 x 25 x 49 grid; the dense
(N_f, N_t, N_r, N_vox) matrix is 764 MB in complex64. Each method runs in a
fresh subprocess, pinned to one torch thread, so that its peak memory is its
own: on the CPU the peak resident set (``ru_maxrss``) minus the one after the
imports and the inputs; on CUDA ``torch.cuda.max_memory_allocated`` minus what
was allocated before. Times are the median of ``--repeats`` runs of
``A(x)`` followed by ``A^H(y)`` (batch 1); the dense time is given with and without building
the matrix, recon's with and without its first call (which builds its cached tables).

Two dense variants: ``dense-einsum``, the authors' ``einsum`` (with
``conj(einsum(M, conj(y)))`` for the adjoint, which still copies the 764 MB matrix
on each call: einsum makes the summed axes contiguous), and ``dense-matmul``,
the fastest dense form, ``M @ x`` and ``conj(conj(y) @ M)`` on the
``(N_f N_t N_r, N_vox)`` view, which copies nothing. The ratios are against the
faster dense variant.

    python scripts/bench_mimo_operator.py [--device cuda] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

_CHILD = "--child"


def _peak_memory(torch, device, baseline):
    if device == "cuda":
        return torch.cuda.max_memory_allocated() - baseline
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - baseline


def _baseline(torch, device):
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _child(method: str, device: str, repeats: int, n_frequencies: int, budget: int) -> dict:
    import math

    import torch

    from recon.operators.mimo import SPEED_OF_LIGHT, NearFieldMIMO
    from recon.operators.mimo_geometry import paper_array, paper_frequencies, paper_grid

    torch.set_num_threads(1)
    tx, rx = paper_array()
    frequencies, grid = paper_frequencies(n_frequencies), paper_grid()
    generator = torch.Generator().manual_seed(0)
    x = torch.randn((1, 1, *grid.shape), generator=generator, dtype=torch.complex64).to(device)
    y = torch.randn((1, 1, n_frequencies, 12, 13), generator=generator, dtype=torch.complex64).to(device)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    baseline = _baseline(torch, device)
    start = time.perf_counter()
    if method == "recon":
        op = NearFieldMIMO(tx, rx, frequencies, grid, memory_budget=budget).to(device)

        def apply():
            return op.A(x), op.A_adjoint(y)
    else:
        points = grid.points().to(device)
        r_tx, r_rx = torch.cdist(tx.to(device), points), torch.cdist(rx.to(device), points)
        k = 2 * math.pi * frequencies.to(device) / SPEED_OF_LIGHT
        dense = torch.empty((n_frequencies, 12, 13, grid.n_voxels), dtype=torch.complex64, device=device)
        spread = r_tx[:, None, :] + r_rx[None, :, :]
        amplitude = 1 / (4 * math.pi * r_tx[:, None, :] * r_rx[None, :, :])
        for i in range(n_frequencies):  # one frequency at a time, as the authors' code does
            dense[i] = torch.polar(amplitude, -torch.remainder(k[i] * spread, 2 * math.pi)).to(torch.complex64)
        del spread, amplitude
        flat_x, flat_y, matrix = x.reshape(1, -1), y.reshape(1, n_frequencies, 12, 13), dense.reshape(-1, grid.n_voxels)

        if method == "dense-einsum":
            def apply():
                forward = torch.einsum("ftrp,bp->bftr", dense, flat_x)
                adjoint = torch.einsum("ftrp,bftr->bp", dense, flat_y.conj()).conj()
                return forward, adjoint
        else:
            def apply():
                return matrix @ flat_x.T, (flat_y.reshape(1, -1).conj() @ matrix).conj()
    sync()
    setup = time.perf_counter() - start
    start = time.perf_counter()
    apply()
    sync()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        apply()
        sync()
        times.append(time.perf_counter() - start)
    times.sort()
    return {"method": method, "device": device, "setup_s": setup, "first_call_s": first,
            "median_s": times[len(times) // 2], "peak_bytes": _peak_memory(torch, device, baseline)}


def _run(method, args) -> dict:
    command = [sys.executable, __file__, _CHILD, method, "--device", args.device, "--repeats", str(args.repeats),
               "--frequencies", str(args.frequencies), "--budget", str(args.budget)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench_mimo_operator: the {method} run failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--frequencies", type=int, default=20)
    parser.add_argument("--budget", type=int, default=256 * 2**20, help="recon's memory_budget in bytes")
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument(_CHILD, nargs=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child[0], args.device, args.repeats, args.frequencies, args.budget)))
        return
    results = [_run(method, args) for method in ("recon", "dense-matmul", "dense-einsum")]
    recon = results[0]
    dense = min(results[1:], key=lambda r: r["median_s"])
    print(f"near-field MIMO A + A^H, paper grid 25x25x49, 12x13 array, {args.frequencies} frequencies, "
          f"{args.device}, one torch thread, median of {args.repeats}")
    print(f"{'method':<13} {'setup s':>9} {'1st call s':>11} {'A+AH s':>9} {'setup+A+AH s':>13} {'peak MB':>9}")
    for r in results:
        print(f"{r['method']:<13} {r['setup_s']:9.3f} {r['first_call_s']:11.3f} {r['median_s']:9.3f} "
              f"{r['setup_s'] + r['median_s']:13.3f} {r['peak_bytes'] / 2**20:9.1f}")
    ratios = {"time_dense_over_recon": dense["median_s"] / recon["median_s"],
              "time_dense_with_build_over_recon": (dense["setup_s"] + dense["median_s"]) / recon["median_s"],
              "memory_dense_over_recon": dense["peak_bytes"] / max(recon["peak_bytes"], 1)}
    print(f"{dense['method']} / recon: time {ratios['time_dense_over_recon']:.2f}x (with the build "
          f"{ratios['time_dense_with_build_over_recon']:.1f}x), peak memory {ratios['memory_dense_over_recon']:.1f}x")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"results": results, "fastest_dense": dense["method"], "ratios": ratios, "threads": 1,
                       "frequencies": args.frequencies, "budget": args.budget}, handle, indent=2)


if __name__ == "__main__":
    main()
