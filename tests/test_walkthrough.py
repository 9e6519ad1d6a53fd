"""The walkthrough's steps (course_lib.walkthrough): they hold the tensors the model computed, in order,
with the right shapes for any course GPT; append-and-repeat continues as generation does; bad input is explained."""

from __future__ import annotations

import pytest
import torch

from course_lib.checkpoints import load_course_model
from course_lib.model import GPT, GPTConfig
from course_lib.sampling import generate
from course_lib.tokenizers import CharTokenizer
from course_lib.toy_sort import SortTask
from course_lib.walkthrough import BLOCK_KINDS, EMBEDDING_KINDS, LESSONS, OUTPUT_KINDS, walk, walk_ids

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CHARS = CharTokenizer.from_text("What will be the answer?\n")


def _model(config: GPTConfig, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(config).eval()


CONFIGS = {
    "two heads": GPTConfig(vocab_size=CHARS.vocab_size, block_size=16, n_layer=2, n_head=2, n_embd=8),
    "one head, no biases": GPTConfig(
        vocab_size=CHARS.vocab_size, block_size=16, n_layer=1, n_head=1, n_embd=12, bias=False
    ),
    "toy sorter's shape": SortTask().model_config(),
}


@pytest.fixture(scope="module")
def course():
    return load_course_model()


def _setups(course):
    """(model, tokenizer, prompt) for every config, the course's model included."""
    task = SortTask()
    yield course[0], course[1], "What will be"
    yield _model(CONFIGS["two heads"]), CHARS, "What will"
    yield _model(CONFIGS["one head, no biases"]), CHARS, "the answer"
    yield _model(CONFIGS["toy sorter's shape"]), task.tokenizer, task.prompt("cabbca")


def _reference_capture(model: GPT, ids: list[int]) -> dict:
    capture: dict = {}
    with torch.no_grad():
        model(torch.tensor([ids]), capture=capture)
    return capture


# --------------------------------------------------------------------------- what is shown is what was computed


def test_every_captured_tensor_equals_the_models_own_capture(course):
    for model, tokenizer, prompt in _setups(course):
        walked = walk(model, tokenizer, prompt)
        reference = _reference_capture(model, tokenizer.encode(prompt))
        checked = set()
        for step in walked.steps:
            for shown in step.tensors():
                key = shown.capture_key
                if key is None:
                    continue
                expected = reference[key] if key == "pos_emb" else reference[key][0]
                assert torch.equal(shown.values, expected), f"{step.key}: {shown.name} differs from capture[{key!r}]"
                checked.add(key)
        # Every key the model records is shown somewhere in the walk.
        assert checked == set(reference), f"capture keys not shown: {sorted(set(reference) - checked)}"


def test_every_activation_shown_is_read_from_the_capture_not_recomputed(course):
    # Only the token ids, the weight table, the probabilities and the choice are not in the capture.
    for model, tokenizer, prompt in _setups(course):
        walked = walk(model, tokenizer, prompt)
        for step in walked.steps:
            for shown in step.tensors():
                if shown.capture_key is None:
                    assert shown.name in {"token ids", "W_te", "p", "next token id"}, (step.key, shown.source)
        for i in range(model.config.n_layer):
            for kind, key in [
                ("ln1", "ln1"),
                ("ln2", "ln2"),
                ("scores", "attn.scores"),
                ("mask", "attn.masked_scores"),
            ]:
                assert walked.step(f"blocks.{i}.{kind}").outputs[0].source == f"capture: blocks.{i}.{key}"


def test_the_steps_shown_chain_as_the_model_computed_them(tiny_model):
    model, tokenizer = tiny_model
    walked = walk(model, tokenizer, "abc def")
    for i, block in enumerate(model.blocks):
        stream = walked.step(f"blocks.{i}.ln1").inputs[0].values
        with torch.no_grad():
            assert torch.equal(walked.step(f"blocks.{i}.ln1").outputs[0].values, block.ln1(stream))
        q, k = walked.step(f"blocks.{i}.qkv").outputs[:2]
        scores = walked.step(f"blocks.{i}.scores").outputs[0].values
        masked = walked.step(f"blocks.{i}.mask").outputs[0].values
        pattern = walked.step(f"blocks.{i}.pattern").outputs[0].values
        assert torch.allclose(scores, q.values @ k.values.transpose(-2, -1) / model.config.head_size**0.5)
        future = torch.ones(7, 7, dtype=torch.bool).triu(1)
        assert torch.isneginf(masked[:, future]).all() and torch.equal(masked[:, ~future], scores[:, ~future])
        assert torch.equal(masked.softmax(-1), pattern)


def test_weights_shown_are_the_models_parameters(tiny_model):
    model, tokenizer = tiny_model
    walked = walk(model, tokenizer, "abc")
    for key in ("embedding", "unembed"):
        table = next(t for t in walked.step(key).inputs if t.name == "W_te")
        assert table.source == "parameter: tok_emb.weight" and torch.equal(table.values, model.tok_emb.weight)


# --------------------------------------------------------------------------- order and shapes


def test_steps_come_in_the_order_of_the_forward_pass(course):
    for model, tokenizer, prompt in _setups(course):
        walked = walk(model, tokenizer, prompt)
        n = model.config.n_layer
        assert [s.kind for s in walked.steps] == list(EMBEDDING_KINDS) + list(BLOCK_KINDS) * n + list(OUTPUT_KINDS)
        assert [s.index for s in walked.steps] == list(range(len(walked.steps)))
        assert len({s.key for s in walked.steps}) == len(walked.steps)
        assert [s.layer for s in walked.steps if s.layer is not None] == [i for i in range(n) for _ in BLOCK_KINDS]
        assert all(s.lesson in LESSONS and s.equation and "\n" not in s.equation for s in walked.steps)
        # Each step reads what an earlier step wrote: the residual stream is passed along block by block.
        for i in range(n):
            stream_in = walked.step("positions" if i == 0 else f"blocks.{i - 1}.resid_post").outputs[0]
            assert walked.step(f"blocks.{i}.ln1").inputs[0] is stream_in
            assert walked.step(f"blocks.{i}.resid_post").inputs[0] is walked.step(f"blocks.{i}.resid_mid").outputs[0]
        last = walked.step(f"blocks.{n - 1}.resid_post").outputs[0]
        assert walked.step("ln_f").inputs[0] is last


def test_shapes_follow_the_config_and_the_prompt(course):
    for model, tokenizer, prompt in _setups(course):
        c = model.config
        t, h, hs, v = len(tokenizer.encode(prompt)), c.n_head, c.head_size, c.vocab_size
        expected = {
            "tokens": [(t,)],
            "embedding": [(t, c.n_embd)],
            "positions": [(t, c.n_embd)],
            "ln1": [(t, c.n_embd)],
            "qkv": [(h, t, hs)] * 3,
            "scores": [(h, t, t)],
            "mask": [(h, t, t)],
            "pattern": [(h, t, t)],
            "weighted": [(h, t, hs)],
            "proj": [(t, c.n_embd)],
            "resid_mid": [(t, c.n_embd)],
            "ln2": [(t, c.n_embd)],
            "mlp_up": [(t, 4 * c.n_embd)],
            "gelu": [(t, 4 * c.n_embd)],
            "mlp_down": [(t, c.n_embd)],
            "resid_post": [(t, c.n_embd)],
            "ln_f": [(t, c.n_embd)],
            "unembed": [(t, v)],
            "probs": [(v,)],
            "choice": [(1,)],
        }
        for step in walk(model, tokenizer, prompt).steps:
            assert [o.shape for o in step.outputs] == expected[step.kind], step.key
        assert walk(model, tokenizer, prompt).step("blocks.0.qkv").outputs[0].symbols == "(H, T, hs)"


# --------------------------------------------------------------------------- the choice, append and repeat


def test_greedy_choice_is_the_argmax_of_the_shown_probabilities(course):
    model, tokenizer = course
    walked = walk(model, tokenizer, "What will be")
    logits = _reference_capture(model, walked.ids)["logits"][0, -1].double()
    assert torch.allclose(walked.probs, logits.softmax(-1)) and abs(float(walked.probs.sum()) - 1) < 1e-9
    assert walked.chosen_id == int(walked.probs.argmax())
    assert walked.chosen == " "  # the course's model after "What will be" (lesson 00 shows it)


def test_append_and_repeat_walks_the_next_token_as_generation_does(course):
    model, tokenizer = course
    walked = walk(model, tokenizer, "What will be")
    for _ in range(4):
        after = walked.next()
        assert after.ids == walked.ids + [walked.chosen_id]
        assert after.steps[0].outputs[0].values.tolist() == after.ids
        walked = after
    assert walked.text == "What will be the"  # seed 000's "What will be" -> "the", one token per pass
    greedy = generate(model, tokenizer.encode("What will be"), 4, greedy=True).tolist()
    assert walked.ids == greedy


def test_sampled_choice_is_repeatable_and_drawn_from_the_shown_probabilities(tiny_model):
    model, tokenizer = tiny_model
    first = walk(model, tokenizer, "abc", temperature=1.5, seed=3)
    again = walk(model, tokenizer, "abc", temperature=1.5, seed=3)
    assert first.chosen_id == again.chosen_id
    logits = _reference_capture(model, first.ids)["logits"][0, -1].double()
    assert torch.allclose(first.probs, (logits / 1.5).softmax(-1))
    assert "/ 1.5" in first.step("probs").equation and "seed" in first.step("choice").equation
    # Over many seeds, each token is chosen about as often as its shown probability says.
    draws = torch.tensor([walk(model, tokenizer, "abc", temperature=1.5, seed=s).chosen_id for s in range(300)])
    counts = torch.bincount(draws, minlength=model.config.vocab_size) / 300
    assert (counts - first.probs).abs().max() < 0.08


def test_append_and_repeat_stops_when_the_context_is_full(tiny_model):
    model, tokenizer = tiny_model
    walked = walk_ids(model, tokenizer, [1] * model.config.block_size)
    with pytest.raises(ValueError, match="context is full.*block_size=16"):
        walked.next()


def test_the_walk_leaves_the_model_as_it_was(tiny_model):
    model, tokenizer = tiny_model
    model.train()
    walk(model, tokenizer, "abc")
    assert model.training
    model.eval()
    walk(model, tokenizer, "abc")
    assert not model.training


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_explained(tiny_model):
    model, tokenizer = tiny_model
    with pytest.raises(ValueError, match="prompt is empty"):
        walk(model, tokenizer, "")
    with pytest.raises(ValueError, match="prompt cannot be encoded.*'é'"):
        walk(model, tokenizer, "café")
    with pytest.raises(ValueError, match="17 tokens but the model reads at most block_size=16"):
        walk(model, tokenizer, "a" * 17)
    with pytest.raises(TypeError, match="prompt must be a str"):
        walk(model, tokenizer, [1, 2])
    with pytest.raises(ValueError, match="temperature must be > 0"):
        walk(model, tokenizer, "abc", temperature=0)
    with pytest.raises(TypeError, match="model must be a course_lib.model.GPT"):
        walk("model", tokenizer, "abc")
    with pytest.raises(ValueError, match="the tokenizer has 4 tokens but the model's vocab_size is 32"):
        walk(model, SortTask().tokenizer, "abc")
    with pytest.raises(ValueError, match="token id 40 is out of range"):
        walk_ids(model, tokenizer, [1, 40])
    with pytest.raises(ValueError, match="ids is empty"):
        walk_ids(model, tokenizer, [])
