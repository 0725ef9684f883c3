"""CaptioningRNN: gradients, agreement with PyTorch, overfitting, greedy and beam sampling.

Bounds: rel_error < 1e-6 against centred differences on every parameter (float64, small
dims; the loss sums O(10) terms, so round-off in the differences limits entries of ~1e-4 to
about 1e-7 relative precision); max |difference| < 1e-10 against the same model written with
torch ops (float64), which checks every entry tightly.
"""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from tinyvision.classifiers.rnn import CaptioningRNN
from tinyvision.gradient_check import eval_numerical_gradient, rel_error

SPECIAL = ["<NULL>", "<START>", "<END>"]
NULL, START, END = 0, 1, 2


def _vocab(num_words):
    return {w: i for i, w in enumerate(SPECIAL + [f"w{k}" for k in range(num_words)])}


def _captions(rng, N, T, V):
    """Rows: <START>, 1..T-2 random words, <END>, then <NULL> padding."""
    captions = np.full((N, T), NULL, dtype=np.int64)
    captions[:, 0] = START
    for n in range(N):
        length = int(rng.integers(1, T - 1))
        captions[n, 1 : length + 1] = rng.integers(3, V, size=length)
        captions[n, length + 1] = END
    return captions


def _small_model(cell_type, seed=0):
    model = CaptioningRNN(
        _vocab(5),
        input_dim=4,
        wordvec_dim=3,
        hidden_dim=5,
        cell_type=cell_type,
        dtype=np.float64,
        seed=seed,
    )
    # The course's tiny initial scales (W_embed / 100, zero biases) make many gradient entries
    # ~1e-6, where centred differences lose their relative precision; O(1) weights do not.
    rng = np.random.default_rng(seed + 100)
    for name, value in model.params.items():
        model.params[name] = rng.standard_normal(value.shape) * 0.7
    return model


# ---------------------------------------------------------------------------- construction


def test_parameters_follow_course_shapes_scales_and_dtype():
    model = CaptioningRNN(
        _vocab(997), input_dim=400, wordvec_dim=300, hidden_dim=200, cell_type="lstm", seed=0
    )
    p = model.params
    assert p["W_embed"].shape == (1000, 300) and p["W_proj"].shape == (400, 200)
    assert p["Wx"].shape == (300, 800) and p["Wh"].shape == (200, 800)
    assert p["b"].shape == (800,) and p["W_vocab"].shape == (200, 1000)
    assert all(v.dtype == np.float32 for v in p.values())
    for name in ("b_proj", "b", "b_vocab"):
        assert not p[name].any()
    for name, std in [
        ("W_embed", 1 / 100),
        ("W_proj", 1 / np.sqrt(400)),
        ("Wx", 1 / np.sqrt(300)),
        ("Wh", 1 / np.sqrt(200)),
        ("W_vocab", 1 / np.sqrt(200)),
    ]:
        assert p[name].std() == pytest.approx(std, rel=0.03)
    assert (model._null, model._start, model._end) == (NULL, START, END)
    again = CaptioningRNN(
        _vocab(997), input_dim=400, wordvec_dim=300, hidden_dim=200, cell_type="lstm", seed=0
    )
    assert all(np.array_equal(p[k], again.params[k]) for k in p)


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_float32_model_keeps_float32(cell_type):
    rng = np.random.default_rng(12)
    model = CaptioningRNN(
        _vocab(5), input_dim=4, wordvec_dim=3, hidden_dim=5, cell_type=cell_type, seed=0
    )
    loss, grads = model.loss(rng.standard_normal((3, 4)), _captions(rng, 3, 5, 8))
    assert np.isfinite(loss)
    assert all(
        grads[k].dtype == np.float32 and grads[k].shape == v.shape for k, v in model.params.items()
    )
    assert model.sample(rng.standard_normal((2, 4)), max_length=4, beam_size=3).shape == (2, 4)


