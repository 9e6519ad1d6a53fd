"""course_lib.embeddings: hand-computed small cases, clear errors, and the real pretrained table."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from bad_input_support import Bad, assert_refused, table
from embedding_support import TOY_MATRIX, TOY_VOCAB

from course_lib import embeddings as emb
from course_lib.embeddings import (
    EmbeddingError,
    EmbeddingTable,
    LearnedPositions,
    MultiPieceWordError,
    UnknownWordError,
    add_positions,
    cosine_matrix,
    cosine_similarity,
    one_hot,
    pca_2d,
    sinusoidal_positions,
)
from course_lib.show import figures, widgets


def test_one_hot_by_hand():
    np.testing.assert_array_equal(one_hot([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(one_hot(1, 2), [[0, 1]])
    assert one_hot(np.array([3, 3]), 5).shape == (2, 5)


def test_one_hot_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"token id 5 is out of range at ids\[1\]: valid values go from 0 to 3"):
        one_hot([0, 5], 4)
    with pytest.raises(TypeError, match="ids must be integer token ids, not str"):
        one_hot("hi", 4)
    with pytest.raises(TypeError, match=r"ids must hold integer token ids; ids\[0\] is the float 1.5"):
        one_hot([1.5], 4)
    with pytest.raises(ValueError, match="vocab_size must be a positive int, got 0"):
        one_hot([0], 0)


def test_cosine_by_hand():
    assert cosine_similarity([1, 0], [1, 1]) == pytest.approx(1 / math.sqrt(2))
    assert cosine_similarity([3, 4], [4, -3]) == pytest.approx(0.0)
    assert cosine_similarity([1, 2], [-2, -4]) == pytest.approx(-1.0)
    assert cosine_similarity([2, 0], [5, 0]) == pytest.approx(1.0)  # lengths do not matter


def test_cosine_errors():
    with pytest.raises(ValueError, match="same length, got 2 and 3"):
        cosine_similarity([1, 0], [1, 0, 0])
    with pytest.raises(ValueError, match="undefined for a zero vector"):
        cosine_similarity([0, 0], [1, 0])
    with pytest.raises(ValueError, match="a must be a 1-D array, got shape"):
        cosine_similarity([[1, 0]], [1, 0])


def test_cosine_matrix_by_hand():
    sims = cosine_matrix(TOY_MATRIX)
    assert sims.shape == (4, 4)
    np.testing.assert_allclose(np.diag(sims), 1.0)
    assert sims[0, 3] == pytest.approx(1 / math.sqrt(2))
    assert sims[0, 2] == pytest.approx(-1.0)
    np.testing.assert_allclose(sims, sims.T)
    with pytest.raises(ValueError, match="same number of columns"):
        cosine_matrix(np.ones((2, 3)), np.ones((2, 4)))


def test_pca_of_points_on_a_line_keeps_everything_on_the_first_axis():
    points = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [3.0, 6.0, 0.0]])
    coords, explained = pca_2d(points)
    np.testing.assert_allclose(explained, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(coords[:, 1], 0.0, atol=1e-12)
    # distances along the line are kept, centred on the middle; the sign is fixed (increasing)
    np.testing.assert_allclose(coords[:, 0], np.array([-1.5, -0.5, 0.5, 1.5]) * math.sqrt(5))


def test_pca_needs_two_points():
    with pytest.raises(ValueError, match="at least 2 points, got 1"):
        pca_2d(np.ones((1, 3)))


def test_sinusoidal_positions_by_hand():
    pe = sinusoidal_positions(3, 4)
    # position 0: sin(0) = 0 and cos(0) = 1 in every pair
    np.testing.assert_allclose(pe[0], [0, 1, 0, 1])
    # position 1: the second pair's frequency is 1 / 10000 ** (2 / 4) = 1 / 100
    np.testing.assert_allclose(pe[1], [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)], rtol=1e-6)
    np.testing.assert_allclose(pe[2, :2], [math.sin(2), math.cos(2)], rtol=1e-6)
    assert pe.dtype == np.float32


def test_sinusoidal_positions_odd_width_and_uniqueness():
    pe = sinusoidal_positions(50, 5)
    assert pe.shape == (50, 5)
    np.testing.assert_allclose(pe[:, 4], np.sin(np.arange(50) / 10000 ** (4 / 5)), rtol=1e-5, atol=1e-7)
    assert len({tuple(np.round(row, 5)) for row in pe}) == 50  # every position has its own pattern
    with pytest.raises(ValueError, match="dim must be a positive int"):
        sinusoidal_positions(4, 0)
    with pytest.raises(TypeError, match="n_positions must be an int, got float 2.5"):
        sinusoidal_positions(2.5, 4)


def test_learned_positions_are_seeded_small_and_bounded():
    table = LearnedPositions(8, 4, seed=0)
    again = LearnedPositions(8, 4, seed=0)
    np.testing.assert_array_equal(table.weight, again.weight)
    assert table.weight.shape == (8, 4) and abs(float(table.weight.std()) - 0.02) < 0.01
    np.testing.assert_array_equal(table([2, 0]), table.weight[[2, 0]])
    np.testing.assert_array_equal(table(np.arange(3)), table.weight[:3])
    with pytest.raises(EmbeddingError, match="position 8 is past the end of this table: it has 8 rows"):
        table([7, 8])
    assert "8 positions x 4 dimensions" in repr(table)


def test_order_is_lost_without_positions_and_found_with_them():
    hi, world = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    forwards, backwards = np.stack([hi, world]), np.stack([world, hi])
    # without positions: the same set of vectors (a permutation), so any order-blind summary is identical
    np.testing.assert_array_equal(np.sort(forwards, axis=0), np.sort(backwards, axis=0))
    pe = sinusoidal_positions(2, 2)
    with_pos_f, with_pos_b = add_positions(forwards, pe), add_positions(backwards, pe)
    np.testing.assert_allclose(with_pos_f[0], hi + pe[0])
    assert not np.allclose(np.sort(with_pos_f, axis=0), np.sort(with_pos_b, axis=0))


def test_add_positions_checks_shapes():
    with pytest.raises(ValueError, match="same width, got 3 and 2"):
        add_positions(np.ones((2, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="each of the 5 tokens, got only 4"):
        add_positions(np.ones((5, 2)), np.ones((4, 2)))


def test_lookup_equals_one_hot_times_matrix(toy):
    np.testing.assert_array_equal(toy.lookup([3, 0]), [[1, 1], [1, 0]])
    np.testing.assert_array_equal(toy.one_hot_lookup([3, 0]), toy.lookup([3, 0]))
    np.testing.assert_array_equal(toy.vector("b"), [0, 1])
    np.testing.assert_allclose(toy.unit_vector("d"), [1 / math.sqrt(2), 1 / math.sqrt(2)], rtol=1e-6)
    assert toy.id_of("c") == 2 and "d" in toy and "z" not in toy
    assert (toy.vocab_size, toy.dim, len(toy)) == (4, 2, 4)
    assert repr(toy) == "EmbeddingTable('toy': 4 entries x 2 dimensions)"


def test_hi_world_rows_as_in_the_seed():
    vocab = [f"token{i}" for i in range(10_000)]
    vocab[15], vocab[3256] = "Hi", "world"
    matrix = np.random.default_rng(0).normal(size=(10_000, 8))
    table = EmbeddingTable(vocab, matrix)
    ids = [table.id_of("Hi"), table.id_of("world")]
    assert ids == [15, 3256]
    hot = table.one_hot(ids)
    assert hot.shape == (2, 10_000) and hot.sum() == 2
    np.testing.assert_allclose(table.one_hot_lookup(ids), matrix[[15, 3256]], rtol=1e-6)


def test_neighbours_by_hand(toy):
    assert [t for t, _ in toy.neighbours("a", k=3)] == ["d", "b", "c"]
    sims = dict(toy.neighbours("a", k=3))
    assert sims["d"] == pytest.approx(1 / math.sqrt(2)) and sims["b"] == pytest.approx(0.0)
    assert toy.neighbours("a", k=1, exclude_query=False) == [("a", pytest.approx(1.0))]
    assert [t for t, _ in toy.neighbours([0.0, 2.0], k=2)] == ["b", "d"]  # a vector query
    assert [t for t, _ in toy.neighbours("a", k=2, exclude=["d"])] == ["b", "c"]


def test_analogy_by_hand(royal):
    result = royal.analogy("king", "man", "woman", k=2, expected="queen")
    # (-0.293, 1, 0.707) against queen (0, 0.707, 0.707): (0.707 + 0.5) / 1.2592 = 0.9586
    assert result.ranked[0][0] == "queen" and result.ranked[0][1] == pytest.approx(0.9586, abs=1e-4)
    assert result.rank == 1
    assert "[PAD]" not in [t for t, _ in royal.neighbours("queen", k=4)]  # special entries never show
    assert "king - man + woman ~ queen (0.959)" in str(result) and "match number 1" in str(result)
    # the inputs are excluded, so 'apple' is the runner-up, not 'woman'
    assert result.ranked[1][0] == "apple"
    assert royal.analogy("king", "man", "woman", k=2, expected="apple").rank == 2


def test_analogy_rejects_an_input_as_the_expected_answer(royal):
    with pytest.raises(EmbeddingError, match="'woman' is one of the inputs"):
        royal.analogy("king", "man", "woman", k=1, expected="woman")


def test_direction_and_coordinates_by_hand(royal):
    d = royal.direction([("man", "woman")])
    np.testing.assert_allclose(d, [-1 / math.sqrt(2), 1 / math.sqrt(2), 0])
    coords = royal.coordinates(["man", "woman"], [d, [0, 0, 1]])
    np.testing.assert_allclose(coords, [[-1 / math.sqrt(2), 0], [1 / math.sqrt(2), 0]])
    with pytest.raises(EmbeddingError, match="adds no new direction"):
        royal.coordinates(["man"], [d, 2 * d])
    with pytest.raises(EmbeddingError, match="cancel out"):
        royal.direction([("man", "woman"), ("woman", "man")])


def test_project_2d_uses_the_words_vectors(royal):
    coords, explained = royal.project_2d(["man", "woman", "king", "queen"])
    assert coords.shape == (4, 2) and 0 < explained.sum() <= 1
    with pytest.raises(ValueError, match="at least 2 words"):
        royal.project_2d(["man"])


def test_random_like_keeps_shape_and_vocabulary(toy):
    rnd = toy.random_like(seed=1)
    assert rnd.vocab == toy.vocab and rnd.matrix.shape == toy.matrix.shape
    assert not np.allclose(rnd.matrix, toy.matrix)
    np.testing.assert_array_equal(rnd.matrix, toy.random_like(seed=1).matrix)


def test_a_table_of_characters_looks_up_whitespace_entries():
    chars = ["a", " ", "\n", "b"]
    table = EmbeddingTable(chars, [[1.0, 0.0], [0.0, 1.0], [0.1, 1.0], [1.0, 0.2]], name="chars")
    assert table.id_of(" ") == 1 and table.id_of("\n") == 2 and "\n" in table
    assert [t for t, _ in table.neighbours("\n", k=2)] == [" ", "b"]  # itself left out
    assert [t for t, _ in table.neighbours(" a ", k=1)] == ["b"]  # not an entry as written: stripped as before
    with pytest.raises(EmbeddingError, match="word is empty"):
        table.vector("\t")  # whitespace that is not an entry is still refused


# Worked out by hand. Cosines: rows 0 and 1 are each other's nearest (0.994); row 2 (0, 1) is
# closer to row 1 (0.1 / 0.906 = 0.110) than to row 3 (0.1 / 1.005 = 0.0995); row 3 points
# left, so its only positive cosine is with row 2.
CLASS_VECTORS = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.1]])


CLASS_LABELS = ["A", "A", "B", "B"]


def test_nearest_other_by_hand():
    np.testing.assert_array_equal(emb.nearest_other(CLASS_VECTORS), [1, 0, 1, 2])
    np.testing.assert_array_equal(emb.nearest_other(np.ones((3, 2))), [1, 0, 0])  # ties: lowest index
    with pytest.raises(ValueError, match="at least 2 rows"):
        emb.nearest_other(np.ones((1, 2)))


def test_same_class_neighbour_rate_by_hand():
    assert emb.same_class_neighbour_rate(CLASS_VECTORS, CLASS_LABELS) == {"A": 1.0, "B": 0.5}
    assert emb.same_class_neighbour_rate(CLASS_VECTORS, CLASS_LABELS, by_class=False) == 0.75
    # an unlabelled row next to row 2 steals its neighbour: row 2 now misses, and row 4 is not scored
    vectors = np.vstack([CLASS_VECTORS, [[0.05, 1.0]]])
    labels = [*CLASS_LABELS, None]
    np.testing.assert_array_equal(emb.nearest_other(vectors), [1, 0, 4, 2, 2])
    assert emb.same_class_neighbour_rate(vectors, labels) == {"A": 1.0, "B": 0.5}
    assert emb.same_class_neighbour_rate(vectors, ["A", None, "B", "B", None]) == {"A": 0.0, "B": 0.5}
    # a class with one member has no partner to find
    assert emb.same_class_neighbour_rate(CLASS_VECTORS, ["A", "A", "B", "C"]) == {"A": 1.0, "B": 0.0, "C": 0.0}


def test_chance_same_class_rate_by_hand():
    assert emb.chance_same_class_rate(CLASS_LABELS) == {"A": pytest.approx(1 / 3), "B": pytest.approx(1 / 3)}
    # five rows, a class of three and a class of two: 2/4 and 1/4; overall (3 * 2/4 + 2 * 1/4) / 5
    rates = emb.chance_same_class_rate(["x", "y", "x", "y", "x"])
    assert rates == {"x": 0.5, "y": 0.25}
    assert emb.chance_same_class_rate(["x", "y", "x", "y", "x"], by_class=False) == pytest.approx(0.4)
    assert emb.chance_same_class_rate(["x", "x", None]) == {"x": 0.5}


def test_class_rates_refuse_bad_labels():
    with pytest.raises(ValueError, match="one label per row: 4 rows but 3 labels"):
        emb.same_class_neighbour_rate(CLASS_VECTORS, ["A", "A", "B"])
    with pytest.raises(TypeError, match="labels must be a list"):
        emb.same_class_neighbour_rate(CLASS_VECTORS, "AABB")
    with pytest.raises(ValueError, match="all None"):
        emb.same_class_neighbour_rate(CLASS_VECTORS, [None] * 4)
    with pytest.raises(ValueError, match="at least 2 rows"):
        emb.chance_same_class_rate(["A"])


def test_character_class():
    classes = [emb.character_class(c) for c in "aEy7\n ?_"]
    assert classes == [
        "lower-case vowel",
        "upper-case letter",
        "lower-case consonant",
        "digit",
        "whitespace",
        "whitespace",
        "punctuation",
        "punctuation",
    ]
    assert set(classes) == set(emb.CHARACTER_CLASSES)
    with pytest.raises(ValueError, match="single character, got 2"):
        emb.character_class("ab")
    with pytest.raises(TypeError, match="char must be a str, got int"):
        emb.character_class(3)
    with pytest.raises(ValueError, match="no upper or lower case"):
        emb.character_class("中")


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="one row per vocabulary entry: the vocabulary has 2 entries but the matrix"):
        EmbeddingTable(["a", "b"], np.ones((3, 2)))
    with pytest.raises(ValueError, match="matrix must be a 2-D array"):
        EmbeddingTable(["a"], np.ones(3))
    with pytest.raises(ValueError, match="lists 'a' twice"):
        EmbeddingTable(["a", "a"], np.ones((2, 2)))
    with pytest.raises(TypeError, match="entry 1 is int"):
        EmbeddingTable(["a", 7], np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        EmbeddingTable(["a"], np.array([[np.nan, 1.0]]))


def test_unknown_word_suggests_close_entries():
    table = EmbeddingTable(["tower", "towel", "power", "cat"], np.eye(4))
    with pytest.raises(UnknownWordError, match="'towr' is not in the vocabulary") as info:
        table.vector("towr")
    assert "tower" in info.value.suggestions and "Close entries: tower" in str(info.value)


def test_word_pieces_are_explained_and_optionally_averaged():
    vocab = ["tower", "##s", "sky", "##scraper", "hi"]
    table = EmbeddingTable(vocab, np.eye(5), lowercase=True, piece_prefix="##")
    assert table.pieces("Towers") == ["tower", "##s"]
    assert table.pieces("SKYSCRAPER") == ["sky", "##scraper"]
    with pytest.raises(
        MultiPieceWordError, match=r"splits it into 2 pieces \['tower', '##s'\].*multi_piece='mean'"
    ) as e:
        table.vector("towers")
    assert e.value.pieces == ["tower", "##s"]
    np.testing.assert_allclose(table.vector("towers", multi_piece="mean"), [0.5, 0.5, 0, 0, 0])
    with pytest.raises(UnknownWordError, match="nor spelled with its word-pieces"):
        table.vector("xyz")
    assert table.pieces("Hi") == ["hi"] and table.pieces("hí") == ["hi"]  # lower-cased, accents dropped
    with pytest.raises(ValueError, match="multi_piece must be 'error' or 'mean'"):
        table.vector("hi", multi_piece="sum")


def test_empty_and_non_text_queries(toy):
    with pytest.raises(EmbeddingError, match="word is empty"):
        toy.vector("   ")
    with pytest.raises(EmbeddingError, match="word is empty"):
        toy.neighbours("")
    with pytest.raises(TypeError, match="word must be a str, got int"):
        toy.id_of(3)
    with pytest.raises(EmbeddingError, match="all zeros"):
        toy.neighbours([0.0, 0.0])


def test_k_is_checked(toy):
    with pytest.raises(EmbeddingError, match="k=4 is larger than the vocabulary: toy has 4 entries, 3 of which"):
        toy.neighbours("a", k=4)
    with pytest.raises(ValueError, match="k must be a positive int, got 0"):
        toy.neighbours("a", k=0)
    with pytest.raises(TypeError, match="k must be an int, got float 2.0"):
        toy.neighbours("a", k=2.0)


def test_wrong_shapes_are_named(toy):
    with pytest.raises(ValueError, match="query must have 2 numbers .* got 3"):
        toy.neighbours([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match=r"token id 9 is out of range at ids\[0\]"):
        toy.lookup([9])


@pytest.fixture(scope="module")
def minilm():
    return emb.load_pretrained()


def test_pretrained_has_the_documented_shape_and_is_loaded_once():
    emb._load_pretrained.cache_clear()
    table = emb.load_pretrained()
    assert table.matrix.shape == (30_522, 384) and table.matrix.dtype == np.float32
    assert emb.load_pretrained() is table  # cached: the lessons call it in several cells


def test_pretrained_one_hot_lookup_and_special_entries(minilm):
    ids = [minilm.id_of("hi"), minilm.id_of("world")]
    np.testing.assert_array_equal(minilm.one_hot_lookup(ids), minilm.lookup(ids))
    assert minilm.vocab[0] == "[PAD]" and not minilm.searchable[0]
    assert minilm.id_of("Tower") == minilm.id_of("tower")


def test_pretrained_neighbours_of_tower(minilm):
    top = [t for t, _ in minilm.neighbours("tower", 10)]
    assert top[0] == "towers" and {"skyscraper", "building"} <= set(top)


@pytest.mark.parametrize(
    ("a", "b", "c", "expected", "worst_rank"),
    [
        ("king", "man", "woman", "queen", 1),
        ("nephew", "man", "woman", "niece", 1),
        ("paris", "france", "germany", "berlin", 1),
        ("tokyo", "japan", "france", "paris", 1),
        ("paris", "france", "italy", "rome", 3),
    ],
)
def test_pretrained_analogies(minilm, a, b, c, expected, worst_rank):
    assert minilm.analogy(a, b, c, expected=expected).rank <= worst_rank


def test_pretrained_gender_offsets_are_aligned(minilm):
    offset = minilm.vector("woman") - minilm.vector("man")
    assert cosine_similarity(offset, minilm.vector("niece") - minilm.vector("nephew")) > 0.2
    random_table = minilm.random_like(seed=0)
    assert "towers" not in [t for t, _ in random_table.neighbours("tower", 10)]


def test_pretrained_positions_shape():
    positions = emb.load_pretrained_positions()
    assert positions.shape == (512, 384) and positions.dtype == np.float32


@pytest.fixture
def no_open_figures():
    plt.close("all")
    yield
    plt.close("all")


def _labels(ax):
    return ax.get_title(), ax.get_xlabel(), ax.get_ylabel()


def test_word_map_draws_labelled_points_and_arrows(no_open_figures):
    ax = figures.word_map(np.array([[0, 0], [1, 1], [2, 0]]), ["a", "b", "c"], "t", "x", "y", arrows=[("a", "b")])
    assert _labels(ax) == ("t", "x", "y")
    assert {t.get_text() for t in ax.texts} >= {"a", "b", "c"}
    with pytest.raises(ValueError, match="names a word that is not among the points"):
        figures.word_map(np.zeros((2, 2)), ["a", "b"], "t", "x", "y", arrows=[("a", "z")])
    with pytest.raises(ValueError, match=r"coords must have shape \(2, 2\)"):
        figures.word_map(np.zeros((3, 2)), ["a", "b"], "t", "x", "y")


def test_vectors_and_dot_product_picture(no_open_figures):
    ax = figures.vectors_2d({"a": (1, 0), "b": (0, 2)}, "vectors")
    assert ax.get_xlim() == pytest.approx((-2.4, 2.4)) and ax.get_title() == "vectors"
    ax = figures.dot_product_picture([2, 0], [0, 1])
    assert ax.get_title().startswith("a · b = +0.00    cos θ = +0.00    θ = 90°")
    ax = figures.dot_product_picture([1, 1], [-2, -2])
    assert "cos θ = -1.00" in ax.get_title() and "θ = 180°" in ax.get_title()
    assert "no angle" in figures.dot_product_picture([0, 0], [1, 0]).get_title()
    with pytest.raises(ValueError, match="2-D vectors"):
        figures.dot_product_picture([1, 0, 0], [1, 0])


def test_figure_png_and_text_html(no_open_figures):
    fig, _ = plt.subplots()
    png = widgets.figure_png(fig)
    assert png.startswith(b"\x89PNG") and not plt.get_fignums()
    assert widgets.text_html("a < b") == '<pre class="course-text" style="font-size:13px; margin:4px 0">a &lt; b</pre>'


def test_live_view_renders_first_then_on_every_change(no_open_figures):
    import ipywidgets

    n = ipywidgets.IntSlider(value=1, description="n")
    word = ipywidgets.Text(value="x", description="w")
    box = widgets.live_view(lambda n, w: f"<p>{w * n}</p>", {"n": n, "w": word})
    controls, view, message = box.children
    assert view.value == "<p>x</p>" and list(controls.children) == [n, word] and message.value == ""
    n.value = 3
    assert view.value == "<p>xxx</p>"
    word.value = "ab"
    assert view.value == "<p>ababab</p>"
    with pytest.raises(ValueError, match="at least one widget"):
        widgets.live_view(str, {})
    with pytest.raises(TypeError, match="HTML \\(str\\) or a Matplotlib Figure, got int"):
        widgets.live_view(lambda n: 5, {"n": ipywidgets.IntSlider()})


NAN, INF = float("nan"), float("inf")


TOY = EmbeddingTable(TOY_VOCAB, TOY_MATRIX, name="toy")


def _with_nan(shape, where):
    a = np.ones(shape)
    a[where] = NAN
    return a


BAD_INPUTS = table(
    Bad("nan-query", lambda: TOY.neighbours([NAN, 0.0]), ValueError, "query", "contains NaN at index 0"),
    Bad("inf-query", lambda: TOY.neighbours(np.array([1.0, INF])), ValueError, "query", "contains +inf at index 1"),
    Bad("nan-tensor-query", lambda: TOY.neighbours(torch.tensor([NAN, 1.0])), ValueError, "query", "NaN at index 0"),
    Bad("nan-similarity", lambda: TOY.similarity("a", [0.0, NAN]), ValueError, "b", "NaN at index 1"),
    Bad("nan-cosine", lambda: cosine_similarity([NAN, 1.0], [1.0, 1.0]), ValueError, "a", "NaN at index 0"),
    Bad("text-cosine", lambda: cosine_similarity(["x"], ["y"]), TypeError, "a", "must hold real numbers"),
    Bad("nan-cosine-matrix", lambda: cosine_matrix(_with_nan((2, 2), (1, 0))), ValueError, "x", "NaN at index (1, 0)"),
    Bad("inf-cosine-matrix-y", lambda: cosine_matrix(np.ones((2, 2)), np.full((1, 2), INF)), ValueError, "y", "+inf"),
    Bad("nan-pca", lambda: pca_2d(_with_nan((3, 2), (2, 1))), ValueError, "points", "NaN at index (2, 1)"),
    Bad("bool-id", lambda: one_hot([True], 4), TypeError, "ids[0]", "is the bool True"),
    Bad("whole-float-id", lambda: one_hot([2.0], 4), TypeError, "ids[0] is the float 2.0", "int()"),
    Bad("float-id-array", lambda: one_hot(np.array([1.0]), 4), TypeError, "ids", "got dtype float64"),
    Bad("nested-ids", lambda: one_hot([[1, 2]], 4), ValueError, "ids", "must be 0-D or 1-D, got shape (1, 2)"),
    Bad("float-vocab-size", lambda: one_hot([1], 4.0), TypeError, "vocab_size", "must be an int, got float"),
    Bad("bool-vocab-size", lambda: one_hot([1], True), TypeError, "vocab_size", "got bool"),
    Bad("negative-id", lambda: TOY.lookup([-1]), ValueError, "ids[0]", "token id -1 is out of range"),
    Bad("bool-tensor-ids", lambda: TOY.lookup(torch.tensor([True])), TypeError, "ids", "torch.bool"),
    Bad(
        "negative-position",
        lambda: LearnedPositions(8, 4)([-1]),
        ValueError,
        "positions[0]",
        "position -1 is out of range",
    ),
    Bad("float-position", lambda: LearnedPositions(8, 4)([1.5]), TypeError, "positions[0]", "is the float 1.5"),
    Bad("negative-std", lambda: LearnedPositions(8, 4, std=-1.0), ValueError, "std", "must be >= 0"),
    Bad("nan-std", lambda: LearnedPositions(8, 4, std=NAN), ValueError, "std", "finite number"),
    Bad("float-max-positions", lambda: LearnedPositions(8.0, 4), TypeError, "max_positions", "must be an int"),
    Bad("text-base", lambda: sinusoidal_positions(4, 4, base="10"), TypeError, "base", "must be a number, got str"),
    Bad("inf-base", lambda: sinusoidal_positions(4, 4, base=INF), ValueError, "base", "finite number"),
    Bad("nan-base", lambda: sinusoidal_positions(4, 4, base=NAN), ValueError, "base", "finite number"),
    Bad(
        "nan-table",
        lambda: EmbeddingTable(["a"], np.array([[1.0, NAN]])),
        ValueError,
        "matrix",
        "contains NaN at index (0, 1)",
    ),
    Bad("text-table", lambda: EmbeddingTable(["a"], np.array([["x", "y"]])), TypeError, "matrix", "dtype <U1"),
    Bad("nan-axis", lambda: TOY.coordinates(["a"], [[NAN, 1.0]]), ValueError, "axes[0]", "NaN at index 0"),
    Bad("nan-vectors", lambda: add_positions(_with_nan((2, 2), 0), np.ones((2, 2))), ValueError, "vectors", "NaN"),
    Bad("inf-positions", lambda: add_positions(np.ones((2, 2)), np.full((2, 2), INF)), ValueError, "positions", "+inf"),
    Bad("nan-nearest", lambda: emb.nearest_other(_with_nan((3, 2), (1, 1))), ValueError, "vectors", "NaN"),
    Bad(
        "nan-neighbour-rate",
        lambda: emb.same_class_neighbour_rate(_with_nan((2, 2), 0), ["A", "B"]),
        ValueError,
        "vectors",
        "NaN",
    ),
    Bad("bool-k", lambda: TOY.neighbours("a", k=True), TypeError, "k", "must be an int, got bool"),
)


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_inputs_are_refused(case):
    assert_refused(case)


def test_numpy_and_torch_ids_are_accepted(toy):
    rows = toy.matrix[[1, 2]]
    for ids in (np.array([1, 2]), np.array([1, 2], dtype=np.uint8), torch.tensor([1, 2]), [np.int64(1), np.int16(2)]):
        np.testing.assert_array_equal(toy.lookup(ids), rows)
    np.testing.assert_array_equal(toy.lookup(np.int64(3)), toy.matrix[[3]])
    assert one_hot(np.int64(2), np.int64(4)).tolist() == [[0, 0, 1, 0]]
    assert len(toy.neighbours("a", k=np.int64(2))) == 2
    table = LearnedPositions(np.int64(8), 4)
    np.testing.assert_array_equal(table(np.array([1, 7])), table.weight[[1, 7]])
