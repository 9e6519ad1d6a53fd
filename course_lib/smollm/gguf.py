"""Reading SmolLM2 from a GGUF file (llama.cpp's format): its metadata, its quantised weights, the model.

The weights are stored quantised: 4-bit integers plus a scale and an offset per block of 32 numbers
(Q4_1), the token embedding as 8-bit (Q8_0). :func:`load_from_gguf` expands them to float32 with the
``gguf`` package and assigns them to a :class:`course_lib.smollm.model.SmolLM`, so everything after
loading is ordinary float arithmetic in PyTorch. That takes seconds, so set-up does it once and keeps the
result (:mod:`course_lib.smollm.cache`), which is what ``smollm.load()`` opens.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from gguf import GGUFReader
from gguf.quants import dequantize

from course_lib.data import DataError, require_file
from course_lib.smollm.model import SmolLM, SmolLMConfig
from course_lib.smollm.tokenizer import SmolLMTokenizer

__all__ = ["GGUFError", "assemble", "config_from_metadata", "load_from_gguf", "open_gguf", "read_gguf", "read_metadata"]


class GGUFError(DataError, ValueError):
    """A GGUF file is missing, unreadable, or not a model this module can run; says which and why.

    A DataError like every damaged-file error of the course (and a ValueError, as it always was)."""


def config_from_metadata(meta: dict) -> SmolLMConfig:
    """The model's shape, read from a GGUF file's metadata (:func:`read_metadata`)."""
    arch = meta.get("general.architecture")
    if arch != "llama":
        raise GGUFError(f"the GGUF file holds a {arch!r} model; SmolLM runs 'llama'-architecture models")
    try:
        head_size = meta["llama.embedding_length"] // meta["llama.attention.head_count"]
        if meta.get("llama.rope.dimension_count", head_size) != head_size:
            raise GGUFError("rotary embeddings on only part of each head are not supported")
        return SmolLMConfig(
            vocab_size=len(meta["tokenizer.ggml.tokens"]),
            block_size=int(meta["llama.context_length"]),
            n_layer=int(meta["llama.block_count"]),
            n_head=int(meta["llama.attention.head_count"]),
            n_kv_head=int(meta["llama.attention.head_count_kv"]),
            n_embd=int(meta["llama.embedding_length"]),
            n_hidden=int(meta["llama.feed_forward_length"]),
            rope_base=float(meta["llama.rope.freq_base"]),
            norm_eps=float(meta["llama.attention.layer_norm_rms_epsilon"]),
        )
    except KeyError as err:
        raise GGUFError(f"the GGUF metadata lacks {err.args[0]!r}, which a llama model needs") from None


def open_gguf(path: str | Path):
    """A ``gguf.GGUFReader`` on ``path`` (memory-mapped: nothing is read until used), or a :class:`GGUFError`."""
    path = require_file(
        path, "a GGUF model file", "The course's copy is fetched by `make setup` (asset 'smollm2_gguf').", GGUFError
    )
    try:
        return GGUFReader(path)
    except Exception as err:  # gguf raises ValueError, struct.error, IndexError... on a damaged file
        raise GGUFError(
            f"{path.name} is not a readable GGUF file ({type(err).__name__}: {err}); it may be cut short or damaged: "
            "delete it and fetch it again (`make setup` for the course's copy)"
        ) from None


def read_metadata(reader, arrays: tuple[str, ...] = ()) -> dict:
    """Every metadata entry as a Python value. Long arrays (the vocabulary...) only when named in ``arrays``."""
    meta = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        if len(field.data) > 1 and key not in arrays:
            meta[key] = f"<array of {len(field.data)}>"
            continue
        meta[key] = field.contents()
    return meta


# GGUF tensor names -> this module's parameter names.
_GGUF_NAMES = {
    "token_embd": "tok_emb",
    "output_norm": "norm_f",
    "attn_norm": "attn_norm",
    "attn_q": "attn.q",
    "attn_k": "attn.k",
    "attn_v": "attn.v",
    "attn_output": "attn.o",
    "ffn_norm": "mlp_norm",
    "ffn_gate": "mlp.gate",
    "ffn_up": "mlp.up",
    "ffn_down": "mlp.down",
}


def _parameter_name(gguf_name: str) -> str:
    parts = gguf_name.split(".")  # "blk.3.attn_q.weight" or "token_embd.weight"
    if parts[0] == "blk" and len(parts) == 4 and parts[2] in _GGUF_NAMES:
        return f"blocks.{parts[1]}.{_GGUF_NAMES[parts[2]]}.{parts[3]}"
    if len(parts) == 2 and parts[0] in _GGUF_NAMES:
        return f"{_GGUF_NAMES[parts[0]]}.{parts[1]}"
    raise GGUFError(f"the GGUF file has a tensor {gguf_name!r} that a Llama-style model does not use")


def _dequantized(tensor) -> torch.Tensor:
    """One GGUF tensor as float32, in PyTorch's (out_features, in_features) order.

    GGUF lists dimensions innermost first ([576, 1536] for a 576 -> 1536 layer); the rows ``gguf`` hands
    back are already (1536, 576), which is exactly nn.Linear's layout.
    """
    array = dequantize(tensor.data, tensor.tensor_type)
    if not array.flags.writeable:  # float32 tensors come back as views of the read-only mapped file
        array = array.copy()
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def read_gguf(reader, name: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """The metadata (with the tokenizer's arrays) and every weight as float32, under this module's parameter names."""
    meta = read_metadata(reader, arrays=("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type"))
    state = {}
    for tensor in reader.tensors:
        try:
            weight = _dequantized(tensor)
        except Exception as err:
            raise GGUFError(f"tensor {tensor.name} in {name} cannot be read ({err}); is the file cut short?") from None
        state[_parameter_name(tensor.name)] = weight
    return meta, state


def assemble(meta: dict, state: dict[str, torch.Tensor], name: str) -> tuple[SmolLM, SmolLMTokenizer]:
    """The model (with the tensors of ``state``, not copies) and the tokenizer that ``meta`` describes.

    ``name`` is the file they came from, for the messages. Used for the GGUF file and for its float32 cache.
    """
    config = config_from_metadata(meta)
    tokenizer = SmolLMTokenizer.from_metadata(meta)
    model = SmolLM(config)
    expected = {param: tuple(p.shape) for param, p in model.named_parameters()}
    for param, weight in state.items():
        if param not in expected or tuple(weight.shape) != expected[param]:
            raise GGUFError(
                f"{name} has a tensor {param} of shape {tuple(weight.shape)}, expected {expected.get(param)} "
                f"for the configuration its metadata describes"
            )
    missing = sorted(set(expected) - set(state))
    if missing:
        raise GGUFError(f"{name} lacks {len(missing)} weight tensors, e.g. {missing[0]}")
    model.load_state_dict(state, assign=True)  # the meta placeholders become the real tensors, no copy
    model.requires_grad_(False)
    return model.eval(), tokenizer


def load_from_gguf(path: str | Path) -> tuple[SmolLM, SmolLMTokenizer]:
    """Build the model and its tokenizer from any SmolLM2-style GGUF file, dequantising it (seconds).

    The course loads its own copy with :func:`course_lib.smollm.load`, from the float32 cache that set-up
    makes of this function's result (:mod:`course_lib.smollm.cache`).
    """
    reader = open_gguf(path)
    meta, state = read_gguf(reader, Path(path).name)
    return assemble(meta, state, Path(path).name)
