"""A toy task small enough to open a GPT up completely: sorting six letters from a three-letter alphabet.

One example is the input, a separator and the input sorted, as one sequence of characters::

    cabbca|aabbcc

The model reads it left to right, like any text, and learns to predict the next character; the loss
counts only the sorted half (what comes before the separator is random, so nothing can predict it).
To sort a new input, give the model ``cabbca|`` and let it continue greedily for six characters.

There are only 3**6 = 729 possible inputs. A fixed, seeded fifth of them is held out: the model never
trains on them, so sorting them shows that it learned to sort rather than memorised answers.

The model is a course GPT (:mod:`course_lib.model`) with 3 layers, 3 heads and width 48: about 85
thousand parameters, every one of its tensors small enough to print. It trains in seconds on one CPU
thread. Two measurements then ask which heads do the sorting, so that a lesson states what the trained
model shows instead of guessing:

* :func:`smallest_remaining_scores`: how much of each head's attention lands on the input letter the
  model must write next (the smallest letter not yet written), against an even spread;
* :func:`head_knockouts`: the held-out accuracy when one head's output is replaced by its average
  (a "mean ablation"): a head the sorting needs costs accuracy, a spare one costs none.

:func:`analyse_heads` runs both. On the lesson's run (200 steps, seed 0) no head is a sharp "smallest
letter finder": the best puts about half its attention on the next letter, against 0.3 for an even
spread, and the head with the highest score is not the one the sorting needs most. The sorting needs
block 0's heads; any single head of the later blocks can be knocked out at no cost (measured numbers in
``tests/test_toy_sort.py`` and the report of issue 16; longer training, 1,000 or 2,000 steps, sharpens
no head either).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from course_lib import seed_everything
from course_lib.model import GPT, GPTConfig
from course_lib.tokenizers import CharTokenizer
from course_lib.training import TrainConfig, _optimizer, lr_at, pick_device

__all__ = [
    "HeadAnalysis",
    "HeadKnockout",
    "HeadScore",
    "SORT_TRAINING",
    "SortResult",
    "SortTask",
    "analyse_heads",
    "head_knockouts",
    "smallest_remaining_scores",
    "sort_accuracy",
    "sort_with_model",
    "train_sorter",
]


@dataclass(frozen=True)
class SortTask:
    """Inputs of ``length`` letters from ``alphabet``, each followed by ``separator`` and the same letters sorted."""

    alphabet: str = "abc"
    length: int = 6
    separator: str = "|"

    def __post_init__(self) -> None:
        if (
            not isinstance(self.alphabet, str)
            or len(self.alphabet) < 2
            or len(set(self.alphabet)) != len(self.alphabet)
        ):
            raise ValueError(f"alphabet must be a str of at least 2 distinct letters, got {self.alphabet!r}")
        if list(self.alphabet) != sorted(self.alphabet):
            raise ValueError(f"alphabet must be written in sorted order, got {self.alphabet!r}")
        if isinstance(self.length, bool) or not isinstance(self.length, int) or self.length < 1:
            raise ValueError(f"length must be a positive int, got {self.length!r}")
        if not isinstance(self.separator, str) or len(self.separator) != 1 or self.separator in self.alphabet:
            raise ValueError(f"separator must be one character that is not in the alphabet, got {self.separator!r}")

    @property
    def tokenizer(self) -> CharTokenizer:
        """One id per letter, in alphabetical order, and the separator last: ``a`` = 0, ``b`` = 1, ..."""
        return CharTokenizer(self.alphabet + self.separator)

    @property
    def context(self) -> int:
        """Tokens the model must read: the whole example but its last letter (which it only predicts)."""
        return 2 * self.length

    def model_config(self, n_layer: int = 3, n_head: int = 3, n_embd: int = 48) -> GPTConfig:
        """The GPT for this task: by default 3 layers, 3 heads of 16 dimensions, about 85 k parameters."""
        return GPTConfig(
            vocab_size=len(self.alphabet) + 1, block_size=self.context, n_layer=n_layer, n_head=n_head, n_embd=n_embd
        )

    def check_input(self, letters: str) -> str:
        """``letters`` if it is a valid input (``length`` letters of the alphabet), else a ValueError saying why."""
        if not isinstance(letters, str):
            raise TypeError(f"letters must be a str, got {type(letters).__name__}")
        if len(letters) != self.length:
            raise ValueError(f"letters must be {self.length} letters long, got {len(letters)}: {letters!r}")
        unknown = sorted(set(letters) - set(self.alphabet))
        if unknown:
            raise ValueError(f"letters must come from the alphabet {self.alphabet!r}; {letters!r} has {unknown}")
        return letters

    def prompt(self, letters: str) -> str:
        """What the model is given to sort ``letters``: the letters and the separator."""
        return self.check_input(letters) + self.separator

    def example(self, letters: str) -> str:
        """One training example: the letters, the separator and the letters sorted."""
        return self.prompt(letters) + "".join(sorted(letters))

    def inputs(self) -> list[str]:
        """Every possible input, in alphabetical order (3**6 = 729 for the default task)."""
        return ["".join(p) for p in itertools.product(self.alphabet, repeat=self.length)]

    def split(self, held_out: float = 0.2, seed: int = 0) -> tuple[list[str], list[str]]:
        """(training inputs, held-out inputs): a seeded random ``held_out`` fraction is kept aside."""
        if not 0 < held_out < 1:
            raise ValueError(f"held_out must be a fraction between 0 and 1, got {held_out!r}")
        inputs = self.inputs()
        order = np.random.default_rng(seed).permutation(len(inputs))
        n_held = max(1, round(held_out * len(inputs)))
        held = sorted(inputs[i] for i in order[:n_held])
        return sorted(inputs[i] for i in order[n_held:]), held

    def batch(self, inputs: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) for ``inputs``: x the first 2 * length tokens of each example, y the next token at every
        position, with -1 (ignored by the loss) wherever the next token is still part of the random input."""
        if not inputs:
            raise ValueError("inputs must hold at least one sequence of letters, got none")
        tokenizer = self.tokenizer
        ids = torch.tensor([tokenizer.encode(self.example(letters)) for letters in inputs], dtype=torch.long)
        x, y = ids[:, :-1], ids[:, 1:].clone()
        # Positions before length - 1 predict the input's own (random) letters, and position length - 1
        # the separator, which always comes there: nothing to learn from either.
        y[:, : self.length] = -1
        return x, y


