"""Tests for CaptioningTransformer: loss gradients (numerical, float64), parity with a PyTorch
re-implementation of the course's model, sampling (greedy, beam search against brute force),
overfitting 50 digit-strip captions, and errors at the public boundary."""

import itertools
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from tinyvision.classifiers.transformer import CaptioningTransformer
from tinyvision.data.digit_strips import load_digit_strips
from tinyvision.gradient_check import eval_numerical_gradient, rel_error


@pytest.fixture(autouse=True)
def single_threaded_blas():
    """These matrices are tiny: multithreaded BLAS on a shared machine only adds contention."""
    with threadpool_limits(limits=1):
        yield


WORDS = ["<NULL>", "<START>", "<END>", "a", "b", "c"]
WORD_TO_IDX = {w: i for i, w in enumerate(WORDS)}


def tiny_model(dropout=0.0, seed=0, **kwargs):
    options = dict(
        input_dim=5, wordvec_dim=6, num_heads=2, num_layers=2, max_length=6,
        dropout=dropout, dim_feedforward=7, dtype=np.float64, seed=seed,
    )  # fmt: skip
    options.update(kwargs)
    model = CaptioningTransformer(WORD_TO_IDX, **options)
    rng = np.random.default_rng(seed + 100)
    # Larger than the 0.02 initialisation, so every path carries a visible gradient.
    for name, value in model.params.items():
        model.params[name] = value + rng.standard_normal(value.shape) * 0.5
    return model


def tiny_batch():
    rng = np.random.default_rng(1)
    features = rng.standard_normal((3, 5))
    captions = np.array([[1, 3, 4, 2, 0], [1, 5, 2, 0, 0], [1, 3, 3, 4, 2]])
    return features, captions


@pytest.mark.parametrize("dropout, num_layers", [(0.0, 2), (0.3, 1)])
def test_loss_gradients_match_numerical_gradients(dropout, num_layers):
    model = tiny_model(dropout, num_layers=num_layers)
    model.dropout_seed = 5  # the same masks at every call, so finite differences are valid
    features, captions = tiny_batch()
    loss, grads = model.loss(features, captions)
    assert set(grads) == set(model.params)
    errors = {}
    for name, value in model.params.items():
        numeric = eval_numerical_gradient(
            lambda _: model.loss(features, captions)[0], value, verbose=False
        )
        if np.max(np.abs(numeric)) < 1e-9:
            # Cross-attention to a single memory token has softmax weight 1 whatever its
            # query/key maps are, so those gradients are exactly zero.
            np.testing.assert_allclose(grads[name], 0, atol=1e-12, err_msg=name)
        else:
            errors[name] = float(np.max(np.abs(grads[name] - numeric)))
    # Absolute bound 1e-8 for a loss of order 1 with gradient entries up to ~1 (measured
    # ~3e-9): element-wise rel_error is dominated by finite-difference noise on near-zero
    # entries through two stacked decoder layers. The PyTorch test below checks to ~1e-10.
    assert max(errors.values()) < 1e-8, errors
    assert len(errors) > 20 * num_layers


