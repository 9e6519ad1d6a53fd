"""How fast does the course's trainer learn on this machine?

    python benchmarks/train_speed.py                  # everything (a few minutes on 2 idle cores)
    python benchmarks/train_speed.py throughput       # tokens/s and FLOP/s of one training step, per option
    python benchmarks/train_speed.py target           # wall time to reach validation loss 1.89
    python benchmarks/train_speed.py target --recipe reference   # the slow, well-known baseline recipe

Three figures:

1. *Throughput*: training tokens per second of the small GPT (4 layers, 4 heads, 128 dims,
   context 64), and the model's FLOP/s (6 x weights + attention, per token, see
   ``course_lib.sizes.flops_per_token``) as a fraction of the fp32 matmul peak measured just before
   (``benchmarks/matmul_peak.py``). Each option is measured on its own: fused attention
   (``scaled_dot_product_attention``, the default) vs the unfused "math" attention, bf16 autocast,
   ``torch.compile``, larger batches.
2. *Time to target*: wall time, evaluations included, until the validation loss on the course's
   split (estimated on fixed batches) first reaches 1.89, with the fast recipe below.
3. The machine's load average next to every figure: other programs sharing the 2 cores slow
   everything down, sometimes by several times.

How the "fast" recipe was chosen (context 64; loss on fixed validation batches; step counts are
deterministic, the times are wall seconds on 2 idle threads of this machine):

    model         batch  lr     steps (cosine)  reached 1.89 after
    4L 128d       12     1e-3   2000            1850 steps, 1.42M tokens  (the reference recipe)
    4L 128d       16     3e-3   1000             900 steps, 0.92M tokens, 60.5 s
    3L 128d       16     3e-3   1000             900 steps, 0.92M tokens, 56 s
    2L 128d       16     3e-3   1000             850 steps, 0.87M tokens, 32 s
    2L 128d       16     5e-3    800             750 steps, 0.77M tokens, 29-30.5 s  (-> "fast")
    2L 128d       16     6e-3    700             not reached (1.911 at 0.72M tokens)
    2L 192d       16     3e-3    800             650 steps, 0.67M tokens, 46 s
    1L 192d       16     3e-3   1000             700 steps, 0.72M tokens, 26 s
    4L 128d bf16  32     4e-3    600             550 steps, 1.13M tokens, 74 s

The target is an early point of training, where a shallower model gets there on about as many
tokens as a deep one, at half the cost per token: the gain comes from depth we do not need yet, a
higher learning rate, and a cosine that ends close to where the target is crossed. (The 1-layer
model is a little faster still, but a single block cannot show attention building on attention.)

What PyTorch's options gave, per training step of the 4-layer model on this machine (run
``throughput`` to measure them again; they vary by 10-20% from run to run):

- fused attention (``scaled_dot_product_attention``) beat the unfused "math" attention by 5-11%;
- bf16 autocast: from level (batch 12-32, context 64) to ~30% faster (batch 32 at 192 dims). This
  CPU has AVX-512 BF16, where a 512 x 512 bf16 matmul runs 2.5x faster than fp32, but this model's
  matrices are small enough that casts and element-wise work eat most of the gain; the one bf16
  run to the target that we tried (batch 32, see the table) was slower than the fp32 recipes;
- torch.compile: ~10% faster per step, after ~40 s of compiling: more than a whole fast run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time

import torch
from matmul_peak import measure_peak
from torch.nn.attention import SDPBackend, sdpa_kernel

from course_lib.data import load_text
from course_lib.model import GPT, GPTConfig
from course_lib.sizes import flops_per_token
from course_lib.tokenizers import CharTokenizer
from course_lib.training import TrainConfig, encode_corpus, evaluate_split, seed_everything, train

TARGET = 1.89
SMALL_GPT = dict(block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
# The fast recipe's model: the same block, half as deep (see the table above).
FAST_GPT = {**SMALL_GPT, "n_layer": 2}

# Each recipe's model shape; the reference recipe uses the 4-layer model.
RECIPE_MODELS = {"reference": SMALL_GPT, "fast": FAST_GPT}

RECIPES = {
    # The well-known CPU recipe (nanoGPT's "I only have a laptop" run): 73 s to reach 1.89 here.
    # It estimates the loss on 20 batches of 12; we do the same (on the validation split only).
    "reference": TrainConfig(
        batch_size=12,
        max_iters=2000,
        learning_rate=1e-3,
        min_lr=1e-4,
        warmup_iters=100,
        eval_interval=250,
        eval_batches=20,
        eval_batch_size=12,
    ),
    # Ours: a 2-layer model, 5x the learning rate with a cosine that ends near the target, and more
    # frequent (cheap) evaluations so the run stops soon after crossing it. Found by a small sweep
    # (see the table in the docstring above): ~0.77M tokens at half the cost per token.
    "fast": TrainConfig(
        batch_size=16,
        max_iters=800,
        learning_rate=5e-3,
        min_lr=5e-4,
        warmup_iters=50,
        eval_interval=50,
        eval_batches=10,
        eval_batch_size=32,
    ),
}


def load_average() -> str:
    return "load " + "/".join(f"{x:.1f}" for x in os.getloadavg())


def corpus():
    train_text, val_text = load_text("train"), load_text("val")
    tokenizer = CharTokenizer.from_text(train_text + val_text)
    return tokenizer, encode_corpus(tokenizer, train_text), encode_corpus(tokenizer, val_text)


# --------------------------------------------------------------------------- throughput


class Variant:
    """One way of running a training step (forward, backward, AdamW) of the small GPT."""

    def __init__(self, name, config, batch_size, *, autocast=False, compile=False, math_attention=False):
        seed_everything(0)
        self.name, self.batch_size, self.autocast, self.math_attention = name, batch_size, autocast, math_attention
        self.model = GPT(config)
        self.step_model = torch.compile(self.model) if compile else self.model
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-3)
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randint(config.vocab_size, (batch_size, config.block_size), generator=generator)
        self.y = torch.randint(config.vocab_size, (batch_size, config.block_size), generator=generator)
        self.times: list[float] = []
        start = time.perf_counter()
        for _ in range(2):  # warm-up: allocation, kernel choice, and for torch.compile the compilation
            self.step()
        self.warm_up = time.perf_counter() - start

    def step(self) -> None:
        # sdpa_kernel's context can only be entered once, so a fresh one each step.
        attention = sdpa_kernel([SDPBackend.MATH]) if self.math_attention else contextlib.nullcontext()
        with attention, torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.autocast):
            _, loss = self.step_model(self.x, self.y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def timed_steps(self, n: int) -> None:
        for _ in range(n):
            start = time.perf_counter()
            self.step()
            self.times.append(time.perf_counter() - start)


def throughput(vocab_size: int, peak_gflops: float, rounds: int = 5, steps: int = 4) -> None:
    """Time every variant in turn, several rounds, and keep each one's fastest step.

    Other programs on the machine only ever slow a step down, so the fastest of many is the best
    estimate of what the step costs; interleaving the variants exposes them all to the same load.
    """
    config = GPTConfig(vocab_size=vocab_size, **SMALL_GPT)
    flops = flops_per_token(config)
    print(f"\nthroughput: 4 layers, 128 dims, context 64 ({flops / 1e6:.2f} MFLOP per training token)")
    variants = [
        Variant("batch 12, fused attention (default)", config, 12),
        Variant("batch 12, unfused (math) attention", config, 12, math_attention=True),
        Variant("batch 32, fused attention", config, 32),
        Variant("batch 32, unfused (math) attention", config, 32, math_attention=True),
        Variant("batch 64, fused attention", config, 64),
        Variant("batch 32, torch.compile", config, 32, compile=True),
    ]
    slow = Variant("batch 32, bf16 autocast", config, 32, autocast=True)  # very slow without native bf16
    for _ in range(rounds):
        for variant in variants:
            variant.timed_steps(steps)
        slow.timed_steps(1)
    print(f"{'option':40s} {'best ms/step':>12s} {'median':>8s} {'tokens/s':>9s} {'GFLOP/s':>8s} {'of peak':>8s}")
    for variant in [*variants, slow]:
        best = min(variant.times)
        tokens = variant.batch_size * config.block_size / best
        gflops = tokens * flops / 1e9
        extra = (
            f"  (warm-up incl. compilation: {variant.warm_up:.1f} s)" if variant.step_model is not variant.model else ""
        )
        print(
            f"{variant.name:40s} {best * 1000:12.1f} {statistics.median(variant.times) * 1000:8.1f} {tokens:9.0f} "
            f"{gflops:8.1f} {gflops / peak_gflops:8.1%}{extra}"
        )
    print(f"({load_average()} at the end)")


# --------------------------------------------------------------------------- time to target


def time_to_target(recipe: str, tokenizer, train_data, val_data, compile: bool = False) -> None:
    config = GPTConfig(vocab_size=tokenizer.vocab_size, **RECIPE_MODELS[recipe])
    training = RECIPES[recipe]
    training = TrainConfig(**{**training.__dict__, "target_val_loss": TARGET, "device": "cpu", "compile": compile})
    seed_everything(0)
    model = GPT(config)
    before = load_average()
    result = train(model, train_data, val_data, training, progress=False)
    reached = result.reached_target
    shape = f"{config.n_layer} layers, {config.n_embd} dims"
    label = f"recipe '{recipe}' ({shape})" + (" + torch.compile" if compile else "")
    if reached is None:
        print(
            f"{label}: did not reach {TARGET} in {result.iterations} steps ({result.seconds:.1f} s); "
            f"last val {result.val_loss:.3f}"
        )
        return
    print(
        f"{label}: val loss {reached['val_loss']:.3f} <= {TARGET} after {reached['iter']} steps, "
        f"{reached['tokens']:,} tokens, {result.seconds:.1f} s wall ({result.eval_seconds:.1f} s of it evaluating); "
        f"{before} -> {load_average()}",
        flush=True,
    )
    # The stopping rule used a small fixed sample of the validation text; check on all of it (not timed).
    print(f"  the same model on the whole validation split: {evaluate_split(model, val_data):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", nargs="?", choices=["all", "throughput", "target"], default="all")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="fast")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model for the target run")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, {load_average()}")
    tokenizer, train_data, val_data = corpus()
    if args.what in ("all", "throughput"):
        peak = measure_peak()
        print(f"fp32 matmul peak: {peak['peak_gflops']:.1f} GFLOP/s ({load_average()})")
        throughput(tokenizer.vocab_size, peak["peak_gflops"])
    if args.what in ("all", "target"):
        print()
        time_to_target(args.recipe, tokenizer, train_data, val_data, compile=args.compile)


if __name__ == "__main__":
    main()