#: Training settings that sort nearly every held-out input within a few seconds, even on one CPU thread
#: (measured in tests/test_toy_sort.py's bound and in the report of issue 16).
SORT_TRAINING = TrainConfig(
    batch_size=64,
    max_iters=200,
    learning_rate=3e-3,
    warmup_iters=20,
    weight_decay=0.1,
    grad_clip=1.0,
    seed=0,
)  # device "auto": a GPU when there is one (the environment's COURSE_DEVICE in the tests)


@dataclass
class SortResult:
    """A trained sorter, the split it was trained on, and how the training went."""

    model: GPT
    task: SortTask
    train_inputs: list[str]
    held_out: list[str]
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def tokenizer(self) -> CharTokenizer:
        return self.task.tokenizer


def train_sorter(
    task: SortTask | None = None,
    config: TrainConfig = SORT_TRAINING,
    *,
    n_layer: int = 3,
    n_head: int = 3,
    n_embd: int = 48,
    held_out: float = 0.2,
    seed: int = 0,
) -> SortResult:
    """Train a fresh seeded GPT on the task's training inputs; the held-out inputs are never seen.

    Each step draws ``config.batch_size`` training inputs at random (seeded by ``config.seed``), and the
    loss is the cross-entropy on the sorted half only. The optimiser and learning-rate schedule are the
    course's (:mod:`course_lib.training`): AdamW, warm-up, cosine decay, gradient clipping.
    Trains on ``config.device`` (:func:`~course_lib.training.pick_device`) and returns the model in eval mode
    on the CPU, where the analyses below run.
    """
    task = SortTask() if task is None else task
    train_inputs, held = task.split(held_out, seed)
    device = pick_device(config.device)
    x_all, y_all = (t.to(device) for t in task.batch(train_inputs))
    seed_everything(seed)
    model = GPT(task.model_config(n_layer, n_head, n_embd)).to(device).train()
    optimizer = _optimizer(model, config)
    generator = torch.Generator().manual_seed(config.seed)
    losses = []
    start = time.perf_counter()
    for iteration in range(config.max_iters):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(iteration, config)
        rows = torch.randint(len(train_inputs), (config.batch_size,), generator=generator)
        rows = rows.to(device)  # drawn on the CPU, so the same rows on every device
        _, loss = model(x_all[rows], y_all[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    return SortResult(model.to("cpu").eval(), task, train_inputs, held, losses, seconds)


@torch.no_grad()
def sort_with_model(model: GPT, task: SortTask, inputs: list[str]) -> list[str]:
    """What ``model`` writes after each input's prompt: ``length`` characters, always the most likely one."""
    if not inputs:
        raise ValueError("inputs must hold at least one sequence of letters, got none")
    tokenizer = task.tokenizer
    ids = torch.tensor([tokenizer.encode(task.prompt(letters)) for letters in inputs], dtype=torch.long)
    was_training = model.training
    model.eval()
    try:
        for _ in range(task.length):
            logits, _ = model(ids)
            ids = torch.cat([ids, logits[:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    finally:
        model.train(was_training)
    return [tokenizer.decode(row[task.length + 1 :].tolist()) for row in ids]


def sort_accuracy(model: GPT, task: SortTask, inputs: list[str]) -> float:
    """The fraction of ``inputs`` the model sorts exactly right (all ``length`` letters)."""
    written = sort_with_model(model, task, inputs)
    return sum(out == "".join(sorted(letters)) for out, letters in zip(written, inputs, strict=True)) / len(inputs)


@dataclass(frozen=True)
class HeadScore:
    """How much one head looks at the letter to write next, against what looking anywhere would give."""

    layer: int
    head: int
    score: float  # mean attention weight on input positions holding the next letter to write
    baseline: float  # the same for a head that spreads its attention evenly over what it may see

    @property
    def name(self) -> str:
        return f"block {self.layer}, head {self.head}"


@torch.no_grad()
def smallest_remaining_scores(model: GPT, task: SortTask, inputs: list[str]) -> list[HeadScore]:
    """Every head, ranked by how much attention it puts on the smallest letter not yet written.

    The model is given each whole example (input, separator, sorted output). At each position that
    predicts an output letter (the separator and the output letters but the last), the next letter to
    write is the smallest one remaining; the score is the attention weight that lands on the input
    positions holding that letter, averaged over positions and inputs. A head that sorts by finding the
    smallest remaining letter scores close to 1.
    """
    if not inputs:
        raise ValueError("inputs must hold at least one sequence of letters, got none")
    n = task.length
    x, y = task.batch(inputs)
    capture: dict = {}
    was_training = model.training
    model.eval()
    try:
        model(x, capture=capture)
    finally:
        model.train(was_training)
    # target[b, q, j]: query position q (n .. 2n-1) predicts output letter q - n; True where input position
    # j holds that letter.
    queries = torch.arange(n, 2 * n)
    wanted = y[:, n:]  # (B, n): the letter each of those positions must predict, the sorted input
    target = x[:, None, :n] == wanted[:, :, None]  # (B, n queries, n input positions)
    visible = (queries + 1).float()  # query q may look at positions 0..q
    baseline = float((target.sum(-1) / visible).mean())
    scores = []
    for layer in range(model.config.n_layer):
        pattern = capture[f"blocks.{layer}.attn.pattern"][:, :, queries, :n]  # (B, H, n queries, n inputs)
        on_target = (pattern * target[:, None]).sum(-1).mean(dim=(0, 2))
        scores += [HeadScore(layer, head, float(on_target[head]), baseline) for head in range(model.config.n_head)]
    return sorted(scores, key=lambda s: (-s.score, s.layer, s.head))


@dataclass(frozen=True)
class HeadKnockout:
    """The held-out accuracy with one head's output replaced by its average, against the intact model's."""

    layer: int
    head: int
    accuracy: float  # with the head knocked out
    intact: float  # the model's own accuracy on the same inputs

    @property
    def name(self) -> str:
        return f"block {self.layer}, head {self.head}"

    @property
    def cost(self) -> float:
        """How much accuracy the model loses without this head."""
        return self.intact - self.accuracy


@torch.no_grad()
def head_knockouts(model: GPT, task: SortTask, inputs: list[str], reference: list[str]) -> list[HeadKnockout]:
    """Every head, ranked by how much the model's accuracy on ``inputs`` falls when that head is knocked out.

    Knocking a head out replaces its output (its weighted sum of values, before the output projection)
    by the average of that output over the ``reference`` examples (the training inputs), position by
    position: the head then tells the rest of the model nothing about this input, while the stream
    keeps its usual size (setting it to zero instead would also move the stream somewhere it never is).
    """
    if not inputs or not reference:
        raise ValueError("inputs and reference must each hold at least one sequence of letters")
    x_ref, _ = task.batch(reference)
    capture: dict = {}
    was_training = model.training
    model.eval()
    try:
        model(x_ref, capture=capture)
        intact = sort_accuracy(model, task, inputs)
        hs = model.config.head_size
        results = []
        for layer, block in enumerate(model.blocks):
            for head in range(model.config.n_head):
                mean = capture[f"blocks.{layer}.attn.head_out"][:, head].mean(dim=0)  # (T, hs)

                def knock_out(module, args, head=head, mean=mean):
                    (y,) = args  # (B, T, C): the heads' outputs side by side
                    y = y.clone()
                    y[..., head * hs : (head + 1) * hs] = mean[: y.shape[1]]
                    return (y,)

                hook = block.attn.proj.register_forward_pre_hook(knock_out)
                try:
                    accuracy = sort_accuracy(model, task, inputs)
                finally:
                    hook.remove()
                results.append(HeadKnockout(layer, head, accuracy, intact))
    finally:
        model.train(was_training)
    return sorted(results, key=lambda k: (-k.cost, k.layer, k.head))


@dataclass(frozen=True)
class HeadAnalysis:
    """Both measurements of a trained sorter's heads, on its held-out inputs."""

    scores: list[HeadScore]  # best first
    knockouts: list[HeadKnockout]  # costliest first

    @property
    def sharpest(self) -> HeadScore:
        """The head that looks most at the next letter to write."""
        return self.scores[0]

    @property
    def most_needed(self) -> HeadKnockout:
        """The head whose knock-out costs the most accuracy."""
        return self.knockouts[0]

    def needed(self, cost: float = 0.1) -> list[HeadKnockout]:
        """The heads whose knock-out costs at least ``cost`` of accuracy (default 10 points)."""
        return [k for k in self.knockouts if k.cost >= cost]

    def spare(self, cost: float = 0.02) -> list[HeadKnockout]:
        """The heads whose knock-out costs less than ``cost`` of accuracy (default 2 points)."""
        return [k for k in self.knockouts if k.cost < cost]

    def table(self) -> str:
        """One line per head: its attention score and its knock-out accuracy, rounded."""
        by_head = {(k.layer, k.head): k for k in self.knockouts}
        lines = [f"{'head':<16}{'on next letter':>16}{'even spread':>13}{'accuracy without it':>21}"]
        for s in sorted(self.scores, key=lambda s: (s.layer, s.head)):
            knockout = by_head[(s.layer, s.head)]
            lines.append(f"{s.name:<16}{s.score:>16.2f}{s.baseline:>13.2f}{knockout.accuracy:>21.2f}")
        lines.append(f"(the intact model sorts {self.knockouts[0].intact:.2f} of these inputs)")
        return "\n".join(lines)


def analyse_heads(result: SortResult) -> HeadAnalysis:
    """:func:`smallest_remaining_scores` and :func:`head_knockouts` of a trained sorter, on its held-out inputs
    (the knock-outs averaged over its training inputs)."""
    model, task = result.model, result.task
    return HeadAnalysis(
        smallest_remaining_scores(model, task, result.held_out),
        head_knockouts(model, task, result.held_out, result.train_inputs),
    )