def torch_attention(state, prefix, query, key, value, num_heads, attn_mask=None):
    def linear(x, name):
        return F.linear(x, state[f"{prefix}{name}.weight"], state[f"{prefix}{name}.bias"])

    N, S, E = query.shape
    T = key.shape[1]
    D = E // num_heads
    q = linear(query, "query").view(N, S, num_heads, D).transpose(1, 2)
    k = linear(key, "key").view(N, T, num_heads, D).transpose(1, 2)
    v = linear(value, "value").view(N, T, num_heads, D).transpose(1, 2)
    scores = q @ k.transpose(2, 3) / D**0.5
    if attn_mask is not None:
        scores = scores.masked_fill(attn_mask == 0, float("-inf"))
    return linear((torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(N, S, E), "proj")


def torch_course_loss(state, features, captions, num_heads, num_layers, null):
    """The course's CaptioningTransformer.forward plus its masked temporal softmax loss."""
    captions_in = torch.from_numpy(captions[:, :-1])
    captions_out = torch.from_numpy(captions[:, 1:])
    N, T = captions_in.shape
    E = state["embedding.weight"].shape[1]
    x = state["embedding.weight"][captions_in] + state["positional_encoding.pe"][:, :T]
    memory = F.linear(
        torch.from_numpy(features),
        state["visual_projection.weight"],
        state["visual_projection.bias"],
    ).unsqueeze(1)
    causal = torch.tril(torch.ones(T, T))
    for i in range(num_layers):
        p = f"transformer.layers.{i}."

        def norm(y, j, p=p):
            return F.layer_norm(
                y, (E,), state[f"{p}norm{j}.weight"], state[f"{p}norm{j}.bias"], 1e-5
            )

        x = norm(x + torch_attention(state, p + "self_attn.", x, x, x, num_heads, causal), 1)
        x = norm(x + torch_attention(state, p + "multihead_attn.", x, memory, memory, num_heads), 2)
        hidden = F.relu(F.linear(x, state[p + "linear1.weight"], state[p + "linear1.bias"]))
        x = norm(x + F.linear(hidden, state[p + "linear2.weight"], state[p + "linear2.bias"]), 3)
    scores = F.linear(x, state["output.weight"], state["output.bias"])
    losses = F.cross_entropy(scores.reshape(N * T, -1), captions_out.reshape(-1), reduction="none")
    return (losses * (captions_out.reshape(-1) != null)).sum() / N


def test_loss_and_gradients_match_course_torch_model():
    model = tiny_model()
    features, captions = tiny_batch()
    loss, grads = model.loss(features, captions)
    state = {k: torch.tensor(v, requires_grad=True) for k, v in model.to_torch_state_dict().items()}
    torch_loss = torch_course_loss(state, features, captions, 2, 2, WORD_TO_IDX["<NULL>"])
    torch_loss.backward()
    assert rel_error(loss, torch_loss.item()) < 1e-12
    params = model.params
    model.params = grads
    ours = model.to_torch_state_dict()
    model.params = params
    for name, tensor in state.items():
        if name == "positional_encoding.pe":
            continue
        np.testing.assert_allclose(
            ours[name], tensor.grad.numpy(), rtol=1e-9, atol=1e-13, err_msg=name
        )


def test_state_dict_uses_course_names():
    model = CaptioningTransformer(
        WORD_TO_IDX, input_dim=5, wordvec_dim=8, num_heads=2, num_layers=2, max_length=9, seed=0
    )
    state = model.to_torch_state_dict()
    assert state["visual_projection.weight"].shape == (8, 5)
    assert state["output.weight"].shape == (len(WORDS), 8)
    assert state["positional_encoding.pe"].shape == (1, 9, 8)
    assert state["transformer.layers.1.linear1.weight"].shape == (2048, 8)
    assert "transformer.layers.0.multihead_attn.value.bias" in state
    assert len(state) == 6 + 2 * (2 * 8 + 4 + 6)


def test_model_reads_weights_from_params_at_every_call():
    features, captions = tiny_batch()
    a, b = tiny_model(seed=0), tiny_model(seed=1)
    loss_b, _ = b.loss(features, captions)
    assert a.loss(features, captions)[0] != pytest.approx(loss_b)
    a.params = {k: v.copy() for k, v in b.params.items()}
    assert a.loss(features, captions)[0] == pytest.approx(loss_b, rel=1e-12)
    a.params["W_vocab"] = a.params["W_vocab"] * 0
    a.params["b_vocab"] = a.params["b_vocab"] * 0
    assert a.loss(features, captions)[0] == pytest.approx(9 * np.log(len(WORDS)) / 3)
    np.testing.assert_array_equal(
        a.sample(features, 4), np.full((3, 4), WORD_TO_IDX["<END>"]) * [1, 0, 0, 0]
    )


def test_dropout_follows_mode_and_seed():
    features, captions = tiny_batch()
    model = tiny_model(dropout=0.3)
    model.eval()
    clean = model.loss(features, captions)[0]
    assert model.loss(features, captions)[0] == clean
    model.train()
    noisy = [model.loss(features, captions)[0] for _ in range(2)]
    assert noisy[0] != noisy[1] and clean not in noisy
    model.dropout_seed = 3
    assert model.loss(features, captions)[0] == model.loss(features, captions)[0]
    again = tiny_model(dropout=0.3)
    assert [again.loss(features, captions)[0] for _ in range(2)] == noisy  # reproducible seed
    assert model.sample(features, 5).tolist() == model.sample(features, 5).tolist()


def test_float32_model_trains_in_float32():
    features, captions = tiny_batch()
    model = CaptioningTransformer(
        WORD_TO_IDX, input_dim=5, wordvec_dim=8, num_heads=2, dim_feedforward=8, seed=0
    )
    loss, grads = model.loss(features, captions)
    assert np.isfinite(loss)
    assert all(g.dtype == np.float32 for g in grads.values())


# ---------------------------------------------------------------------------- sampling


def test_greedy_sample_shape_and_padding_after_end():
    model = tiny_model()
    features, _ = tiny_batch()
    captions = model.sample(features, max_length=6)
    assert captions.shape == (3, 6) and captions.dtype == np.int64
    end, null, start = (WORD_TO_IDX[w] for w in ("<END>", "<NULL>", "<START>"))
    for row in captions.tolist():
        stop = row.index(end) if end in row else len(row)
        assert null not in row[:stop] and start not in row[:stop]
        assert all(w == null for w in row[stop + 1 :])


def caption_log_prob(model, feature, words):
    """Sum of the model's log-probabilities of words following <START> (eval mode)."""
    captions = np.array([[WORD_TO_IDX["<START>"], *words]])
    model.eval()
    try:
        return -model.loss(feature[None], captions)[0]
    finally:
        model.train()


def test_beam_search_with_a_wide_beam_finds_the_best_caption_by_brute_force():
    model = tiny_model(seed=3)
    features, _ = tiny_batch()
    T = 3
    end = WORD_TO_IDX["<END>"]
    allowed = [end, 3, 4, 5]
    beams = model.sample(features, max_length=T, beam_size=64)
    greedy = model.sample(features, max_length=T)
    for n in range(len(features)):
        candidates = []
        for length in range(1, T + 1):
            for words in itertools.product(allowed, repeat=length):
                if end in words[:-1] or (length < T and words[-1] != end):
                    continue
                candidates.append(list(words))
        scores = [caption_log_prob(model, features[n], w) for w in candidates]
        best = candidates[int(np.argmax(scores))]
        found = [w for w in beams[n].tolist() if w != WORD_TO_IDX["<NULL>"]]
        assert found == best
        greedy_words = [w for w in greedy[n].tolist() if w != WORD_TO_IDX["<NULL>"]]
        assert caption_log_prob(model, features[n], greedy_words) <= max(scores) + 1e-12


def test_overfit_fifty_digit_strip_captions():
    data = load_digit_strips(num_train=50, num_val=0, num_test=0, seed=0)
    features, captions = data["train_features"], data["train_captions"]
    model = CaptioningTransformer(
        data["word_to_idx"], input_dim=features.shape[1], wordvec_dim=32, num_heads=2,
        num_layers=2, max_length=8, dropout=0.0, dim_feedforward=64, dtype=np.float64, seed=0,
    )  # fmt: skip
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in model.params.items()}
    lr, beta1, beta2 = 3e-3, 0.9, 0.999
    start = time.perf_counter()
    for step in range(1, 301):
        loss, grads = model.loss(features, captions)
        if loss < 0.05:
            break
        for name, grad in grads.items():
            m, v = moments[name]
            m[:] = beta1 * m + (1 - beta1) * grad
            v[:] = beta2 * v + (1 - beta2) * grad**2
            update = lr * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + 1e-8)
            model.params[name] = model.params[name] - update
    sampled = model.sample(features, max_length=captions.shape[1] - 1)
    beam = model.sample(features[:10], max_length=captions.shape[1] - 1, beam_size=3)
    assert loss < 0.1
    assert time.perf_counter() - start < 40
    np.testing.assert_array_equal(sampled, captions[:, 1:])
    np.testing.assert_array_equal(beam, captions[:10, 1:])