# ------------------------------------------------------------------------------- gradients


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_loss_gradients_match_numerical(cell_type):
    rng = np.random.default_rng(1)
    model = _small_model(cell_type)
    features = rng.standard_normal((3, 4))
    captions = _captions(rng, 3, 6, 8)
    _, grads = model.loss(features, captions)
    for name, param in model.params.items():
        numerical = eval_numerical_gradient(
            lambda _: model.loss(features, captions)[0], param, verbose=False
        )
        assert rel_error(grads[name], numerical) < 1e-6, name


def _torch_loss(params, features, captions, cell_type):
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    h = torch.from_numpy(features) @ p["W_proj"] + p["b_proj"]
    c = torch.zeros_like(h)
    x = F.embedding(torch.from_numpy(captions[:, :-1]), p["W_embed"])
    states = []
    for t in range(x.shape[1]):
        a = x[:, t] @ p["Wx"] + h @ p["Wh"] + p["b"]
        if cell_type == "lstm":
            i, f, o, g = a.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        else:
            h = torch.tanh(a)
        states.append(h)
    scores = torch.stack(states, dim=1) @ p["W_vocab"] + p["b_vocab"]
    target = torch.from_numpy(captions[:, 1:])
    per_step = F.cross_entropy(
        scores.reshape(-1, scores.shape[-1]), target.reshape(-1), reduction="none"
    ).reshape(target.shape)
    loss = (per_step * (target != NULL)).sum() / captions.shape[0]
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in p.items()}


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_loss_and_gradients_match_torch(cell_type):
    rng = np.random.default_rng(2)
    model = _small_model(cell_type, seed=3)
    features = rng.standard_normal((4, 4))
    captions = _captions(rng, 4, 7, 8)
    loss, grads = model.loss(features, captions)
    loss_torch, grads_torch = _torch_loss(model.params, features, captions, cell_type)
    assert abs(loss - loss_torch) < 1e-10
    for name in model.params:
        assert np.max(np.abs(grads[name] - grads_torch[name])) < 1e-10, name


def test_null_targets_are_ignored():
    rng = np.random.default_rng(4)
    model = _small_model("rnn")
    features = rng.standard_normal((2, 4))
    captions = np.array([[START, 3, END, NULL, NULL], [START, 4, 5, END, NULL]])
    loss, _ = model.loss(features, captions)
    loss_trimmed, _ = model.loss(features, captions[:, :4])
    assert loss == pytest.approx(loss_trimmed, rel=1e-12)


# ------------------------------------------------------------------------------ overfitting


def _adam_fit(model, features, captions, lr=1e-2, max_iters=1000, target=0.05):
    m = {k: np.zeros_like(v) for k, v in model.params.items()}
    v = {k: np.zeros_like(val) for k, val in model.params.items()}
    for it in range(1, max_iters + 1):
        loss, grads = model.loss(features, captions)
        if loss < target:
            break
        for k, g in grads.items():
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g**2
            step = (m[k] / (1 - 0.9**it)) / (np.sqrt(v[k] / (1 - 0.999**it)) + 1e-8)
            model.params[k] -= lr * step
    return loss


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_overfits_fifty_captions_and_sampling_reproduces_them(cell_type):
    rng = np.random.default_rng(5)
    N, T, V = 50, 9, 20
    captions = _captions(rng, N, T, V)
    features = rng.standard_normal((N, 32))
    model = CaptioningRNN(
        _vocab(V - 3),
        input_dim=32,
        wordvec_dim=32,
        hidden_dim=64,
        cell_type=cell_type,
        dtype=np.float64,
        seed=0,
    )
    initial, _ = model.loss(features, captions)
    # Threaded BLAS only spin-waits on matrices this small when the cores are busy.
    with threadpool_limits(limits=1, user_api="blas"):
        final = _adam_fit(model, features, captions)
    assert final < 0.1 < initial
    samples = model.sample(features, max_length=T - 1)
    assert samples.shape == (N, T - 1) and samples.dtype == np.int64
    np.testing.assert_array_equal(samples, captions[:, 1:])


# --------------------------------------------------------------------------------- sampling


