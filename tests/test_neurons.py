"""course_lib.neurons: scoring a trained model's MLP neurons against properties of the text."""

import numpy as np
import pytest
import torch

from course_lib import mlp as M
from course_lib import neurons


def test_char_features():
    f = neurons.char_features("Ab\nc e.\nHI.\n")
    assert f["capital letter"].tolist() == [c.isupper() for c in "Ab\nc e.\nHI.\n"]
    assert np.flatnonzero(f["after newline"]).tolist() == [3, 8]
    assert np.flatnonzero(f["vowel"]).tolist() == [0, 5, 9]  # A, e, I
    assert np.flatnonzero(f["after space"]).tolist() == [5]
    assert np.flatnonzero(f["punctuation"]).tolist() == [6, 10]
    assert np.flatnonzero(f["upper-case line"]).tolist() == [8, 9, 10, 11]
    assert np.flatnonzero(f["inside a word"]).tolist() == [1, 9]


def test_auc_hand_computed():
    assert neurons.auc([3.0, 2.0, 1.0, 0.0], [1, 1, 0, 0]) == 1.0
    assert neurons.auc([0.0, 1.0, 2.0, 3.0], [1, 1, 0, 0]) == 0.0
    assert neurons.auc([1.0, 1.0, 1.0, 1.0], [1, 0, 1, 0]) == 0.5  # ties count half
    # positives {3, 1}, negatives {2, 0}: pairs won 3>2, 3>0, 1>0, lost 1<2 -> 3/4
    assert neurons.auc(np.array([3.0, 2.0, 1.0, 0.0]), np.array([True, False, True, False])) == 0.75
    assert neurons.auc(torch.tensor([2.0, 1.0, 1.0]), torch.tensor([True, True, False])) == 0.75


def test_neuron_scores_and_finding_a_planted_neuron():
    text = "The cat.\nA dog sat.\nBy the sea\nOn the hill.\nIt ran.\n" * 3
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(len(text), 6)) * 0.1
    after_nl = neurons.char_features(text, ["after newline"])["after newline"]
    acts[after_nl, 4] += 2.0  # neuron 4 fires at the first character of a line
    caps = neurons.char_features(text, ["capital letter"])["capital letter"]
    acts[caps, 1] += 1.0  # neuron 1 fires on capitals (which includes most line starts)
    s = neurons.neuron_scores(acts, after_nl)
    assert s["auc"][4] == 1.0 and round(float(s["difference"][4]), 1) == 2.0
    found = neurons.find_feature_neurons(acts, text, ["after newline", "capital letter", "vowel"])
    by_feature = {f.feature: f for f in found}
    assert by_feature["after newline"].neuron == 4 and by_feature["capital letter"].neuron == 1
    assert by_feature["capital letter"].auc == 1.0 and by_feature["vowel"].auc < 0.9
    assert found[0].auc >= found[-1].auc
    assert "neuron    4 ~ 'after newline': AUC 1.000" in str(by_feature["after newline"])
    top3 = neurons.find_feature_neurons(torch.from_numpy(acts), text, ["after newline"], top_k=3)
    assert [f.neuron for f in top3][0] == 4 and len(top3) == 3


def test_record_neurons_reads_long_texts_in_windows(tiny_model):
    model, tokenizer = tiny_model
    text = "abc def.\nABC ghij klm nop qrs tuv"  # 33 characters: three windows of up to 16
    acts = neurons.record_neurons(model, tokenizer, text, 1)
    assert acts.shape == (33, 32)
    capture = {}
    with torch.no_grad():
        model(torch.tensor([tokenizer.encode(text[16:32])]), capture=capture)
    np.testing.assert_allclose(acts[16:32], capture["blocks.1.mlp.post"][0].numpy())
    pre = neurons.record_neurons(model, tokenizer, text[:5], 0, after_gelu=False)
    np.testing.assert_allclose(
        M.gelu(pre, "tanh"), neurons.record_neurons(model, tokenizer, text[:5], 0), rtol=1e-5, atol=1e-6
    )
    every = neurons.record_neurons(model, tokenizer, text, None)
    assert every.shape == (2, 33, 32)
    np.testing.assert_allclose(every[1], acts, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="layer must be an int in 0..1"):
        neurons.record_neurons(model, tokenizer, text, 2)


NAN, INF = float("nan"), float("inf")


X, W_UP, W_DOWN = np.ones(2), np.ones((8, 2)), np.ones((2, 8))
