"""The fastest float32 matrix multiply this machine does: the yardstick for model FLOP utilisation.

    python benchmarks/matmul_peak.py [--threads N]

Multiplies square matrices of a few sizes and reports the best rate (2 n^3 FLOPs per product,
fastest product of many, since other programs can only slow one down).
Large products run closest to the hardware's limit; a training step is made of much smaller ones,
so no real model gets near this figure. Other programs on the machine lower it: the load average
is printed with it.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

SIZES = (256, 512, 1024, 2048)


def matmul_gflops(n: int, min_seconds: float = 0.5, dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of an n x n by n x n product, timed over repeats that last at least ``min_seconds``."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator).to(dtype)
    b = torch.randn(n, n, generator=generator).to(dtype)
    for _ in range(2):  # warm up: first calls allocate and pick kernels
        a @ b
    # The fastest single product: other programs on the machine only ever slow one down.
    best, total = float("inf"), 0.0
    while total < min_seconds:
        start = time.perf_counter()
        a @ b
        elapsed = time.perf_counter() - start
        best, total = min(best, elapsed), total + elapsed
    return 2 * n**3 / best / 1e9


def measure_peak(sizes=SIZES, min_seconds: float = 0.5) -> dict:
    """Best fp32 GFLOP/s over ``sizes``, with each size's figure and the load average at the time."""
    rates = {n: matmul_gflops(n, min_seconds) for n in sizes}
    return {
        "peak_gflops": max(rates.values()),
        "by_size": rates,
        "threads": torch.get_num_threads(),
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure the fp32 matmul peak of this machine.")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    result = measure_peak()
    for n, rate in result["by_size"].items():
        print(f"  {n:5d} x {n:<5d} {rate:7.1f} GFLOP/s")
    load = ", ".join(f"{x:.2f}" for x in result["load_average"])
    print(f"fp32 matmul peak: {result['peak_gflops']:.1f} GFLOP/s ({result['threads']} threads; load average {load})")
    bf16 = matmul_gflops(512, dtype=torch.bfloat16)
    print(f"for comparison, bf16 512 x 512: {bf16:.1f} GFLOP/s (slow unless the CPU has native bf16 instructions)")


if __name__ == "__main__":
    main()