def _markov_model(transitions):
    """A model whose next-word distribution depends only on the previous word.

    With Wh = 0 and one-hot embeddings, h_t = tanh(3) * onehot(word_{t-1}), so setting
    W_vocab = log(transitions) / tanh(3) makes softmax(scores) = transitions[word_{t-1}].
    """
    V = transitions.shape[0]
    vocab = {w: i for i, w in enumerate(SPECIAL + ["a", "b", "c"][: V - 3])}
    model = CaptioningRNN(vocab, input_dim=2, wordvec_dim=V, hidden_dim=V, dtype=np.float64, seed=0)
    model.params.update(
        W_embed=3 * np.eye(V),
        Wx=np.eye(V),
        Wh=np.zeros((V, V)),
        b=np.zeros(V),
        W_vocab=np.log(transitions) / np.tanh(3),
        b_vocab=np.zeros(V),
    )
    return model


def _transitions():
    # Columns: <NULL>, <START>, <END>, a, b, c. Rows: the previous word.
    rows = {
        START: [1e-3, 1e-3, 1e-3, 0.5, 0.4, 0.097],
        3: [1e-3, 1e-3, 0.198, 0.3, 0.25, 0.25],
        4: [1e-3, 1e-3, 0.9, 0.05, 0.03, 0.018],
        5: [1e-3, 1e-3, 0.6, 0.2, 0.1, 0.098],
    }
    table = np.full((6, 6), 1 / 6)
    for word, probs in rows.items():
        table[word] = np.array(probs) / np.sum(probs)
    return table


def _log_prob(model, row):
    """Log-probability of a sampled row (padding stripped), scored by the training loss."""
    words = [w for w in row if w != NULL]
    loss, _ = model.loss(
        np.zeros((1, model.params["W_proj"].shape[0])), np.array([[START, *words]])
    )
    return -loss


def test_greedy_follows_the_most_likely_word_and_beam_finds_the_better_caption():
    model = _markov_model(_transitions())
    features = np.zeros((2, 2))
    greedy = model.sample(features, max_length=4)
    np.testing.assert_array_equal(greedy, [[3, 3, 3, 3]] * 2)
    beam = model.sample(features, max_length=4, beam_size=2)
    np.testing.assert_array_equal(beam, [[4, END, NULL, NULL]] * 2)
    assert _log_prob(model, beam[0]) == pytest.approx(np.log(0.4 * 0.9), rel=1e-9)
    assert _log_prob(model, beam[0]) > _log_prob(model, greedy[0])


def test_beam_size_one_equals_greedy():
    rng = np.random.default_rng(6)
    for cell_type in ("rnn", "lstm"):
        model = CaptioningRNN(
            _vocab(6),
            input_dim=5,
            wordvec_dim=4,
            hidden_dim=6,
            cell_type=cell_type,
            dtype=np.float64,
            seed=1,
        )
        model.params["W_vocab"] *= 4
        features = rng.standard_normal((8, 5)) * 3
        np.testing.assert_array_equal(
            model.sample(features, max_length=6, beam_size=1),
            model.sample(features, max_length=6),
        )


def test_wide_beam_is_exhaustive_on_a_tiny_vocabulary():
    rng = np.random.default_rng(7)
    model = CaptioningRNN(
        _vocab(2), input_dim=3, wordvec_dim=3, hidden_dim=4, dtype=np.float64, seed=2
    )
    model.params["W_vocab"] *= 3
    model.params["b_vocab"][END] = -0.5
    max_length = 3
    candidates = [
        [*seq[:k], END] for k in range(max_length) for seq in itertools.product([3, 4], repeat=k)
    ]
    candidates += [list(seq) for seq in itertools.product([3, 4], repeat=max_length)]
    beats_greedy = 0
    for n in range(6):
        features = rng.standard_normal((1, 3))

        def score(words, features=features):
            loss, _ = model.loss(features, np.array([[START, *words]]))
            return -loss

        best = max(candidates, key=score)
        found = model.sample(features, max_length=max_length, beam_size=8)[0]
        greedy = model.sample(features, max_length=max_length)[0]
        assert score([w for w in found if w != NULL]) == pytest.approx(score(best)), n
        beats_greedy += score(best) > score([w for w in greedy if w != NULL]) + 1e-12
    assert beats_greedy > 0


