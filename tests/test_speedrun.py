"""The speed-run model, the Muon optimizer and the recipes (course_lib.speedrun). Behaviour only, never timings."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from course_lib.model import GPT, GPTConfig
from course_lib.sampling import generate_text
from course_lib.smollm.model import rms_norm
from course_lib.speedrun import (
    COURSE_GPT_SWITCHES,
    NS_COEFFICIENTS,
    RECIPES,
    FastGPT,
    FastGPTConfig,
    Muon,
    MuonSettings,
    RaceResult,
    Recipe,
    RMSNorm,
    muon_with_adamw,
    orthogonalize,
    race,
    squared_relu,
)
from course_lib.tokenizers import CharTokenizer
from course_lib.training import TrainConfig, _optimizer, encode_corpus, get_batch, lr_at, seed_everything, train

TEXT = "the cat sat on the mat. the dog sat on the log. " * 40
TOKENIZER = CharTokenizer.from_text(TEXT)
DATA = encode_corpus(TOKENIZER, TEXT)
VOCAB = TOKENIZER.vocab_size


def tiny_config(**changes) -> FastGPTConfig:
    return FastGPTConfig(**{"vocab_size": VOCAB, "block_size": 16, "n_layer": 2, "n_head": 2, "n_embd": 16, **changes})


def tiny_model(seed: int = 0, **changes) -> FastGPT:
    seed_everything(seed)
    return FastGPT(tiny_config(**changes))


def random_ids(shape, seed: int = 0) -> torch.Tensor:
    return torch.randint(VOCAB, shape, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- Newton-Schulz


def numpy_newton_schulz(matrix: np.ndarray, steps: int, coefficients) -> np.ndarray:
    """The iteration written out once more, in float64 numpy, as a reference."""
    a, b, c = coefficients
    x = matrix.T if matrix.shape[0] > matrix.shape[1] else matrix
    x = x / np.sqrt((x**2).sum())
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + b * gram @ x + c * gram @ gram @ x
    return x.T if matrix.shape[0] > matrix.shape[1] else x


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (32, 32)])
def test_orthogonalize_brings_every_singular_value_close_to_one(shape):
    g = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    before = torch.linalg.svdvals(g)
    assert before.max() / before.min() > 2  # the input is far from orthogonal
    after = torch.linalg.svdvals(orthogonalize(g))
    # The tuned quintic lands every singular value in a band around 1, not exactly on 1 (see its docstring).
    assert after.min() > 0.65 and after.max() < 1.25, after


def test_orthogonalize_keeps_the_singular_directions():
    g = torch.randn(8, 12, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    u, _, vh = torch.linalg.svd(g, full_matrices=False)
    inner = u.T @ orthogonalize(g).double() @ vh.T  # diagonal if the result is U S' V^T
    off_diagonal = inner - torch.diag(torch.diagonal(inner))
    assert off_diagonal.abs().max() < 1e-4


def test_the_classic_cubic_iteration_converges_to_u_v_transposed():
    g = torch.randn(5, 9, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    u, _, vh = torch.linalg.svd(g, full_matrices=False)
    # Newton-Schulz's original cubic (a, b, c) = (1.5, -0.5, 0) converges exactly, only more slowly.
    result = orthogonalize(g, steps=60, coefficients=(1.5, -0.5, 0.0))
    torch.testing.assert_close(result.double(), u @ vh, atol=1e-5, rtol=0)


def test_orthogonalize_matches_a_float64_reference_and_handles_tall_and_batched_matrices():
    g = torch.randn(3, 4, 7, generator=torch.Generator().manual_seed(4))
    batched = orthogonalize(g)
    for i in range(3):
        expected = numpy_newton_schulz(g[i].double().numpy(), 5, NS_COEFFICIENTS)
        np.testing.assert_allclose(batched[i].numpy(), expected, atol=1e-5)
        # A tall matrix is orthogonalised through its transpose.
        torch.testing.assert_close(orthogonalize(g[i].T), batched[i].T)


def test_orthogonalize_rejects_bad_input():
    with pytest.raises(ValueError, match="matrix"):
        orthogonalize(torch.ones(5))
    with pytest.raises(ValueError, match="steps"):
        orthogonalize(torch.ones(2, 2), steps=0)


# --------------------------------------------------------------------------- Muon


def test_a_muon_step_matches_a_hand_computation():
    weight = torch.nn.Parameter(torch.randn(6, 3, generator=torch.Generator().manual_seed(5)))
    grads = [torch.randn(6, 3, generator=torch.Generator().manual_seed(s)) for s in (6, 7)]
    lr, momentum, decay = 0.1, 0.9, 0.01
    optimizer = Muon([weight], lr=lr, momentum=momentum, weight_decay=decay)
    expected, buffer = weight.detach().double().numpy().copy(), np.zeros((6, 3))
    for grad in grads:
        weight.grad = grad.clone()
        optimizer.step()
        g = grad.double().numpy()
        buffer = momentum * buffer + (1 - momentum) * g
        nesterov = g + momentum * (buffer - g)
        expected = expected * (1 - lr * decay) - lr * math.sqrt(6 / 3) * numpy_newton_schulz(
            nesterov, 5, NS_COEFFICIENTS
        )
    np.testing.assert_allclose(weight.detach().numpy(), expected, atol=1e-5)


def test_muon_agrees_with_torch_optim_muon():
    # torch.optim.Muon runs the same rule with the iteration in bfloat16: equal up to bf16 rounding.
    generator = torch.Generator().manual_seed(8)
    start = torch.randn(12, 20, generator=generator)
    ours, theirs = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    mine = Muon([ours], lr=0.02, momentum=0.95, weight_decay=0.1)
    reference = torch.optim.Muon([theirs], lr=0.02, momentum=0.95, weight_decay=0.1)
    for _ in range(3):
        grad = torch.randn(12, 20, generator=generator)
        ours.grad, theirs.grad = grad.clone(), grad.clone()
        mine.step()
        reference.step()
    moved = (ours - start).abs().max()
    assert (ours - theirs).abs().max() < 0.02 * moved


def test_a_muon_update_is_orthogonal_whatever_the_gradients_scale():
    weight = torch.nn.Parameter(torch.zeros(10, 10))
    optimizer = Muon([weight], lr=1.0, momentum=0.0)
    # Directions 100 times apart in size: SGD would move almost only along the largest ones.
    u, _, vh = torch.linalg.svd(torch.randn(10, 10, generator=torch.Generator().manual_seed(9)))
    weight.grad = u @ torch.diag(torch.logspace(1, -1, 10)) @ vh
    optimizer.step()
    singular_values = torch.linalg.svdvals(-weight.detach())
    assert singular_values.min() > 0.65 and singular_values.max() < 1.25, singular_values


def test_muon_rejects_bad_settings_and_parameters():
    matrix = torch.nn.Parameter(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="2-D"):
        Muon([torch.nn.Parameter(torch.zeros(3))])
    with pytest.raises(ValueError, match="lr"):
        Muon([matrix], lr=0)
    with pytest.raises(ValueError, match="lr"):
        Muon([matrix], lr=float("nan"))
    with pytest.raises(ValueError, match="momentum"):
        Muon([matrix], momentum=1.0)
    with pytest.raises(ValueError, match="ns_steps"):
        Muon([matrix], ns_steps=0)
    with pytest.raises(ValueError, match="weight_decay"):
        Muon([matrix], weight_decay=-1)


def test_muon_with_adamw_gives_muon_only_the_blocks_matrices():
    model = tiny_model(head="untied", bias=True)
    optimizer = muon_with_adamw(model, TrainConfig(learning_rate=1e-3), MuonSettings(lr=0.05))
    in_muon = {id(p) for p in optimizer.muon.param_groups[0]["params"]}
    names = {name for name, p in model.named_parameters() if id(p) in in_muon}
    assert names == {
        f"blocks.{i}.{m}.weight" for i in range(2) for m in ("attn.qkv", "attn.proj", "mlp.fc", "mlp.proj")
    }
    in_adamw = {id(p) for group in optimizer.adamw.param_groups for p in group["params"]}
    assert in_adamw == {id(p) for p in model.parameters()} - in_muon  # everything else, once
    assert optimizer.muon.param_groups[0]["lr_scale"] == pytest.approx(50)
    with pytest.raises(TypeError, match="model.blocks"):
        muon_with_adamw(torch.nn.Linear(2, 2), TrainConfig())


# --------------------------------------------------------------------------- the model


def test_with_every_switch_off_the_model_is_the_course_gpt():
    config = tiny_config(**COURSE_GPT_SWITCHES)
    seed_everything(0)
    course = GPT(GPTConfig(**{k: getattr(config, k) for k in GPTConfig.__dataclass_fields__}))
    seed_everything(0)
    fast = FastGPT(config)
    course_state, fast_state = course.state_dict(), fast.state_dict()
    assert course_state.keys() == fast_state.keys()
    for name, tensor in course_state.items():
        torch.testing.assert_close(fast_state[name], tensor, rtol=0, atol=0)  # same names, same first weights
    idx = random_ids((2, 16))
    torch.testing.assert_close(fast(idx)[0], course(idx)[0], rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "switches",
    [{}, COURSE_GPT_SWITCHES, {"norm": "rms", "mlp": "relu2", "head": "untied"}, {"positions": "learned"}],
)
def test_forward_shapes_and_loss(switches):
    model = tiny_model(**switches)
    idx, targets = random_ids((3, 10)), random_ids((3, 10), seed=1)
    logits, loss = model(idx, targets)
    assert logits.shape == (3, 10, VOCAB)
    assert loss.shape == () and torch.isfinite(loss)
    assert model(idx)[1] is None


@pytest.mark.parametrize("switches", [{}, {"positions": "learned", "qk_norm": False}, {"norm": "rms"}])
def test_changing_a_later_token_never_changes_earlier_logits(switches):
    model = tiny_model(**switches)
    idx = random_ids((1, 16))
    changed = idx.clone()
    changed[0, 9] = (changed[0, 9] + 1) % VOCAB
    before, after = model(idx)[0], model(changed)[0]
    torch.testing.assert_close(after[:, :9], before[:, :9], rtol=0, atol=1e-6)
    assert (after[:, 9:] - before[:, 9:]).abs().max() > 1e-6  # and it does change the later ones


def test_an_untied_head_starts_at_zero_so_the_first_loss_is_exactly_uniform():
    model = tiny_model(head="untied")
    logits, loss = model(random_ids((2, 16)), random_ids((2, 16), seed=1))
    assert torch.all(logits == 0)
    assert loss.item() == pytest.approx(math.log(VOCAB), abs=1e-6)


def test_rotary_positions_are_relative_only():
    # A constant sequence looks the same from every position to a model that only knows relative
    # positions; learned positions tell the positions apart.
    constant = torch.full((1, 12), 3)
    rotary = tiny_model(positions="rotary")
    logits = rotary(constant)[0][0]
    torch.testing.assert_close(logits, logits[:1].expand_as(logits), rtol=0, atol=1e-5)
    learned = tiny_model(positions="learned")(constant)[0][0]
    assert (learned - learned[:1]).abs().max() > 1e-4
    assert not any("pos_emb" in name for name, _ in rotary.named_parameters())


@pytest.mark.parametrize("norm", ["layer", "rms"])
def test_qk_norm_makes_attention_blind_to_the_size_of_queries_and_keys(norm):
    idx = random_ids((2, 16))

    def logits_with_scaled_queries(qk_norm: bool) -> tuple[torch.Tensor, torch.Tensor]:
        model = tiny_model(qk_norm=qk_norm, norm=norm, bias=False)
        before = model(idx)[0]
        with torch.no_grad():
            for block in model.blocks:
                block.attn.qkv.weight[: 2 * 16] *= 7.0  # the query and key rows
        return before, model(idx)[0]

    before, after = logits_with_scaled_queries(True)
    torch.testing.assert_close(after, before, rtol=0, atol=1e-4)
    before, after = logits_with_scaled_queries(False)
    assert (after - before).abs().max() > 1e-3


def test_rms_norm_module_is_smollms_rms_norm_with_a_gain():
    x = torch.randn(4, 8, generator=torch.Generator().manual_seed(10)) * 5
    norm = RMSNorm(8)
    out = norm(x)
    torch.testing.assert_close(out, rms_norm(x, torch.ones(8)))
    assert out.pow(2).mean(dim=-1).sqrt().sub(1).abs().max() < 1e-3  # unit root-mean-square
    torch.testing.assert_close(norm(3 * x), out, atol=1e-5, rtol=0)  # blind to the input's scale


def test_without_biases_the_model_has_no_bias_and_no_shift():
    model = tiny_model(bias=False, norm="rms")
    assert not any(name.endswith("bias") for name, _ in model.named_parameters())
    with_bias = tiny_model(bias=True)
    assert any(name.endswith("bias") for name, _ in with_bias.named_parameters())


def test_config_and_input_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"FastGPTConfig\.mlp"):
        tiny_config(mlp="swish")
    with pytest.raises(ValueError, match=r"FastGPTConfig\.positions"):
        tiny_config(positions="sinusoidal")
    with pytest.raises(ValueError, match="even"):
        tiny_config(n_embd=18, n_head=2)  # heads of 9
    with pytest.raises(ValueError, match="dropout"):
        tiny_config(dropout=0.1)
    with pytest.raises(ValueError, match="n_embd"):
        tiny_config(n_embd=15, n_head=2)  # the course GPT's own checks still apply
    with pytest.raises(TypeError, match="FastGPTConfig"):
        FastGPT(GPTConfig())
    model = tiny_model()
    with pytest.raises(TypeError, match="integer token ids"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="block_size"):
        model(random_ids((1, 17)))
    with pytest.raises(ValueError, match="out of range"):
        model(torch.tensor([[VOCAB]]))


# --------------------------------------------------------------------------- training


def short_training(**changes) -> TrainConfig:
    settings = dict(
        batch_size=8,
        max_iters=40,
        learning_rate=1e-2,
        warmup_iters=5,
        eval_interval=20,
        eval_batches=2,
        eval_batch_size=8,
        weight_decay=0.0,
        device="cpu",
    )
    return TrainConfig(**{**settings, **changes})


def test_a_few_muon_steps_lower_the_loss():
    recipe = Recipe("test", tiny_config(), short_training(), MuonSettings(lr=0.05))
    model, result = recipe.run(DATA, DATA, VOCAB)
    assert isinstance(model, FastGPT)
    assert result.iterations == 40
    assert np.mean(result.losses[-5:]) < np.mean(result.losses[:5]) - 0.5
    assert result.history[-1]["val_loss"] < result.history[0]["val_loss"]


def test_train_applies_the_schedule_to_muon_from_its_own_peak():
    recipe = Recipe("test", tiny_config(), short_training(max_iters=10), MuonSettings(lr=0.05))
    seen = []

    def spy(model, config):
        optimizer = muon_with_adamw(model, config, recipe.muon)
        seen.append(optimizer)
        return optimizer

    model = recipe.build_model(VOCAB)
    train(model, DATA, DATA, recipe.training, make_optimizer=spy, progress=False)
    muon_group, adamw_group = seen[0].muon.param_groups[0], seen[0].adamw.param_groups[0]
    assert adamw_group["lr"] == pytest.approx(lr_at(9, recipe.training))
    assert muon_group["lr"] == pytest.approx(lr_at(9, recipe.training) * 0.05 / 1e-2)


def test_a_recipe_stops_at_its_target_and_builds_the_right_model():
    recipe = Recipe("test", tiny_config(), short_training(max_iters=200, eval_interval=10), MuonSettings())
    _, result = recipe.run(DATA, DATA, VOCAB, target_val_loss=2.0)
    assert result.reached_target is not None and result.reached_target["val_loss"] <= 2.0
    assert result.iterations < 200
    course = Recipe("course", GPTConfig(block_size=16, n_layer=1, n_head=2, n_embd=16), short_training())
    assert type(course.build_model(VOCAB)) is GPT and course.build_model(VOCAB).config.vocab_size == VOCAB
    with pytest.raises(TypeError, match="Recipe.model"):
        Recipe("bad", {"n_layer": 2}, short_training())
    with pytest.raises(TypeError, match="Recipe.muon"):
        Recipe("bad", tiny_config(), short_training(), muon={"lr": 0.05})


def test_the_raced_recipes():
    assert set(RECIPES) == {"reference", "adamw", "fast"}
    reference = RECIPES["reference"]
    # nanoGPT's "I only have a laptop" run: 4 layers of 128, batch 12, lr 1e-3, AdamW.
    assert type(reference.model) is GPTConfig and reference.muon is None
    assert (reference.model.n_layer, reference.model.n_embd, reference.training.batch_size) == (4, 128, 12)
    assert isinstance(RECIPES["fast"].model, FastGPTConfig) and RECIPES["fast"].muon is not None
    for recipe in RECIPES.values():
        assert recipe.model.block_size == 64  # all are judged on the same context length
        replace(recipe.training)  # a valid TrainConfig


# --------------------------------------------------------------------------- more on Muon's precision


def test_orthogonalize_in_float32_reaches_u_v_transposed_to_float32_precision():
    # The exact target of the iteration is U V^T. With the classic cubic, which converges to it, our float32
    # iteration gets there to float32 rounding: the result's rows are orthonormal, X X^T = I.
    g = torch.randn(6, 11, generator=torch.Generator().manual_seed(11))
    u, _, vh = torch.linalg.svd(g.double(), full_matrices=False)
    result = orthogonalize(g, steps=40, coefficients=(1.5, -0.5, 0.0))
    assert result.dtype == torch.float32
    torch.testing.assert_close(result.double(), u @ vh, atol=2e-6, rtol=0)
    torch.testing.assert_close(result @ result.T, torch.eye(6), atol=2e-6, rtol=0)


def test_muons_update_is_the_float64_iteration_to_float32_rounding_where_bfloat16_is_not():
    # One step from zero momentum with lr 1: the update is exactly -orthogonalize(grad) (square, so no scale).
    grad = torch.randn(16, 16, generator=torch.Generator().manual_seed(12))
    exact = torch.from_numpy(numpy_newton_schulz(grad.double().numpy(), 5, NS_COEFFICIENTS))
    ours = torch.nn.Parameter(torch.zeros(16, 16))
    theirs = torch.nn.Parameter(torch.zeros(16, 16))
    for weight, optimizer in (
        (ours, Muon([ours], lr=1.0, momentum=0.0, nesterov=False)),
        (theirs, torch.optim.Muon([theirs], lr=1.0, momentum=0.0, nesterov=False, weight_decay=0.0)),
    ):
        weight.grad = grad.clone()
        optimizer.step()
    assert (-ours.detach().double() - exact).abs().max() < 1e-5
    assert (-theirs.detach().double() - exact).abs().max() > 1e-3  # torch's bfloat16 iteration: 3 significant digits


# --------------------------------------------------------------------------- the switches, one by one


def test_squared_relu_is_zero_below_zero_and_the_square_above():
    h = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0])
    torch.testing.assert_close(squared_relu(h), torch.tensor([0.0, 0.0, 0.0, 0.25, 9.0]))
    gelu_model, relu2_model = tiny_model(mlp="gelu"), tiny_model(mlp="relu2")
    idx = random_ids((1, 8))
    # Same weights (same seed, no parameter depends on the activation), another function: other logits.
    for (name, a), (_, b) in zip(gelu_model.named_parameters(), relu2_model.named_parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert (gelu_model(idx)[0] - relu2_model(idx)[0]).abs().max() > 1e-4


def test_each_switch_changes_the_parameters_as_documented():
    names = {name for name, _ in tiny_model(**COURSE_GPT_SWITCHES).named_parameters()}
    assert "pos_emb.weight" in names and "head.weight" not in names
    assert not any("q_norm" in name for name in names)
    assert "pos_emb.weight" not in dict(tiny_model(positions="rotary").named_parameters())
    untied = dict(tiny_model(head="untied").named_parameters())
    assert untied["head.weight"].shape == (VOCAB, 16) and untied["head.weight"] is not untied["tok_emb.weight"]
    with_qk_norm = dict(tiny_model(qk_norm=True, bias=False).named_parameters())
    assert with_qk_norm["blocks.0.attn.q_norm.weight"].shape == (8,)  # one gain per dimension of a head
    rms = tiny_model(norm="rms")
    assert all(isinstance(block.ln1, RMSNorm) for block in rms.blocks) and isinstance(rms.ln_f, RMSNorm)


def test_a_fast_model_samples_through_the_course_generate_without_a_cache():
    model = tiny_model()
    text = generate_text(model, TOKENIZER, "the ", 12, use_cache=False, seed=0)
    assert text.startswith("the ") and len(text) == 16


# --------------------------------------------------------------------------- train(): the new arguments


def old_train_losses(model, config: TrainConfig) -> list[float]:
    """The course's loop as it was before ``make_optimizer`` and ``lr_scale`` (no evaluation: it draws no batches)."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = _optimizer(model, config)
    losses = []
    for iteration in range(config.max_iters):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(iteration, config)
        x, y = get_batch(DATA, config.batch_size, model.config.block_size, generator)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_train_with_its_defaults_is_bit_identical_to_the_loop_before_make_optimizer():
    config = short_training(max_iters=12, eval_interval=100, weight_decay=0.1)
    course = GPTConfig(vocab_size=VOCAB, block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    seed_everything(0)
    by_train = GPT(course)
    result = train(by_train, DATA, DATA, config, progress=False)
    seed_everything(0)
    by_hand = GPT(course)
    assert result.losses == old_train_losses(by_hand, config)  # exactly, every step
    for (name, a), (_, b) in zip(by_train.named_parameters(), by_hand.named_parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_lr_scale_multiplies_the_schedule_for_its_group_only():
    config = short_training(max_iters=6)
    groups = []

    def two_groups(model, config):
        matrices = [p for p in model.parameters() if p.dim() >= 2]
        vectors = [p for p in model.parameters() if p.dim() < 2]
        optimizer = torch.optim.SGD([{"params": matrices, "lr_scale": 3.0}, {"params": vectors}], lr=1.0)
        groups.append(optimizer.param_groups)
        return optimizer

    train(tiny_model(), DATA, DATA, config, make_optimizer=two_groups, progress=False)
    scaled, plain = groups[0]
    assert plain["lr"] == lr_at(5, config)
    assert scaled["lr"] == pytest.approx(3.0 * lr_at(5, config))


# --------------------------------------------------------------------------- the race


def tiny_recipes() -> dict[str, Recipe]:
    course = GPTConfig(block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.0)
    slow = Recipe("plain AdamW, lr 3e-3", course, short_training(max_iters=150, eval_interval=10, learning_rate=3e-3))
    fast = Recipe("Muon", tiny_config(), short_training(max_iters=150, eval_interval=10), MuonSettings(lr=0.05))
    return {"reference": slow, "fast": fast}


def test_a_race_runs_both_recipes_to_the_target_and_reports_curves_times_and_a_summary():
    seen = []
    result = race(DATA, DATA, VOCAB, tiny_recipes(), target=2.2, callback=lambda name, h: seen.append((name, len(h))))
    assert isinstance(result, RaceResult) and list(result.runs) == ["reference", "fast"]
    assert result.all_reached
    for run in result.runs.values():
        assert run.history[-1]["val_loss"] <= 2.2 < run.history[0]["val_loss"] or len(run.history) == 1
        assert run.steps == run.history[-1]["iter"] and run.tokens == run.steps * 8 * 16
        assert run.seconds > 0 and run.cpu_seconds > 0
    # Muon on the tiny corpus gets there in fewer steps than plain AdamW (steps are seeded: no timing here).
    assert result.runs["fast"].steps < result.runs["reference"].steps
    assert [name for name, _ in seen[:1]] == ["reference"] and seen[-1][0] == "fast"
    rows = result.summary()
    assert [row["recipe"] for row in rows] == ["reference", "fast"]
    assert rows[0]["x reference"] == 1.0
    assert rows[1]["x reference"] == round(result.ratio("fast"), 2)
    assert result.ratio("fast", clock="cpu") > 0
    curves = result.curves()
    assert list(curves) == ["reference", "fast"]
    seconds, losses = curves["fast"]
    assert losses == [record["val_loss"] for record in result.runs["fast"].history]
    assert seconds == sorted(seconds) and len(seconds) == len(losses)
    assert result.curves("iter")["reference"][0][-1] == result.runs["reference"].steps
    with pytest.raises(ValueError, match="x must be"):
        result.curves("minutes")


def test_a_race_that_misses_the_target_says_so_and_refuses_a_ratio():
    recipes = {"reference": tiny_recipes()["reference"]}
    recipes["reference"] = replace(recipes["reference"], training=short_training(max_iters=10, eval_interval=5))
    result = race(DATA, DATA, VOCAB, recipes, target=0.1)
    assert not result.all_reached and result.summary()[0]["x reference"] is None
    with pytest.raises(ValueError, match="reach the target"):
        result.ratio("reference")
    with pytest.raises(ValueError, match="name must be one of"):
        result.ratio("fast")


class StepClock:
    """The time module as train() and race() read it, with a clock that moves one second per reading: a time
    budget then stops a run at a step set by the code, not by the machine's speed."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now

    def process_time(self) -> float:
        return self.now


def test_a_short_race_gives_the_later_runs_the_first_ones_time(monkeypatch):
    import course_lib.speedrun as speedrun_module
    import course_lib.training as training_module

    clock = StepClock()
    monkeypatch.setattr(training_module, "time", clock)
    monkeypatch.setattr(speedrun_module, "time", clock)
    recipes = {"fast": tiny_recipes()["fast"], "reference": tiny_recipes()["reference"].with_training(max_iters=400)}
    result = race(DATA, DATA, VOCAB, recipes, target=0.3, max_seconds="first")
    fast, reference = result.runs["fast"], result.runs["reference"]
    assert fast.reached and not fast.out_of_time and fast.stopped == "at the target"
    # Plain AdamW learns the tiny corpus more slowly per step: out of time before it reaches 0.3, on an evaluation.
    assert reference.out_of_time and not reference.reached and reference.stopped == "out of time"
    assert reference.steps == reference.history[-1]["iter"] and reference.seconds >= fast.seconds
    assert not result.all_reached and result.summary(baseline="fast")[1]["stopped"] == "out of time"
    # Step for step, where both measured, and after as many seconds: the seeded losses say which learns faster.
    shared = result.shared_steps("fast", "reference")
    assert shared and all(step % 10 == 0 for step in shared)
    assert all(result.loss_at_step("fast", s) < result.loss_at_step("reference", s) for s in shared)
    assert result.loss_at_step("fast", 3) is None
    assert result.loss_after("reference", fast.seconds) == reference.val_loss > 0.3
    assert result.loss_after("fast", fast.seconds + 1) is None  # it had stopped by then
    # A number of seconds bounds every run, the first one too.
    bounded = race(DATA, DATA, VOCAB, recipes, target=0.01, max_seconds=15)
    assert all(run.out_of_time and run.steps < 150 for run in bounded.runs.values())


def test_with_training_changes_only_the_settings_it_names():
    reference = RECIPES["reference"]
    often = reference.with_training(eval_interval=50)
    assert often.training.eval_interval == 50 and often.training.max_iters == reference.training.max_iters
    assert often.model == reference.model and reference.training.eval_interval == 250
    with pytest.raises(ValueError, match="TrainConfig.eval_interval"):
        reference.with_training(eval_interval=0)


def test_race_rejects_bad_arguments_by_name():
    with pytest.raises(ValueError, match="unknown recipe 'fastest'"):
        race(DATA, DATA, VOCAB, ["reference", "fastest"])
    with pytest.raises(TypeError, match="recipes must be"):
        race(DATA, DATA, VOCAB, "fast")
    with pytest.raises(ValueError, match="recipes is empty"):
        race(DATA, DATA, VOCAB, [])
    with pytest.raises(TypeError, match=r"recipes\['fast'\] must be a Recipe"):
        race(DATA, DATA, VOCAB, {"fast": TrainConfig()})
    with pytest.raises(ValueError, match="target"):
        race(DATA, DATA, VOCAB, tiny_recipes(), target=0)
    with pytest.raises(ValueError, match="max_seconds must be None, a number of seconds or 'first'"):
        race(DATA, DATA, VOCAB, tiny_recipes(), max_seconds="same")
    with pytest.raises(ValueError, match="max_seconds must be > 0"):
        race(DATA, DATA, VOCAB, tiny_recipes(), max_seconds=0)
    result = race(DATA, DATA, VOCAB, {"fast": tiny_recipes()["fast"]}, target=2.2)
    with pytest.raises(ValueError, match="name must be one of the runs"):
        result.loss_at_step("slow", 10)
    with pytest.raises(ValueError, match="step must be a positive int"):
        result.loss_at_step("fast", 0)
    with pytest.raises(ValueError, match="seconds must be >= 0"):
        result.loss_after("fast", -1)


def test_the_fast_recipe_itself_learns_the_tiny_corpus_in_a_few_steps_and_faster_than_adamw():
    fast = RECIPES["fast"]
    # Its model, optimizers and learning rates, on a context of 16 (the tiny text) and a 20-step schedule.
    short = replace(
        fast,
        model=replace(fast.model, block_size=16),
        training=replace(
            fast.training, max_iters=20, warmup_iters=5, eval_interval=10, eval_batches=2, eval_batch_size=8
        ),
    )
    _, with_muon = short.run(DATA, DATA, VOCAB)
    _, with_adamw = replace(short, muon=None).run(DATA, DATA, VOCAB)
    assert with_muon.history[0]["val_loss"] < 0.7 < with_adamw.history[0]["val_loss"]  # after 10 steps
    assert with_muon.val_loss < 0.3
