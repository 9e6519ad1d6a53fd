"""Training faster: the changes today's "speed runs" make, tried on the course's GPT, and the Muon optimizer.

People race to train a GPT to a fixed validation loss in the least time (Keller Jordan's
modded-nanogpt is the best known). Their changes fall into three groups, and this module has
each one as a switch on :class:`FastGPTConfig` or as an optimizer, so a lesson or a benchmark can
turn them on one at a time and see what each buys:

* **The optimizer.** :class:`Muon` replaces AdamW for the matrices inside the blocks. It keeps a
  momentum of the gradient like SGD, but before stepping it *orthogonalises* that matrix: it
  keeps the directions and throws the sizes away, so every direction the gradient points to moves
  by the same amount, instead of a few large directions drowning out the rest. The embeddings, the
  head and the norms' gains stay with AdamW (:class:`MuonWithAdamW` steps both).
* **The architecture.** ``positions="rotary"`` rotates queries and keys by their position instead of
  adding a learned position vector (SmolLM2's ``rope_angles``/``apply_rope``); ``qk_norm`` normalises
  every query and key before their dot product, so attention scores cannot blow up when the learning
  rate is high; ``norm="rms"`` uses RMSNorm (SmolLM2's ``rms_norm``); ``mlp="relu2"`` squares a ReLU
  instead of GELU; ``head="untied"`` gives the unembedding its own matrix, zero at the start (so the
  first predictions are exactly uniform); ``bias=False`` drops every bias. Each is one short function
  or one branch below.
* **The recipe.** Batch size, learning rates, the length of the schedule, and the model's width
  and depth: :class:`Recipe` holds them all, :data:`RECIPES` the three that
  ``benchmarks/train_speed.py target`` races.

With every switch off (:data:`COURSE_GPT_SWITCHES`) a :class:`FastGPT` computes what
``course_lib.model.GPT`` computes, with the same parameter names and the same initialisation from
the same seed: the ablations start from the course's own model.

:func:`race` trains two or more recipes in turn on the learner's machine and returns their curves and
times, each to the target or, in a short race (``max_seconds="first"``, lesson 08's default), the later
ones for as long as the first took; :data:`CHANGES` says what each change of the fast recipe bought when
``benchmarks/train_speed.py ablation`` measured it. Tried and not kept: squared ReLU (alone it helps the
AdamW recipe, 0.84x, but in the fast recipe the run misses 1.89), RMSNorm (same steps, dearer per step
here), an untied zero-initialised head (level), batch 32 (fewer steps, dearer per step).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from course_lib.arrays import require_int, require_real
from course_lib.model import GPT, GPTConfig, check_model_input, residual_block
from course_lib.smollm.model import apply_rope, rms_norm, rope_angles
from course_lib.training import TrainConfig, TrainResult, seed_everything, train
from course_lib.training import _optimizer as _adamw  # the course trainer's AdamW set-up, reused as it is

__all__ = [
    "CHANGES",
    "COURSE_GPT_SWITCHES",
    "TARGET_VAL_LOSS",
    "Change",
    "FastGPT",
    "FastGPTConfig",
    "Muon",
    "MuonSettings",
    "MuonWithAdamW",
    "NS_COEFFICIENTS",
    "RECIPES",
    "RaceResult",
    "RaceRun",
    "Recipe",
    "RMSNorm",
    "muon_with_adamw",
    "orthogonalize",
    "race",
    "squared_relu",
]


# --------------------------------------------------------------------------- the model

CHOICES = {
    "mlp": ("gelu", "relu2"),
    "norm": ("layer", "rms"),
    "positions": ("learned", "rotary"),
    "head": ("tied", "untied"),
}


@dataclass
class FastGPTConfig(GPTConfig):
    """A GPTConfig plus the speed-run switches. The defaults are the fast recipe's model."""

    block_size: int = 64
    n_layer: int = 2
    n_embd: int = 64
    bias: bool = False
    mlp: str = "gelu"  # "gelu" (GPT-2's) or "relu2": max(0, x) squared
    norm: str = "layer"  # "layer" (LayerNorm) or "rms" (RMSNorm); both without a bias when bias=False
    positions: str = "rotary"  # "learned" (a vector added per position) or "rotary" (RoPE)
    qk_norm: bool = True  # normalise each query and key (per head) before attention
    head: str = "tied"  # "tied" (the token embedding, transposed) or "untied" (own matrix, zero at the start)
    rope_base: float = 10_000.0

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"FastGPTConfig.{name} must be one of {allowed}, got {getattr(self, name)!r}")
        if not isinstance(self.qk_norm, bool):
            raise ValueError(f"FastGPTConfig.qk_norm must be True or False, got {self.qk_norm!r}")
        if self.dropout != 0:
            raise ValueError(f"FastGPTConfig.dropout must be 0 (short runs do not need it), got {self.dropout!r}")
        if self.positions == "rotary" and self.head_size % 2:
            raise ValueError(
                f"rotary positions turn pairs of numbers, so the head size (n_embd / n_head = {self.head_size}) "
                "must be even"
            )
        if isinstance(self.rope_base, bool) or not (isinstance(self.rope_base, int | float) and self.rope_base > 1):
            raise ValueError(f"FastGPTConfig.rope_base must be a number above 1, got {self.rope_base!r}")