def test_sampling_never_emits_null_or_start_and_pads_after_end():
    model = _markov_model(_transitions())
    model.params["b_vocab"][[NULL, START]] = 50.0
    out = model.sample(np.zeros((1, 2)), max_length=5, beam_size=1)
    assert not np.isin(out[0], [START]).any()
    end = list(out[0]).index(END) if END in out[0] else len(out[0])
    assert NULL not in out[0, :end]
    assert np.all(out[0, end + 1 :] == NULL)


# ------------------------------------------------------------------------------ bad inputs


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="cell_type must be 'rnn' or 'lstm', got 'gru'"):
        CaptioningRNN(_vocab(3), cell_type="gru")
    with pytest.raises(ValueError, match=r"distinct indices >= 0; got repeated indices \[2\]"):
        CaptioningRNN({"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 2})
    with pytest.raises(ValueError, match="hidden_dim must be a positive integer"):
        CaptioningRNN(_vocab(3), hidden_dim=0)


def test_bad_loss_inputs():
    model = _small_model("rnn")
    rng = np.random.default_rng(8)
    features = rng.standard_normal((3, 4))
    captions = _captions(rng, 3, 5, 8)
    with pytest.raises(ValueError, match="features has 3 examples but captions has 2"):
        model.loss(features, captions[:2])
    with pytest.raises(ValueError, match="empty batch"):
        model.loss(features[:0], captions[:0])
    bad = captions.copy()
    bad[1, 2] = 8
    with pytest.raises(ValueError, match=r"word id 8, outside the vocabulary \[0, 8\)"):
        model.loss(features, bad)
    bad[1, 2] = -1
    with pytest.raises(ValueError, match="word id -1"):
        model.loss(features, bad)
    with pytest.raises(ValueError, match="integer word ids"):
        model.loss(features, captions.astype(float))
    with pytest.raises(ValueError, match=r"shape \(N, T\) with T >= 2"):
        model.loss(features, captions[:, :1])
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        model.loss(features[:, :3], captions)


def test_bad_sample_arguments():
    model = _small_model("lstm")
    features = np.zeros((2, 4))
    with pytest.raises(ValueError, match="beam_size must be a positive integer"):
        model.sample(features, beam_size=0)
    with pytest.raises(ValueError, match="max_length must be a positive integer"):
        model.sample(features, max_length=0)
    with pytest.raises(ValueError, match="empty batch"):
        model.sample(features[:0])


def test_loss_needs_only_null_and_sample_names_the_missing_tokens():
    # The course's own check: a vocabulary without <START>/<END> and with a gap in its indices.
    model = CaptioningRNN({"<NULL>": 0, "cat": 2, "dog": 3}, 4, 5, 6, dtype=np.float64, seed=0)
    features = np.random.default_rng(0).standard_normal((2, 4))
    captions = np.array([[1, 2, 0], [2, 1, 1]])
    loss, grads = model.loss(features, captions)
    assert np.isfinite(loss) and set(grads) == set(model.params)
    with pytest.raises(ValueError, match=r"lacks the special token\(s\) \['<START>', '<END>'\]"):
        model.sample(features)
    no_end = CaptioningRNN({"<NULL>": 0, "<START>": 1, "cat": 2}, 4, 5, 6, seed=0)
    with pytest.raises(ValueError, match=r"\['<END>'\]; sample starts from <START>, stops at"):
        no_end.sample(features)
    no_null = CaptioningRNN({"<START>": 0, "<END>": 1, "cat": 2}, 4, 5, 6, seed=0)
    with pytest.raises(ValueError, match=r"\['<NULL>'\]; loss masks"):
        no_null.loss(features, captions)
    gap = CaptioningRNN({"<NULL>": 0, "<START>": 1, "<END>": 7}, 4, 5, 6, seed=0)
    with pytest.raises(ValueError, match=r"indices \[7\] but the model scores only 3 words"):
        gap.sample(features)
