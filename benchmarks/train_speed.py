"""How fast does the course's trainer learn on this machine?

    python benchmarks/train_speed.py                  # throughput, then one race of the three recipes
    python benchmarks/train_speed.py throughput       # tokens/s and FLOP/s of one training step, per option
    python benchmarks/train_speed.py target --threads 1 --rounds 3   # the recipes raced to validation loss 1.89
    python benchmarks/train_speed.py target --recipe reference --recipe fast   # only these two
    python benchmarks/train_speed.py ablation --threads 1             # which change bought what

Four figures:

1. *Throughput*: training tokens per second of the small GPT (4 layers, 4 heads, 128 dims,
   context 64), and the model's FLOP/s (6 x weights + attention, per token, see
   ``course_lib.sizes.flops_per_token``) as a fraction of the fp32 matmul peak measured just before
   (``benchmarks/matmul_peak.py``). Each option is measured on its own: fused attention
   (``scaled_dot_product_attention``, the default) vs the unfused "math" attention, bf16 autocast,
   ``torch.compile``, larger batches.
2. *Time to target* (``target``): wall and CPU time, evaluations included, until the validation loss
   (estimated on fixed batches of the validation split) first reaches 1.89, for each recipe of
   ``course_lib.speedrun.RECIPES`` in turn (``speedrun.race``, the function lesson 08's race calls),
   several rounds, the order reversed every other round; the ratio to the reference recipe is taken
   within each round, then the median over the rounds.
3. *Ablation*: the steps each variant needs to reach 1.89 (deterministic), times its CPU cost per
   step (measured interleaved with all the other variants'), against the reference and the adamw recipe.
4. The machine's load average next to every figure: other programs sharing the 2 cores slow
   everything down, sometimes by several times. On a loaded machine use ``--threads 1``: two threads
   that wait for each other on a busy machine spin and burn several times the CPU of one.

The README's training-speed section has the measured races (the fast recipe: 0.069-0.074x the reference's
CPU time in three races; at load 0.1-3.8, 7.7 s against 109 s CPU, 0.059x the wall time) and the
ablation table; the fast recipe's changes, and what each bought, are ``course_lib.speedrun.CHANGES``.

How the "adamw" recipe (the course's first fast one, the course GPT with AdamW) was chosen (context 64;
loss on fixed validation batches; step counts are deterministic, the times are wall seconds on 2 idle
threads of this machine):

    model         batch  lr     steps (cosine)  reached 1.89 after
    4L 128d       12     1e-3   2000            1850 steps, 1.42M tokens  (the reference recipe)
    4L 128d       16     3e-3   1000             900 steps, 0.92M tokens, 60.5 s
    3L 128d       16     3e-3   1000             900 steps, 0.92M tokens, 56 s
    2L 128d       16     3e-3   1000             850 steps, 0.87M tokens, 32 s
    2L 128d       16     5e-3    800             750 steps, 0.77M tokens, 29-30.5 s  (-> "adamw")
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
import dataclasses
import multiprocessing
import os
import statistics
import time

import torch
from matmul_peak import measure_peak
from torch.nn.attention import SDPBackend, sdpa_kernel

from course_lib.data import load_text
from course_lib.model import GPT, GPTConfig
from course_lib.sizes import flops_per_token
from course_lib.speedrun import (
    COURSE_GPT_SWITCHES,
    RECIPES,
    TARGET_VAL_LOSS,
    FastGPTConfig,
    MuonSettings,
    RaceRun,
    Recipe,
    race,
)
from course_lib.tokenizers import CharTokenizer
from course_lib.training import encode_corpus, evaluate_split, get_batch, seed_everything

TARGET = TARGET_VAL_LOSS  # 1.89
SMALL_GPT = dict(block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)  # the throughput model


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


def cpu_seconds() -> float:
    """CPU time this process has used: what a run costs, hardly changed by other programs sharing the cores."""
    return time.process_time()


def load_now() -> float:
    """The one-minute load average (from /proc/loadavg): how many programs wanted a core meanwhile."""
    return os.getloadavg()[0]


def print_run(run: RaceRun, load_before: float, val_data) -> None:
    if not run.reached:
        print(
            f"{run.name:10s} did not reach {TARGET} in {run.steps} steps ({run.seconds:.1f} s); "
            f"last val {run.val_loss:.3f}; load {load_before:.1f} -> {load_now():.1f}"
        )
        return
    print(
        f"{run.name:10s} val {run.val_loss:.3f} <= {TARGET} after {run.steps:4d} steps, "
        f"{run.tokens / 1e6:.2f}M tokens: {run.seconds:5.1f} s wall, {run.cpu_seconds:5.1f} s CPU; "
        f"load {load_before:.1f} -> {load_now():.1f}",
        flush=True,
    )
    # The stopping rule used a small fixed sample of the validation text; check on all of it (not timed).
    print(f"{'':10s} the same model on the whole validation split: {evaluate_split(run.model, val_data):.3f}")


def race_in_turn(names: list[str], rounds: int, tokenizer, train_data, val_data) -> None:
    """Race the recipes ``rounds`` times (``course_lib.speedrun.race``, one recipe at a time), and compare
    each with the reference run of its round.

    The order alternates from round to round (forwards, then backwards), so a load that rises or falls
    during the benchmark favours no recipe; a ratio within one round is steadier than any single wall time.
    """
    for recipe_name in names:
        print(f"{recipe_name:10s} {RECIPES[recipe_name].description}")
    runs: dict[str, list[RaceRun]] = {n: [] for n in names}
    loads: list[float] = []
    for round_number in range(rounds):
        order = names if round_number % 2 == 0 else names[::-1]
        print(f"\nround {round_number + 1} of {rounds}", flush=True)
        for recipe_name in order:
            before = load_now()
            run = race(train_data, val_data, tokenizer.vocab_size, [recipe_name], target=TARGET).runs[recipe_name]
            loads += [before, load_now()]
            runs[recipe_name].append(run)
            print_run(run, before, val_data)
    if "reference" not in names:
        return
    print(
        f"\nagainst the reference recipe, median over {rounds} round(s) of the ratio within a round "
        f"(one-minute load during the runs {min(loads):.1f} to {max(loads):.1f}, "
        f"median {statistics.median(loads):.1f}):"
    )
    for recipe_name in names:
        pairs = [
            (r, ref) for r, ref in zip(runs[recipe_name], runs["reference"], strict=True) if r.reached and ref.reached
        ]
        if not pairs:
            print(f"  {recipe_name:10s} never reached the target")
            continue
        wall = statistics.median(r.seconds / ref.seconds for r, ref in pairs)
        cpu = statistics.median(r.cpu_seconds / ref.cpu_seconds for r, ref in pairs)
        seconds = statistics.median(r.seconds for r, _ in pairs)
        cpu_seconds = statistics.median(r.cpu_seconds for r, _ in pairs)
        print(
            f"  {recipe_name:10s} {pairs[0][0].steps:4d} steps, median {seconds:6.1f} s wall, "
            f"{cpu_seconds:6.1f} s CPU: {wall:.3f}x the reference's wall time, {cpu:.3f}x its CPU time"
        )


# --------------------------------------------------------------------------- ablation

_ADAMW, _FAST = RECIPES["adamw"], RECIPES["fast"]
_ALL_ARCHITECTURE = dict(bias=False, mlp="relu2", norm="rms", positions="rotary", qk_norm=True, head="untied")


def _variant(base: Recipe, description: str, model: dict | None = None, training: dict | None = None, muon=None):
    """``base`` with some model switches, training settings or Muon settings changed."""
    model_config = base.model
    if model is not None:
        if not isinstance(model_config, FastGPTConfig):  # the course GPT, expressed as a FastGPT
            fields = {f.name: getattr(model_config, f.name) for f in dataclasses.fields(GPTConfig)}
            model_config = FastGPTConfig(**{**fields, **COURSE_GPT_SWITCHES})
        model_config = dataclasses.replace(model_config, **model)
    training_config = dataclasses.replace(base.training, **(training or {}))
    settings = base.muon if muon is None else (None if muon is False else muon)
    return Recipe(description, model_config, training_config, settings)


def ablations() -> list[Recipe]:
    muon = MuonSettings(lr=0.05, momentum=0.9)
    no_decay = {"weight_decay": 0.0}
    return [
        RECIPES["reference"],
        # Each change alone, on the first fast recipe (the course's GPT, 2 x 128, AdamW lr 5e-3, 800 steps).
        _ADAMW,
        _variant(_ADAMW, "+ Muon on the blocks' matrices", training=no_decay, muon=muon),
        _variant(_ADAMW, "+ squared ReLU", model={"mlp": "relu2"}),
        _variant(_ADAMW, "+ rotary positions", model={"positions": "rotary"}),
        _variant(_ADAMW, "+ QK-norm", model={"qk_norm": True}),
        _variant(_ADAMW, "+ RMSNorm, no biases", model={"norm": "rms", "bias": False}),
        _variant(_ADAMW, "+ untied head, zero at the start", model={"head": "untied"}),
        _variant(_ADAMW, "+ 64 wide instead of 128", model={"n_embd": 64}),
        _variant(_ADAMW, "+ all six architecture changes", model=_ALL_ARCHITECTURE),
        _variant(
            _ADAMW, "+ all six architecture changes + Muon", model=_ALL_ARCHITECTURE, training=no_decay, muon=muon
        ),
        # The fast recipe, and each of its choices undone.
        _FAST,
        _variant(_FAST, "AdamW instead of Muon (lr 3e-2 for all)", muon=False),
        _variant(_FAST, "AdamW instead of Muon, lr 5e-3", muon=False, training={"learning_rate": 5e-3, "min_lr": 5e-4}),
        _variant(_FAST, "learned positions instead of rotary", model={"positions": "learned"}),
        _variant(_FAST, "no QK-norm", model={"qk_norm": False}),
        _variant(_FAST, "RMSNorm instead of LayerNorm", model={"norm": "rms"}),
        _variant(_FAST, "squared ReLU instead of GELU", model={"mlp": "relu2"}),
        _variant(_FAST, "untied head, zero at the start", model={"head": "untied"}),
        _variant(
            _FAST, "squared ReLU, RMSNorm and untied head", model={"mlp": "relu2", "norm": "rms", "head": "untied"}
        ),
        _variant(_FAST, "with biases", model={"bias": True}),
        _variant(_FAST, "128 wide instead of 64", model={"n_embd": 128}),
        _variant(_FAST, "AdamW part at lr 1e-2 instead of 3e-2", training={"learning_rate": 1e-2, "min_lr": 1e-3}),
        _variant(_FAST, "a cosine of 800 steps instead of 400", training={"max_iters": 800}),
        _variant(_FAST, "batch 32 instead of 16", training={"batch_size": 32}),
    ]


class StepTimer:
    """One recipe's training step (the one ``train`` takes), timed in CPU seconds."""

    def __init__(self, recipe: Recipe, vocab_size: int, train_data: torch.Tensor):
        self.recipe = recipe
        self.model = recipe.build_model(vocab_size).train()
        self.optimizer = recipe.build_optimizer(self.model)
        self.generator = torch.Generator().manual_seed(0)
        self.train_data = train_data
        self.times: list[float] = []
        for _ in range(2):  # warm-up: allocation and kernel choice
            self.step()

    def step(self) -> None:
        config = self.recipe.training
        x, y = get_batch(self.train_data, config.batch_size, self.model.config.block_size, self.generator)
        _, loss = self.model(x, y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
        self.optimizer.step()
        loss.item()

    def timed_steps(self, n: int) -> None:
        for _ in range(n):
            start = cpu_seconds()
            self.step()
            self.times.append(cpu_seconds() - start)


def steps_to_target(job: tuple[Recipe, int, torch.Tensor, torch.Tensor, int]) -> tuple[dict | None, int, float, float]:
    """One ablation row's run (in a worker process): where it reached the target, its steps, last loss, CPU time."""
    recipe, vocab_size, train_data, val_data, threads = job
    torch.set_num_threads(threads)
    start = cpu_seconds()
    _, result = recipe.run(train_data, val_data, vocab_size, target_val_loss=TARGET)
    return result.reached_target, result.iterations, result.val_loss, cpu_seconds() - start


def ablation(tokenizer, train_data, val_data, rounds: int = 8, steps: int = 4, workers: int = 2) -> None:
    """Steps and tokens to the target for each variant (deterministic), and each one's cost per step.

    Every variant is evaluated every 25 steps on the same 10 validation batches of 32, so the step
    counts are comparable across rows; each variant keeps its own schedule. The per-step costs are CPU
    time (one thread: the time the step would take on an idle core), from steps of all the variants
    taken in turn, so a change in the machine's load affects them all alike. The runs themselves only
    count steps, so ``workers`` processes run them side by side.
    """
    variants = ablations()
    eval_settings = dict(eval_interval=25, eval_batches=10, eval_batch_size=32)
    timers = [StepTimer(v, tokenizer.vocab_size, train_data) for v in variants]
    for _ in range(rounds):
        for timer in timers:
            timer.timed_steps(steps)
    print(f"per-step costs measured ({load_average()}); now the runs to {TARGET}:", flush=True)
    probes = [dataclasses.replace(v, training=dataclasses.replace(v.training, **eval_settings)) for v in variants]
    jobs = [(probe, tokenizer.vocab_size, train_data, val_data, torch.get_num_threads()) for probe in probes]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        runs = pool.map(steps_to_target, jobs, chunksize=1)
    print(
        f"{'variant':52s} {'to the target':>24s} {'CPU ms/step':>11s} {'steps x cost':>12s} "
        f"{'x reference':>11s} {'x adamw':>8s} {'run CPU s':>9s}"
    )
    costs = [statistics.median(timer.times) for timer in timers]
    reached_at = [reached for reached, *_ in runs]
    estimates = [None if r is None else r["iter"] * cost for r, cost in zip(reached_at, costs, strict=True)]
    reference, adamw = estimates[0], estimates[1]  # the first two rows: the reference and the adamw recipe
    rows = zip(variants, costs, estimates, runs, strict=True)
    for recipe, cost, estimate, (reached, iterations, val_loss, run_cpu) in rows:
        if reached is None:
            steps_text, relative = f"not reached in {iterations} (val {val_loss:.3f})", ""
        else:
            steps_text = f"{reached['iter']:5d} steps {reached['tokens'] / 1e6:5.2f}M tok"
            relative = f"{estimate:10.1f} s"
            relative += f" {estimate / reference:11.2f}" if reference else f" {'-':>11s}"
            relative += f" {estimate / adamw:8.2f}" if adamw else f" {'-':>8s}"
        print(f"{recipe.description[:52]:52s} {steps_text:>24s} {cost * 1000:11.1f} {relative:34s} {run_cpu:9.1f}")
    print(f"({load_average()} at the end)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", nargs="?", choices=["all", "throughput", "target", "ablation"], default="all")
    parser.add_argument(
        "--recipe",
        action="append",
        choices=sorted(RECIPES),
        help="race only these recipes (repeat the option; default: reference, adamw and fast)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="how many times to race the recipes, in turn")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--workers", type=int, default=2, help="ablation: processes running the variants' runs")
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
        names = args.recipe or ["reference", "adamw", "fast"]
        race_in_turn(names, args.rounds, tokenizer, train_data, val_data)
    if args.what == "ablation":
        ablation(tokenizer, train_data, val_data, workers=args.workers)


if __name__ == "__main__":
    main()