#: The switches that make a FastGPT the course's GPT (course_lib.model), weight for weight.
COURSE_GPT_SWITCHES = dict(bias=True, mlp="gelu", norm="layer", positions="learned", qk_norm=False, head="tied")


class RMSNorm(nn.Module):
    """SmolLM2's ``rms_norm`` with a learned gain per dimension (starting at 1) and no bias."""

    def __init__(self, size: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.weight)


def make_norm(config: FastGPTConfig, size: int) -> nn.Module:
    """Switch ``norm``: LayerNorm (subtract the mean, divide by the spread) or RMSNorm (only divide)."""
    # PyTorch's LayerNorm is one fused kernel on the CPU, rms_norm five small ones: here LayerNorm is the
    # cheaper of the two, though RMSNorm does less arithmetic.
    return nn.LayerNorm(size, bias=config.bias) if config.norm == "layer" else RMSNorm(size)


def squared_relu(h: torch.Tensor) -> torch.Tensor:
    """Switch ``mlp="relu2"``: max(0, h) squared. Cheaper than GELU, and a neuron's output grows
    quadratically with how strongly it fires, so the few strongly active neurons dominate."""
    return F.relu(h).square()


def gelu(h: torch.Tensor) -> torch.Tensor:
    """GPT-2's activation (the tanh approximation of GELU), as ``course_lib.model.MLP`` computes it."""
    return F.gelu(h, approximate="tanh")


ACTIVATIONS = {"gelu": gelu, "relu2": squared_relu}


