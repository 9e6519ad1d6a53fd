"""course_lib.smollm.cache: the float32 copy of SmolLM2 that set-up keeps, opened memory-mapped by smollm.load().

The real GGUF file is dequantised once, into a course folder of its own (a temporary DATA_DIR whose
models/ links to the course's verified GGUF), so these tests never touch the course's own cache. The
damaged-file tests use a tiny cache of the same format: one layer of width 8 and the real vocabulary.
"""

from __future__ import annotations

import io
import json

import pytest
import torch

from course_lib import data, smollm
from course_lib.smollm import cache
from course_lib.smollm.gguf import config_from_metadata
from course_lib.smollm.model import SmolLM

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPT = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407, 19712]


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    """A course data folder with the verified GGUF file (linked) and no cache yet."""
    root = tmp_path_factory.mktemp("course_data")
    (root / "models").mkdir()
    gguf = data.asset_path("smollm2_gguf")
    (root / "models" / gguf.name).symlink_to(gguf)
    return root


@pytest.fixture
def in_course_dir(course_dir, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", course_dir)
    return course_dir


@pytest.fixture(scope="module")
def built(course_dir):
    """The first load() in a folder without a cache: what it printed, and the model it returned."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(data, "DATA_DIR", course_dir)
        said = io.StringIO()
        patch.setattr("sys.stdout", said)
        model, tok = cache.load.__wrapped__()  # load() itself is cached for the whole process
    return said.getvalue(), model, tok


@pytest.fixture(scope="module")
def direct():
    """The model dequantised straight from the GGUF file, as before the cache existed."""
    return smollm.load_from_gguf(data.asset_path("smollm2_gguf"))


def test_a_missing_cache_is_built_once_with_one_line_saying_so(built, course_dir):
    said, model, _ = built
    assert said.count("\n") == 1
    assert "smollm2-135m-instruct.float32.pt is missing; building it once from the GGUF file" in said
    path = course_dir / "cache" / cache.CACHE_NAME
    assert path.is_file() and path.stat().st_size > 4 * model.parameter_counts()["total"]
    assert not list(path.parent.glob("*.part"))  # the temporary file was renamed, nothing left behind


def test_a_second_load_reuses_the_cache_without_reading_the_gguf(built, in_course_dir, monkeypatch, capsys):
    def no_gguf(*args):
        raise AssertionError("the GGUF file was read although the cache is valid")

    monkeypatch.setattr(cache, "read_gguf", no_gguf)
    monkeypatch.setattr(cache, "open_gguf", no_gguf)
    model, tok = cache.load.__wrapped__()
    assert capsys.readouterr().out == ""
    assert tok.decode(tok.encode("Hello, world!")) == "Hello, world!"


def test_cached_weights_and_logits_are_bit_identical_to_dequantising(built, direct, in_course_dir):
    cached, cached_tok = cache.load_cached()
    model, tok = direct
    assert cached.config == model.config
    assert cached_tok.tokens == tok.tokens and cached_tok.merge_rank == tok.merge_rank
    assert cached_tok.chat_template == tok.chat_template
    cached_state, state = cached.state_dict(), model.state_dict()
    assert cached_state.keys() == state.keys()
    for name, weight in state.items():
        assert torch.equal(cached_state[name], weight), name
    with torch.no_grad():
        expected, _ = model(torch.tensor([PROMPT]))
        got, _ = cached(torch.tensor([PROMPT]))
    assert torch.equal(got, expected)


def test_set_up_keeps_a_good_cache_and_says_ok(built, in_course_dir):
    path = in_course_dir / "cache" / cache.CACHE_NAME
    before = path.stat().st_mtime_ns
    said = io.StringIO()
    cache.setup_cache(out=said)
    assert said.getvalue().split() == ["ok", f"cache/{cache.CACHE_NAME}"]
    assert path.stat().st_mtime_ns == before


def test_set_up_rebuilds_a_stale_cache_and_says_why(tmp_path, monkeypatch, meta):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    cache.write_cache(cache.cache_path(), meta, _tiny_tensors(meta), gguf_sha256="0" * 64)
    built = []

    def build(path):  # a tiny stand-in for the real build (which the tests above run)
        built.append(path)
        cache.write_cache(path, meta, _tiny_tensors(meta), gguf_sha256=data.ASSETS["smollm2_gguf"].sha256)

    monkeypatch.setattr(cache, "build_cache", build)
    said = io.StringIO()
    cache.setup_cache(out=said)
    assert built == [cache.cache_path()]
    lines = said.getvalue().splitlines()
    assert lines[0].split()[0] == "stale" and "was made from another GGUF file" in lines[0]
    assert lines[1].split()[:2] == ["built", f"cache/{cache.CACHE_NAME}"] and "MB of float32 weights" in lines[1]
    said = io.StringIO()
    cache.setup_cache(out=said)  # a second run keeps it
    assert said.getvalue().split() == ["ok", f"cache/{cache.CACHE_NAME}"] and len(built) == 1


def test_a_full_disk_while_writing_is_an_os_error_and_leaves_nothing(tmp_path, meta, monkeypatch):
    def full(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:778] . PytorchStreamWriter failed writing file")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(OSError, match="torch.save failed: .*PytorchStreamWriter failed writing file"):
        cache.write_cache(tmp_path / "full.pt", meta, _tiny_tensors(meta), gguf_sha256="a" * 64)
    assert list(tmp_path.iterdir()) == []


def test_course_set_up_runs_the_cache_step_in_the_same_data_folder(built, in_course_dir):
    said = io.StringIO()
    data.setup(["smollm2_gguf"], out=said)  # its child process reads COURSE_DATA_DIR = the patched DATA_DIR
    assert said.getvalue().splitlines()[-1].split() == ["ok", f"cache/{cache.CACHE_NAME}"]


def test_a_failing_cache_step_is_a_data_error_with_its_message(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)  # no GGUF file here: the step cannot build anything
    with pytest.raises(data.DataError, match=r"models/SmolLM2-135M-Instruct.Q4_1.gguf is missing.*make setup"):
        data._build_derived("course_lib.smollm.cache", force=False, out=io.StringIO())


def test_a_cache_made_from_another_gguf_is_rebuilt(built, in_course_dir, meta, capsys):
    path = in_course_dir / "cache" / cache.CACHE_NAME
    cache.write_cache(path, meta, _tiny_tensors(meta), gguf_sha256="0" * 64)  # stale: another file's checksum
    model, _ = cache.load.__wrapped__()
    said = capsys.readouterr().out
    assert "was made from another GGUF file (sha256 000000000000..., expected b179c9523d0e...)" in said
    assert "building it once" in said
    assert model.config == built[1].config
    cache.load_cached(path)  # the file was replaced by a good one


def test_when_the_cache_cannot_be_written_load_reads_the_gguf_and_says_how_to_fix(
    built, in_course_dir, monkeypatch, capsys
):
    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache, "cache_path", lambda: in_course_dir / "cache" / "absent.pt")
    monkeypatch.setattr(cache, "write_cache", read_only)
    model, _ = cache.load.__wrapped__()
    said = capsys.readouterr().out
    assert "cannot write" in said and "absent.pt (Permission denied); read from the GGUF file" in said
    assert "make setup" in said
    assert torch.equal(model.tok_emb.weight, built[1].tok_emb.weight)
    with pytest.raises(cache.CacheError, match=r"cannot write .*absent.pt \(Permission denied\).*make setup"):
        cache.setup_cache(out=io.StringIO())


def test_without_cache_or_gguf_the_error_names_the_gguf_and_make_setup(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    with pytest.raises(data.DataError, match=r"SmolLM2-135M-Instruct.Q4_1.gguf is missing.*make setup"):
        cache.load.__wrapped__()
    assert "is missing; building it once" in capsys.readouterr().out


# --------------------------------------------------------------------------- damaged files, on a tiny cache

TINY = {
    "llama.block_count": 1,
    "llama.embedding_length": 8,
    "llama.attention.head_count": 2,
    "llama.attention.head_count_kv": 1,
    "llama.feed_forward_length": 16,
    "llama.rope.dimension_count": 4,
}


@pytest.fixture(scope="module")
def meta(built, course_dir):
    """SmolLM2's own metadata (read from the built cache), resized to a one-layer model of width 8."""
    path = course_dir / "cache" / cache.CACHE_NAME
    return {**json.loads(torch.load(path, mmap=True, weights_only=True)["metadata"]), **TINY}


def _tiny_tensors(meta) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    shapes = {name: p.shape for name, p in SmolLM(config_from_metadata(meta)).named_parameters()}
    return {name: torch.randn(shape, generator=generator) for name, shape in shapes.items()}


@pytest.fixture
def tiny(tmp_path, meta):
    path = tmp_path / "tiny.pt"
    cache.write_cache(path, meta, _tiny_tensors(meta), gguf_sha256="a" * 64)
    return path


def test_a_tiny_cache_round_trips(tiny, meta):
    model, tok = cache.load_cached(tiny, gguf_sha256="a" * 64)
    cache.check_cache(tiny, gguf_sha256="a" * 64)
    assert model.config.n_layer == 1 and tok.vocab_size == 49152
    assert torch.equal(model.blocks[0].mlp.up.weight, _tiny_tensors(meta)["blocks.0.mlp.up.weight"])


def test_a_truncated_cache_cannot_be_read_and_says_so(tiny):
    tiny.write_bytes(tiny.read_bytes()[: tiny.stat().st_size // 2])  # an interrupted copy
    with pytest.raises(cache.CacheError, match=r"tiny.pt cannot be read \(.*\); it may be cut short"):
        cache.load_cached(tiny, gguf_sha256="a" * 64)


def test_a_file_that_is_not_a_cache_is_refused(tmp_path):
    scribbled = tmp_path / "scribbled.pt"
    scribbled.write_bytes(b"not a zip file" * 1000)
    with pytest.raises(cache.CacheError, match="scribbled.pt cannot be read"):
        cache.load_cached(scribbled, gguf_sha256="a" * 64)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.ones(3)}, other)
    with pytest.raises(cache.CacheError, match="other.pt is not a cache of SmolLM2's weights"):
        cache.load_cached(other, gguf_sha256="a" * 64)


def test_a_cache_for_another_gguf_is_stale(tiny):
    with pytest.raises(cache.CacheError, match=r"tiny.pt was made from another GGUF file \(sha256 aaaaaaaaaaaa"):
        cache.load_cached(tiny, gguf_sha256="b" * 64)


def _rewrite(path, **changes):
    """The cache at ``path`` saved again with some entries changed, its recorded digest kept."""
    payload = torch.load(path, weights_only=True)
    payload.update(changes)
    torch.save(payload, path)


def test_another_format_version_is_stale(tiny):
    _rewrite(tiny, version=cache.CACHE_VERSION + 1)
    with pytest.raises(cache.CacheError, match=f"tiny.pt has format version {cache.CACHE_VERSION + 1}; this course"):
        cache.load_cached(tiny, gguf_sha256="a" * 64)


def test_nan_or_infinity_in_the_weights_is_found(tiny, meta):
    for bad in (float("nan"), float("inf"), -float("inf")):
        tensors = _tiny_tensors(meta)
        tensors["blocks.0.mlp.up.weight"][3, 5] = bad
        _rewrite(tiny, tensors=tensors)
        with pytest.raises(cache.CacheError, match="tiny.pt holds NaN or infinite values in blocks.0.mlp.up.weight"):
            cache.load_cached(tiny, gguf_sha256="a" * 64)


def test_a_tensor_of_the_wrong_shape_type_or_name_is_found(tiny, meta):
    cases = {
        "shape": ({"blocks.0.attn.q.weight": torch.zeros(8, 9)}, r"does not hold a model.*attn.q.weight of shape"),
        "dtype": ({"norm_f.weight": torch.ones(8, dtype=torch.float16)}, r"holds norm_f.weight as torch.float16"),
        "missing": ({"norm_f.weight": None}, r"does not hold a model.*lacks 1 weight tensors, e.g. norm_f.weight"),
    }
    for change, pattern in cases.values():
        tensors = {**_tiny_tensors(meta), **change}
        _rewrite(tiny, tensors={name: t for name, t in tensors.items() if t is not None})
        with pytest.raises(cache.CacheError, match=pattern):
            cache.load_cached(tiny, gguf_sha256="a" * 64)


def test_set_up_finds_a_changed_weight_that_loading_does_not_check(tiny, meta):
    tensors = _tiny_tensors(meta)
    tensors["blocks.0.attn.o.weight"][0, 0] += 1.0  # finite and the right shape: only the digest shows it
    _rewrite(tiny, tensors=tensors)
    cache.load_cached(tiny, gguf_sha256="a" * 64)
    with pytest.raises(cache.CacheError, match="tiny.pt has been altered: its weights no longer match their sha256"):
        cache.check_cache(tiny, gguf_sha256="a" * 64)