# ------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "word_to_idx, kwargs, match",
    [
        ({"<NULL>": 0, "<START>": 1, "a": 1}, {}, "distinct indices"),
        (WORD_TO_IDX, {"wordvec_dim": 6, "num_heads": 4}, "multiple of num_heads"),
        (WORD_TO_IDX, {"wordvec_dim": 3, "num_heads": 3}, "even"),
        (WORD_TO_IDX, {"num_layers": 0}, "num_layers"),
        (WORD_TO_IDX, {"dropout": 1.5}, "dropout"),
    ],
)
def test_constructor_errors(word_to_idx, kwargs, match):
    options = {"input_dim": 5, "wordvec_dim": 8, "num_heads": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        CaptioningTransformer(word_to_idx, **options)


def test_loss_and_sample_input_errors():
    model = tiny_model()
    features, captions = tiny_batch()
    with pytest.raises(ValueError, match="empty batch"):
        model.loss(features[:0], captions[:0])
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        model.loss(features[:, :4], captions)
    with pytest.raises(ValueError, match="3 examples but captions has 2"):
        model.loss(features, captions[:2])
    with pytest.raises(ValueError, match="word id 6"):
        model.loss(features, np.where(captions == 4, 6, captions))
    with pytest.raises(ValueError, match="word id -1"):
        model.loss(features, captions - 1)
    with pytest.raises(ValueError, match="integer word ids"):
        model.loss(features, captions.astype(float))
    with pytest.raises(ValueError, match="T >= 2"):
        model.loss(features, captions[:, :1])
    with pytest.raises(ValueError, match="max_length=6"):
        model.loss(features, np.ones((3, 8), dtype=int))
    with pytest.raises(ValueError, match="max_length"):
        model.sample(features, max_length=7)
    with pytest.raises(ValueError, match="beam_size"):
        model.sample(features, max_length=4, beam_size=0)
    with pytest.raises(ValueError, match="empty batch"):
        model.sample(features[:0], max_length=4)


def test_loss_needs_only_null_and_sample_names_the_missing_tokens():
    course = {"<NULL>": 0, "cat": 2, "dog": 3}
    model = CaptioningTransformer(course, input_dim=5, wordvec_dim=8, num_heads=2, seed=0)
    features = np.random.default_rng(0).standard_normal((2, 5))
    loss, grads = model.loss(features, np.array([[1, 2, 0], [2, 1, 1]]))
    assert np.isfinite(loss) and set(grads) == set(model.params)
    with pytest.raises(ValueError, match=r"lacks the special token\(s\) \['<START>', '<END>'\]"):
        model.sample(features)
    no_end = CaptioningTransformer(
        {"<NULL>": 0, "<START>": 1, "a": 2}, input_dim=5, wordvec_dim=8, num_heads=2
    )
    with pytest.raises(ValueError, match=r"\['<END>'\]; sample starts from <START>"):
        no_end.sample(features, max_length=3)
