# Sent to a notebook's kernel by tests/test_browser_walkthrough.py: what the model computes, to compare
# with what the page's walkthrough shows.
#
# The test sends this file's text, then `print(_course_walkthrough_capture(model, tokenizer, text))` and
# `del _course_walkthrough_capture`. It runs in the notebook's own namespace, so it defines nothing but
# that one function and imports what it needs inside it (see fresh_view.py). The model runs once more,
# on its own, with a fresh capture dict: the values are the model's, not the widget's.


def _course_walkthrough_capture(model, tokenizer, text, extra_ids=()):
    import json

    import torch

    ids = list(tokenizer.encode(text)) + list(extra_ids)
    capture = {}
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.tensor([ids]), capture=capture)
    model.train(was_training)

    def last(values):
        # As the walkthrough's figures write it (data-last): the last position's row, at most 64 numbers.
        values = values.double()
        flat = values.reshape(-1) if values.dim() == 1 else values[..., -1, :].reshape(-1)
        return [round(float(v), 4) if torch.isfinite(v) else None for v in flat[:64]]

    found = {}
    for key, tensor in capture.items():
        values = tensor if key == "pos_emb" else tensor[0]  # pos_emb has no batch dimension
        found[key] = {"shape": list(values.shape), "last": last(values)}
    probs = torch.softmax(capture["logits"][0, -1].double(), dim=-1)
    found["p"] = {"shape": list(probs.shape), "last": last(probs)}
    return json.dumps({"ids": ids, "tensors": found, "chosen": int(probs.argmax())})