def rotary_tables(config: FastGPTConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Switch ``positions="rotary"``: cos and sin of every (position, pair) angle, for the whole context.

    Nothing to learn: position p turns each pair of a query and of a key by a fixed angle, so a score
    q . k depends only on how far apart the two tokens are (SmolLM2's rotation, lesson 09).
    """
    return rope_angles(torch.arange(config.block_size), config.head_size, config.rope_base)


class Attention(nn.Module):
    def __init__(self, config: FastGPTConfig):
        super().__init__()
        self.n_head, self.head_size = config.n_head, config.head_size
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.qk_norm = config.qk_norm
        if config.qk_norm:
            self.q_norm = make_norm(config, config.head_size)
            self.k_norm = make_norm(config, config.head_size)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        batch, new, channels = x.shape
        q, k, v = self.qkv(x).split(channels, dim=2)
        q, k, v = (t.view(batch, new, self.n_head, self.head_size).transpose(1, 2) for t in (q, k, v))
        if self.qk_norm:
            # Switch qk_norm: every query and key gets the same length (times a learned gain), so a score
            # q . k can only grow through the gains, slowly: a large learning rate no longer saturates attention.
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # no cache: SDPA's own causal mask is right
        return self.proj(y.transpose(1, 2).contiguous().view(batch, new, channels))


class MLP(nn.Module):
    def __init__(self, config: FastGPTConfig):
        super().__init__()
        self.fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.activation = ACTIVATIONS[config.mlp]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.activation(self.fc(x)))


class Block(nn.Module):
    def __init__(self, config: FastGPTConfig):
        super().__init__()
        self.ln1 = make_norm(config, config.n_embd)
        self.attn = Attention(config)
        self.ln2 = make_norm(config, config.n_embd)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        # The course GPT's block: pre-norm attention, then pre-norm MLP, each added to the residual stream.
        return residual_block(x, lambda h: self.attn(self.ln1(h), rope), lambda h: self.mlp(self.ln2(h)), None, "")


class FastGPT(nn.Module):
    """The course's GPT with the switches of :class:`FastGPTConfig`; ``model(idx, targets)`` as ``GPT``.

    No capture and no KV cache: this model is for racing. To sample from it use
    ``course_lib.sampling.generate_text(model, tokenizer, prompt, n, use_cache=False)``.
    """

    def __init__(self, config: FastGPTConfig):
        super().__init__()
        if not isinstance(config, FastGPTConfig):
            raise TypeError(f"config must be a FastGPTConfig, got {type(config).__name__}")
        self.config = config
        # Built in the same order as course_lib.model.GPT, so one seed gives both the same first weights.
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        if config.positions == "learned":
            self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        else:
            cos, sin = rotary_tables(config)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = make_norm(config, config.n_embd)
        if config.head == "untied":
            self.head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's initialisation, by ``GPT.reset_parameters`` itself; RMSNorm gains at 1; an untied head at zero."""
        # GPT's method only reads self.modules(), self.blocks and self.config, which a FastGPT has too; it draws
        # the random numbers in the same order, so one seed gives both models the same weights.
        GPT.reset_parameters(self)
        for module in self.modules():
            if isinstance(module, RMSNorm):
                nn.init.ones_(module.weight)
        if self.config.head == "untied":
            # Switch head="untied": zero logits, so every first prediction is uniform and the loss starts exactly
            # at ln(vocab_size); the head then learns its own matrix instead of sharing the token embedding's.
            nn.init.zeros_(self.head.weight)

    def forward(
        self, idx: torch.Tensor, targets: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Logits (B, T, vocab_size) for token ids ``idx`` (B, T), and the mean cross-entropy if ``targets``."""
        check_model_input(self.config, idx, targets)  # the course GPT's checks and messages
        new = idx.shape[1]
        x = self.tok_emb(idx)
        rope = None
        if self.config.positions == "learned":
            x = x + self.pos_emb(torch.arange(new, device=idx.device))
        else:
            rope = self.rope_cos[:new], self.rope_sin[:new]
        for block in self.blocks:
            x = block(x, rope)
        x = self.ln_f(x)
        logits = self.head(x) if self.config.head == "untied" else F.linear(x, self.tok_emb.weight)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]).float(), targets.reshape(-1), ignore_index=-1)
        return logits, loss

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


# --------------------------------------------------------------------------- Muon

#: Keller Jordan's quintic Newton-Schulz coefficients (also torch.optim.Muon's): chosen so that small
#: singular values grow as fast as possible, at the price of ending near 1 rather than exactly at 1.
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)


def orthogonalize(
    matrices: torch.Tensor, steps: int = 5, coefficients: tuple[float, float, float] = NS_COEFFICIENTS
) -> torch.Tensor:
    """The matrix (or each matrix of a batch, last two axes) with its singular values pushed towards 1.

    A matrix G = U S V^T (its SVD) is a sum of directions (columns of U and V) weighted by singular
    values S. Muon wants U V^T: the same directions, all of weight 1. An SVD is slow, so instead we
    apply the odd polynomial X -> a X + b (X X^T) X + c (X X^T)^2 X a few times: it acts on each
    singular value s separately, as s -> a s + b s^3 + c s^5, which maps (0, 1] close to 1. Dividing by
    the Frobenius norm first puts every singular value in (0, 1]. Only matrix products: fast everywhere.

    Computed in float32. ``torch.optim.Muon`` computes it in bfloat16, which only GPUs and CPUs with
    bf16 instructions (AVX-512 BF16, AMX) multiply quickly. Measured on the 2 x 128 model's eight block
    matrices, one thread (CPU time, on the course's shared 2-core machine at load 7): with those
    instructions torch's step took 10.5 ms and this one 15.5 ms; with them switched off
    (``ONEDNN_MAX_CPU_ISA=AVX2``, as on most laptops) torch's took 278 ms and this one 15.4 ms.
    """
    if matrices.dim() < 2:
        raise ValueError(f"orthogonalize needs a matrix or a batch of matrices, got shape {tuple(matrices.shape)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    a, b, c = coefficients
    x = matrices.float()
    tall = x.shape[-2] > x.shape[-1]
    if tall:  # work with the wide orientation: X X^T is then the smaller of the two Gram matrices
        x = x.mT
    x = x / (x.norm(dim=(-2, -1), keepdim=True) + 1e-7)
    for _ in range(steps):
        gram = x @ x.mT
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.mT if tall else x


class Muon(torch.optim.Optimizer):
    """MomentUm Orthogonalized by Newton-schulz, for 2-D weight matrices (Keller Jordan, 2024).

    Each step: ``momentum_buffer = momentum * buffer + (1 - momentum) * grad``; the update is the
    Nesterov look-ahead ``grad + momentum * (buffer - grad)`` orthogonalised by :func:`orthogonalize`;
    ``weight -= lr * sqrt(max(1, rows / cols)) * update`` (the factor gives a tall matrix's update the
    same size per entry as a square one's), after decoupled weight decay ``weight *= 1 - lr * wd``.
    This is ``torch.optim.Muon``'s rule, with the iteration in float32 and the matrices of one shape
    orthogonalised together, as one batched product: fewer, larger products run faster on a CPU.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float = 0.05,
        momentum: float = 0.95,
        nesterov: bool = True,
        weight_decay: float = 0.0,
        ns_steps: int = 5,
    ):
        if not (isinstance(lr, int | float) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"Muon lr must be a positive number, got {lr!r}")
        if not (isinstance(momentum, int | float) and 0 <= momentum < 1):
            raise ValueError(f"Muon momentum must be in [0, 1), got {momentum!r}")
        if not (isinstance(weight_decay, int | float) and weight_decay >= 0):
            raise ValueError(f"Muon weight_decay must be >= 0, got {weight_decay!r}")
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int) or ns_steps < 1:
            raise ValueError(f"Muon ns_steps must be a positive int, got {ns_steps!r}")
        defaults = dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, ns_steps=ns_steps)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.dim() != 2:
                    raise ValueError(
                        f"Muon only updates 2-D weight matrices, got a parameter of shape {tuple(p.shape)}; "
                        "give embeddings' rows, biases and norm gains to AdamW (see muon_with_adamw)"
                    )

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum = group["lr"], group["momentum"]
            updates_by_shape: dict[tuple[int, int], list[tuple[torch.Tensor, torch.Tensor]]] = {}
            for p in group["params"]:
                if p.grad is None:
                    continue
                buffer = self.state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buffer.lerp_(p.grad, 1 - momentum)
                update = p.grad.lerp(buffer, momentum) if group["nesterov"] else buffer
                updates_by_shape.setdefault(tuple(p.shape), []).append((p, update))
            for (rows, cols), items in updates_by_shape.items():
                orthogonal = orthogonalize(torch.stack([update for _, update in items]), group["ns_steps"])
                scale = math.sqrt(max(1.0, rows / cols))
                for (p, _), update in zip(items, orthogonal, strict=True):
                    p.mul_(1 - lr * group["weight_decay"])
                    p.add_(update.to(p.dtype), alpha=-lr * scale)
        return loss


class MuonWithAdamW:
    """Two optimizers stepped as one: Muon for the blocks' matrices, AdamW for every other parameter.

    ``course_lib.training.train`` only needs ``param_groups`` (to set the scheduled learning rate),
    ``zero_grad`` and ``step``.
    """

    def __init__(self, muon: Muon, adamw: torch.optim.AdamW):
        self.muon, self.adamw = muon, adamw

    @property
    def param_groups(self) -> list[dict]:
        return self.muon.param_groups + self.adamw.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.muon.zero_grad(set_to_none)
        self.adamw.zero_grad(set_to_none)

    def step(self) -> None:
        self.muon.step()
        self.adamw.step()


@dataclass(frozen=True)
class MuonSettings:
    lr: float = 0.05  # Muon's peak learning rate; the AdamW parameters keep TrainConfig.learning_rate
    momentum: float = 0.9
    ns_steps: int = 5
    weight_decay: float = 0.0


def muon_with_adamw(model: nn.Module, config: TrainConfig, settings: MuonSettings = MuonSettings()) -> MuonWithAdamW:
    """Muon for the 2-D weights inside ``model.blocks``; AdamW (as the course's trainer sets it up) for the rest.

    Embedding rows and the head are left to AdamW: a row is only used when its token appears, so its
    gradient is not a matrix-wide signal that orthogonalising would improve. The Muon group carries an
    ``lr_scale`` so ``train``'s warm-up and cosine apply to both, each from its own peak.
    """
    if not isinstance(getattr(model, "blocks", None), nn.ModuleList):
        raise TypeError("muon_with_adamw needs a model whose transformer blocks are in model.blocks")
    block_matrices = [p for p in model.blocks.parameters() if p.dim() == 2]
    in_muon = {id(p) for p in block_matrices}
    rest = [p for p in model.parameters() if id(p) not in in_muon]
    muon = Muon(
        block_matrices,
        lr=settings.lr,
        momentum=settings.momentum,
        ns_steps=settings.ns_steps,
        weight_decay=settings.weight_decay,
    )
    muon.param_groups[0]["lr_scale"] = settings.lr / config.learning_rate
    groups = [
        {"params": [p for p in rest if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0},
    ]
    adamw = torch.optim.AdamW(groups, lr=config.learning_rate, betas=(config.beta1, config.beta2))
    return MuonWithAdamW(muon, adamw)


# --------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Recipe:
    """Everything a training run needs besides the data: the model, the loop's settings, the optimizer.

    ``model`` is a plain ``GPTConfig`` (the course's GPT) or a ``FastGPTConfig`` (a :class:`FastGPT`);
    its vocab_size is replaced by the tokenizer's when the model is built. ``muon=None`` trains with
    the course's AdamW.
    """

    description: str
    model: GPTConfig
    training: TrainConfig
    muon: MuonSettings | None = None
    seed: int = 0  # seeds the initial weights (the batches follow training.seed)

    def __post_init__(self) -> None:
        if not isinstance(self.model, GPTConfig):
            raise TypeError(f"Recipe.model must be a GPTConfig or FastGPTConfig, got {type(self.model).__name__}")
        if not isinstance(self.training, TrainConfig):
            raise TypeError(f"Recipe.training must be a TrainConfig, got {type(self.training).__name__}")
        if self.muon is not None and not isinstance(self.muon, MuonSettings):
            raise TypeError(f"Recipe.muon must be MuonSettings or None, got {type(self.muon).__name__}")

    def with_training(self, **changes) -> Recipe:
        """The same recipe with some of its training settings changed, e.g. ``eval_interval=50``."""
        return replace(self, training=replace(self.training, **changes))

    def build_model(self, vocab_size: int) -> nn.Module:
        seed_everything(self.seed)
        config = replace(self.model, vocab_size=vocab_size)
        return FastGPT(config) if isinstance(config, FastGPTConfig) else GPT(config)

    def optimizer_factory(self):
        """What ``train(make_optimizer=...)`` needs: Muon + AdamW, or None for the course's AdamW."""
        if self.muon is None:
            return None
        settings = self.muon

        def make_optimizer(model: nn.Module, config: TrainConfig) -> MuonWithAdamW:
            return muon_with_adamw(model, config, settings)

        return make_optimizer

    def build_optimizer(self, model: nn.Module):
        """The optimizer ``train`` builds for this recipe (for timing single steps outside ``train``)."""
        return (self.optimizer_factory() or _adamw)(model, self.training)

    def run(
        self,
        train_data: torch.Tensor,
        val_data: torch.Tensor,
        vocab_size: int,
        *,
        target_val_loss: float | None = None,
        max_seconds: float | None = None,
        **train_kwargs,
    ) -> tuple[nn.Module, TrainResult]:
        """Build the model and train it (``train_kwargs`` go to ``course_lib.training.train``).

        It stops at the first evaluation at or below ``target_val_loss``, or after ``max_seconds`` of
        training (TrainConfig's fields of those names), or at the end of its schedule.
        """
        model = self.build_model(vocab_size)
        config = replace(self.training, target_val_loss=target_val_loss, max_seconds=max_seconds)
        train_kwargs.setdefault("progress", False)
        result = train(model, train_data, val_data, config, make_optimizer=self.optimizer_factory(), **train_kwargs)
        return model, result


# Every recipe is judged on windows of 64 characters and evaluated on the validation split.
_CONTEXT = 64

RECIPES: dict[str, Recipe] = {
    # nanoGPT's "I only have a laptop" run of shakespeare_char, re-implemented with the course's trainer:
    # the well-known baseline. Its loss is estimated on 20 batches of 12, as nanoGPT's is.
    "reference": Recipe(
        "nanoGPT's laptop recipe: 4 layers of 128, AdamW, batch 12, lr 1e-3",
        GPTConfig(block_size=_CONTEXT, n_layer=4, n_head=4, n_embd=128, dropout=0.0),
        TrainConfig(
            batch_size=12,
            max_iters=2000,
            learning_rate=1e-3,
            min_lr=1e-4,
            warmup_iters=100,
            eval_interval=250,
            eval_batches=20,
            eval_batch_size=12,
            device="cpu",
        ),
    ),
    # The course's first fast recipe (AdamW only): half the depth, 5x the learning rate, a cosine that ends
    # near the target, and frequent cheap evaluations so the run stops soon after crossing it.
    "adamw": Recipe(
        "the course's GPT, 2 layers of 128, AdamW at lr 5e-3, batch 16",
        GPTConfig(block_size=_CONTEXT, n_layer=2, n_head=4, n_embd=128, dropout=0.0),
        TrainConfig(
            batch_size=16,
            max_iters=800,
            learning_rate=5e-3,
            min_lr=5e-4,
            warmup_iters=50,
            eval_interval=50,
            eval_batches=10,
            eval_batch_size=32,
            device="cpu",
        ),
    ),
    # The speed-run recipe: CHANGES (below) and the README say what each of its changes bought.
    "fast": Recipe(
        "2 layers of 64, rotary positions, QK-norm, no biases, Muon (lr 0.05) + AdamW (lr 3e-2), batch 16",
        FastGPTConfig(block_size=_CONTEXT, n_layer=2, n_head=4, n_embd=64),
        TrainConfig(
            batch_size=16,
            max_iters=400,
            learning_rate=3e-2,
            min_lr=3e-3,
            warmup_iters=50,
            weight_decay=0.0,
            eval_interval=50,
            eval_batches=10,
            eval_batch_size=32,
            device="cpu",
        ),
        MuonSettings(lr=0.05, momentum=0.9),
    ),
}


# --------------------------------------------------------------------------- the race

#: The validation loss the recipes race to (nanoGPT's laptop run of shakespeare_char ends near it).
TARGET_VAL_LOSS = 1.89


@dataclass
class RaceRun:
    """One recipe's run in a :func:`race`: its curve, its times, and the trained model."""

    name: str
    description: str
    model: nn.Module
    history: list[dict]  # TrainResult.history: one record per evaluation (iter, val_loss, seconds, tokens...)
    seconds: float  # wall time of training, evaluations included (building the model is not counted)
    cpu_seconds: float  # CPU time this process spent on the run: hardly changed by other programs on the machine
    steps: int
    tokens: int
    reached: bool  # whether the validation loss reached the target before the schedule ended
    out_of_time: bool = False  # whether the race's time budget stopped it first

    @property
    def val_loss(self) -> float:
        return self.history[-1]["val_loss"]

    @property
    def stopped(self) -> str:
        """Why the run ended: "at the target", "out of time" or "end of schedule"."""
        return "at the target" if self.reached else "out of time" if self.out_of_time else "end of schedule"


@dataclass
class RaceResult:
    """The runs of a :func:`race`, in the order they ran, and the target they raced to."""

    target: float
    runs: dict[str, RaceRun] = field(default_factory=dict)

    @property
    def all_reached(self) -> bool:
        return all(run.reached for run in self.runs.values())

    def ratio(self, name: str, baseline: str = "reference", clock: str = "wall") -> float:
        """``name``'s time to the target as a multiple of ``baseline``'s (``clock``: "wall" or "cpu")."""
        for argument, value in (("name", name), ("baseline", baseline)):
            if value not in self.runs:
                raise ValueError(f"{argument} must be one of the runs {sorted(self.runs)}, got {value!r}")
        if clock not in ("wall", "cpu"):
            raise ValueError(f"clock must be 'wall' or 'cpu', got {clock!r}")
        if not (self.runs[name].reached and self.runs[baseline].reached):
            raise ValueError(f"both {name!r} and {baseline!r} must reach the target {self.target} to compare times")
        seconds = (lambda run: run.seconds) if clock == "wall" else (lambda run: run.cpu_seconds)
        return seconds(self.runs[name]) / seconds(self.runs[baseline])

    def _run(self, name: str) -> RaceRun:
        if name not in self.runs:
            raise ValueError(f"name must be one of the runs {sorted(self.runs)}, got {name!r}")
        return self.runs[name]

    def loss_at_step(self, name: str, step: int) -> float | None:
        """``name``'s validation loss at its evaluation after ``step`` steps (None if it did not evaluate there)."""
        step = require_int("step", step, minimum=1)
        return next((r["val_loss"] for r in self._run(name).history if r["iter"] == step), None)

    def shared_steps(self, name: str, other: str) -> list[int]:
        """The steps after which both runs measured their validation loss, in order: where they compare step
        for step (the losses at those steps are seeded, so they repeat on one machine, whatever its load)."""
        steps = {r["iter"] for r in self._run(other).history}
        return [r["iter"] for r in self._run(name).history if r["iter"] in steps]

    def loss_after(self, name: str, seconds: float) -> float | None:
        """``name``'s validation loss at its first evaluation at least ``seconds`` into its run (None if its
        run ended before): what it had reached when it had had at least that much time."""
        seconds = require_real("seconds", seconds, low=0)
        return next((r["val_loss"] for r in self._run(name).history if r["seconds"] >= seconds), None)

    def curves(self, x: str = "seconds") -> dict[str, tuple[list[float], list[float]]]:
        """Each run's validation loss against ``x`` ("seconds", "iter" or "tokens"): the race's picture."""
        if x not in ("seconds", "iter", "tokens"):
            raise ValueError(f"x must be 'seconds', 'iter' or 'tokens', got {x!r}")
        return {
            name: ([record[x] for record in run.history], [record["val_loss"] for record in run.history])
            for name, run in self.runs.items()
        }

    def summary(self, baseline: str = "reference") -> list[dict]:
        """One row per run, ready for a table: what ran, when it reached the target, and how long it took.

        ``x baseline`` is the wall-time ratio to ``baseline`` (None when ``baseline`` did not run or one of
        the two never reached the target).
        """
        rows = []
        for run in self.runs.values():
            comparable = baseline in self.runs and run.reached and self.runs[baseline].reached
            rows.append(
                {
                    "recipe": run.name,
                    "what": run.description,
                    "reached": run.reached,
                    "stopped": run.stopped,
                    "steps": run.steps,
                    "tokens": run.tokens,
                    "val_loss": round(run.val_loss, 3),
                    "seconds": round(run.seconds, 1),
                    "cpu_seconds": round(run.cpu_seconds, 1),
                    f"x {baseline}": round(self.ratio(run.name, baseline), 2) if comparable else None,
                }
            )
        return rows


def race(
    train_data: torch.Tensor,
    val_data: torch.Tensor,
    vocab_size: int,
    recipes: Sequence[str] | Mapping[str, Recipe] = ("reference", "fast"),
    *,
    target: float = TARGET_VAL_LOSS,
    callback: Callable[[str, list[dict]], None] | None = None,
    max_seconds: float | str | None = None,
) -> RaceResult:
    """Train each recipe in turn until its validation loss reaches ``target``, and time each run.

    ``recipes``: names from :data:`RECIPES`, or a mapping of names to :class:`Recipe`. ``callback(name,
    history)`` runs after every evaluation (to draw the curves as they grow). The runs are seeded, so
    their steps and losses repeat on one machine; their seconds depend on the machine and on what else
    it is doing, which is why a ratio of two runs taken one after the other is the number to compare.

    ``max_seconds`` bounds each run: None (each runs to the target or to the end of its schedule), a
    number of seconds, or ``"first"``: the later runs get the seconds the first run took, so a short race
    shows where the others were when the first one finished (lesson 08 puts the fast recipe first).
    """
    if isinstance(recipes, Mapping):
        chosen = dict(recipes)
    elif isinstance(recipes, str) or not isinstance(recipes, Sequence):
        raise TypeError(f"recipes must be a list of recipe names or a dict of Recipes, got {type(recipes).__name__}")
    else:
        unknown = [name for name in recipes if name not in RECIPES]
        if unknown:
            raise ValueError(f"recipes: unknown recipe {unknown[0]!r}; the recipes are {sorted(RECIPES)}")
        chosen = {name: RECIPES[name] for name in recipes}
    target = require_real("target", target, low=0, low_open=True)
    if not chosen:
        raise ValueError("recipes is empty: name at least one recipe to race")
    for name, recipe in chosen.items():
        if not isinstance(recipe, Recipe):
            raise TypeError(f"recipes[{name!r}] must be a Recipe, got {type(recipe).__name__}")
    budget = _budget(max_seconds)
    result = RaceResult(target=target)
    for name, recipe in chosen.items():
        report = None if callback is None else (lambda history, name=name: callback(name, history))
        cpu_start = time.process_time()
        limit = budget
        if budget == "first":  # the first run has no budget; the later ones get its time
            limit = next(iter(result.runs.values())).seconds if result.runs else None
        model, run = recipe.run(
            train_data, val_data, vocab_size, target_val_loss=target, max_seconds=limit, callback=report
        )
        result.runs[name] = RaceRun(
            name=name,
            description=recipe.description,
            model=model,
            history=run.history,
            seconds=run.seconds,
            cpu_seconds=time.process_time() - cpu_start,
            steps=run.iterations,
            tokens=run.tokens,
            reached=run.reached_target is not None,
            out_of_time=run.out_of_time,
        )
    return result


def _budget(max_seconds: float | str | None) -> float | str | None:
    if max_seconds is None or max_seconds == "first":
        return max_seconds
    if isinstance(max_seconds, str):
        raise ValueError(f"max_seconds must be None, a number of seconds or 'first', got {max_seconds!r}")
    return require_real("max_seconds", max_seconds, low=0, low_open=True)


# --------------------------------------------------------------------------- what each change bought


@dataclass(frozen=True)
class Change:
    """One change of the fast recipe: what it is, why it helps, and what it bought when it was measured."""

    name: str
    why: str
    bought: str  # from `benchmarks/train_speed.py ablation` on the course's machine (see the README)


#: The fast recipe's changes, biggest first, as ``benchmarks/train_speed.py ablation`` measured them
#: (steps to validation loss 1.89 are seeded; "x" is steps times CPU cost per step, against the adamw recipe,
#: the course's GPT with AdamW, 2 x 128, which itself takes 0.28x the reference recipe's time).
CHANGES = (
    Change(
        "Muon for the blocks' matrices",
        "each matrix's update is orthogonalised, so every direction moves, and the blocks can learn at 10x "
        "AdamW's rate",
        "the fast recipe with AdamW instead (at its own rate or at 5e-3) does not reach 1.89 in 400 steps; on the "
        "2 x 128 model Muon alone cuts 775 steps to 525 but costs a third more per step (0.90x)",
    ),
    Change(
        "a smaller model: 64 wide instead of 128",
        "1.89 is an early point of training: with Muon a narrow model gets there in about as many steps, at "
        "less than half the cost per step",
        "with Muon: 350 steps at 23 ms instead of 275 at 57 ms (0.27x against 0.52x); with AdamW the narrow "
        "model does not reach 1.89 at all",
    ),
    Change(
        "rotary positions",
        "no position vectors to learn: every score knows how far apart its two tokens are from the first step",
        "learned positions instead: 1.97 after 400 steps, not reached",
    ),
    Change(
        "QK-norm",
        "queries and keys of fixed length keep attention scores bounded at the high learning rate",
        "without it: 1.94 after 400 steps, not reached",
    ),
    Change(
        "a 400-step cosine",
        "the learning rate has decayed just when the target is crossed",
        "an 800-step cosine: 475 steps instead of 350 (0.35x instead of 0.27x)",
    ),
    Change(
        "no biases",
        "fewer tensors to update; the norms do what the biases would",
        "level: with biases 300 steps at a higher cost per step (0.26x against 0.27x, within the noise)",
    ),
)
