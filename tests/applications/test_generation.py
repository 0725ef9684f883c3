"""The VAE and the GAN of the digits: their losses against independent formulas, a few steps
on tiny data, the sample score on controlled probabilities, and both commands end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import entropy

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")
pytest.importorskip(
    "pytorch_lightning", reason="the PyTorch track needs: pip install -e '.[torch]'"
)

from tinyvision import generation  # noqa: E402
from tinyvision.cli import main  # noqa: E402
from tinyvision.data.digits import load_digits_data  # noqa: E402
from tinyvision.generation import sample_score  # noqa: E402
from tinyvision.torch.applications.gan import (  # noqa: E402
    build_gan,
    discriminator_loss,
    generator_loss,
)
from tinyvision.torch.applications.vae import (  # noqa: E402
    VAE,
    build_vae,
    kl_divergence,
    reconstruction_loss,
    reparameterize,
    vae_loss_terms,
)


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def quick_scorer(monkeypatch):
    """The sample scorer trained for 3 epochs instead of its default 30 (a few seconds less)."""
    monkeypatch.setattr(generation, "SCORER_EPOCHS", 3)


@pytest.fixture(scope="module")
def digits():
    data = load_digits_data(dtype=np.float32)
    return data["X_train"][:128], data["X_test"], data["y_test"]


# ---------------------------------------------------------------- VAE: the loss terms


def test_kl_matches_the_closed_form_of_torch_distributions_and_a_monte_carlo_estimate():
    generator = torch.Generator().manual_seed(0)
    mean = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    log_var = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    std = torch.exp(0.5 * log_var)
    expected = torch.distributions.kl_divergence(
        torch.distributions.Normal(mean, std), torch.distributions.Normal(0.0, 1.0)
    ).sum(dim=1)
    torch.testing.assert_close(kl_divergence(mean, log_var), expected)
    # KL = E_q[log q(z) - log p(z)], estimated from draws of q for the first row.
    q = torch.distributions.Normal(mean[0], std[0])
    z = q.sample((200_000,))
    estimate = (q.log_prob(z) - torch.distributions.Normal(0.0, 1.0).log_prob(z)).sum(1).mean()
    assert float(kl_divergence(mean[:1], log_var[:1])) == pytest.approx(float(estimate), rel=0.02)
    # The prior itself is at distance 0.
    assert float(kl_divergence(torch.zeros(1, 3), torch.zeros(1, 3))) == 0.0


def test_reconstruction_loss_is_the_summed_binary_cross_entropy():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 1, 8, 8))
    x = rng.uniform(size=(4, 1, 8, 8))
    p = 1.0 / (1.0 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).reshape(4, -1).sum(axis=1)
    got = reconstruction_loss(torch.as_tensor(logits), torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_reparameterisation_passes_the_gradient_to_mean_and_log_variance():
    generator = torch.Generator().manual_seed(2)
    mean = torch.randn(6, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    log_var = torch.randn(6, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    noise = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    weights = torch.randn(6, 4, generator=generator, dtype=torch.float64)
    z = reparameterize(mean, log_var, noise)
    (weights * z).sum().backward()
    # z = mean + exp(log_var / 2) * eps: dz/dmean = 1, dz/dlog_var = exp(log_var / 2) * eps / 2.
    torch.testing.assert_close(mean.grad, weights)
    torch.testing.assert_close(
        log_var.grad, weights * 0.5 * torch.exp(0.5 * log_var.detach()) * noise
    )
    torch.autograd.gradcheck(
        lambda m, v: reparameterize(m, v, noise), (mean.detach().requires_grad_(), log_var)
    )


def test_reparameterised_codes_have_the_posterior_mean_and_spread():
    mean = torch.tensor([[1.5, -2.0]], dtype=torch.float64).expand(100_000, 2)
    log_var = torch.tensor([[0.0, math.log(0.25)]], dtype=torch.float64).expand(100_000, 2)
    torch.manual_seed(3)
    z = reparameterize(mean, log_var)
    np.testing.assert_allclose(z.mean(0).numpy(), [1.5, -2.0], atol=0.02)
    np.testing.assert_allclose(z.std(0).numpy(), [1.0, 0.5], atol=0.02)


def test_the_reconstruction_term_alone_trains_the_encoder_through_the_sample():
    torch.manual_seed(4)
    net = VAE((1, 8, 8), (16,), latent_dim=2).double()
    x = torch.rand(8, 1, 8, 8, dtype=torch.float64)
    reconstruction, _ = vae_loss_terms(net, x)
    reconstruction.sum().backward()
    assert net.encoder[1][0].weight.grad.abs().sum() > 0
    assert net.log_var.weight.grad.abs().sum() > 0


def test_vae_loss_falls_in_a_few_steps(digits):
    images = torch.as_tensor(digits[0])
    torch.manual_seed(5)
    net = VAE((1, 8, 8), (64,), latent_dim=4)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        reconstruction, kl = vae_loss_terms(net, images)
        loss = (reconstruction + kl).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.8 * np.mean(losses[:5])


def test_vae_scores_are_reproducible_and_interpolation_ends_at_the_reconstructions(digits):
    _, images, _ = digits
    model = build_vae(
        (1, 8, 8),
        (32,),
        3,
        seed=0,
        dtype="float32",
        update_rule="adam",
        learning_rate=1e-3,
        weight_decay=0.0,
        lr_decay=1.0,
    )
    terms = model.loss_terms(images[:50])
    assert terms == model.loss_terms(images[:50])
    assert terms["loss"] == pytest.approx(terms["reconstruction_loss"] + terms["kl"])
    path = model.interpolate(images[0], images[1], steps=5)
    ends = model.reconstruct(images[:2])
    np.testing.assert_allclose(path[[0, -1]], ends, atol=1e-6)
    samples = model.sample(7, seed=1)
    assert samples.shape == (7, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, model.sample(7, seed=1))


# ---------------------------------------------------------------- GAN: the losses


def _log_sigmoid(v: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -v)


def test_gan_losses_match_their_formulas():
    rng = np.random.default_rng(6)
    real, fake = rng.normal(size=7), rng.normal(size=5)
    expected_d = -np.mean(_log_sigmoid(real)) - np.mean(_log_sigmoid(-fake))
    expected_g = -np.mean(_log_sigmoid(fake))
    got_d = discriminator_loss(torch.as_tensor(real), torch.as_tensor(fake))
    assert float(got_d) == pytest.approx(expected_d, rel=1e-12)
    assert float(generator_loss(torch.as_tensor(fake))) == pytest.approx(expected_g, rel=1e-12)


def test_the_non_saturating_loss_keeps_its_gradient_where_the_minimax_loss_loses_it():
    # D is sure the samples are fake (logit -8): log(1 - D(G(z))) is flat there, -log D(G(z))
    # is not.
    logits = torch.full((4,), -8.0, dtype=torch.float64, requires_grad=True)
    generator_loss(logits).backward()
    non_saturating = logits.grad.abs().mean()
    logits.grad = None
    torch.log1p(-torch.sigmoid(logits)).mean().backward()
    minimax = logits.grad.abs().mean()
    assert non_saturating > 0.99 / 4 and minimax < 1e-3 / 4


@pytest.mark.parametrize("architecture", ["mlp", "conv"])
def test_each_player_improves_in_a_few_steps(architecture, digits):
    real = torch.as_tensor(digits[0]) * 2 - 1
    torch.manual_seed(7)
    gan = build_gan(architecture, 8, hidden_dims=(32, 64), channels=(8, 16))
    z = torch.randn(len(real), 8)
    fake = gan.generator(z)
    assert fake.shape == real.shape and fake.abs().max() <= 1
    d_optimizer = torch.optim.Adam(gan.discriminator.parameters(), lr=2e-3)
    d_losses = []
    for _ in range(25):
        loss = discriminator_loss(gan.discriminator(real), gan.discriminator(fake.detach()))
        d_optimizer.zero_grad()
        loss.backward()
        d_optimizer.step()
        d_losses.append(loss.item())
    assert d_losses[-1] < 0.7 * d_losses[0]
    g_optimizer = torch.optim.Adam(gan.generator.parameters(), lr=2e-3)
    g_losses = []
    for _ in range(25):
        loss = generator_loss(gan.discriminator(gan.generator(z)))
        g_optimizer.zero_grad()
        loss.backward()
        g_optimizer.step()
        g_losses.append(loss.item())
    assert g_losses[-1] < 0.7 * g_losses[0]


def test_conv_gan_needs_two_widths():
    with pytest.raises(ValueError, match="two widths"):
        build_gan("conv", 4, channels=(8, 16, 32))


# ---------------------------------------------------------------- the sample score


def test_sample_score_of_one_confident_class():
    probabilities = np.full((20, 10), 0.005)
    probabilities[:, 3] = 0.955
    score = sample_score(probabilities)
    assert score.confident_fraction == 1.0
    assert score.class_counts == (0, 0, 0, 20, 0, 0, 0, 0, 0, 0)
    assert score.class_entropy == 0.0
    assert score.quality == 0.0  # one digit, however clear, is no generator of digits


def test_sample_score_of_an_even_spread_with_some_unsure_samples():
    rng = np.random.default_rng(8)
    labels = np.repeat(np.arange(10), 7)
    probabilities = np.full((70, 10), 0.05 / 9)
    probabilities[np.arange(70), labels] = 0.95
    unsure = rng.choice(70, size=21, replace=False)
    probabilities[unsure] = 0.5 / 9
    probabilities[unsure, labels[unsure]] = 0.5
    score = sample_score(probabilities)
    assert score.confident_fraction == pytest.approx(49 / 70)
    assert score.class_counts == (7,) * 10
    assert score.class_entropy == pytest.approx(entropy(np.full(10, 7)))
    assert score.class_entropy == pytest.approx(math.log(10))
    assert score.quality == pytest.approx(49 / 70)


def test_sample_score_entropy_of_uneven_counts_and_the_threshold_is_inclusive():
    counts = [5, 1, 0, 0, 2, 0, 0, 0, 0, 12]
    labels = np.repeat(np.arange(10), counts)
    probabilities = np.full((20, 10), 0.1 / 9)
    probabilities[np.arange(20), labels] = 0.9
    score = sample_score(probabilities)
    assert score.class_counts == tuple(counts)
    assert score.class_entropy == pytest.approx(entropy(counts))
    assert score.confident_fraction == 1.0  # exactly 0.9 counts as confident
    assert score.quality == pytest.approx(entropy(counts) / math.log(10))
    assert sample_score(probabilities, threshold=0.95).confident_fraction == 0.0


@pytest.mark.parametrize(
    ("probabilities", "message"),
    [
        (np.ones(10) / 10, "non-empty \\(N, C\\)"),
        (np.full((3, 10), 0.2), "sum to 1"),
        (np.array([[1.5, -0.5]]), "non-negative"),
    ],
)
def test_sample_score_rejects_what_is_not_probabilities(probabilities, message):
    with pytest.raises(ValueError, match=message):
        sample_score(probabilities)


def test_the_scorer_tells_real_digits_apart_and_sees_identical_images_as_one_class(
    quick_scorer, digits
):
    _, images, labels = digits
    classify = generation.digits_scorer()
    probabilities = classify(images)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert np.mean(probabilities.argmax(axis=1) == labels) > 0.8
    assert sample_score(probabilities).class_entropy > 2.0  # ten classes, evenly: ln 10 = 2.30
    assert sample_score(classify(np.zeros((30, 1, 8, 8)))).class_entropy == 0.0
    with pytest.raises(ValueError, match="8, 8"):
        classify(np.zeros((3, 1, 4, 4)))


# ---------------------------------------------------------------- the commands end to end


def test_vae_command_end_to_end(tmp_path, capsys, quick_scorer):
    out = tmp_path / "vae"
    tiny = ["--num-training", "128", "--hidden-dims", "32", "--latent-dim", "2"]
    assert main(["-q", "train", "--model", "vae", "--epochs", "3", *tiny, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "test KL" in printed and "test reconstruction" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    for split in ("val", "test"):
        assert metrics[f"{split}_loss"] == pytest.approx(
            metrics[f"{split}_reconstruction_loss"] + metrics[f"{split}_kl"]
        )
        assert 0 <= metrics[f"{split}_confident_fraction"] <= 1
    assert len(history["train_kl_history"]) == len(history["val_reconstruction_loss_history"]) == 3
    assert history["train_loss_history"][-1] < history["train_loss_history"][0]
    assert metrics["best_val_metric"] == pytest.approx(min(history["val_loss_history"]))
    for name in ("samples.png", "interpolation.png", "reconstructions.png", "vae_terms.png"):
        assert (out / name).stat().st_size > 0
    assert not (out / "accuracy.png").exists()
    assert main(["-q", "evaluate", str(out)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_gan_command_end_to_end(tmp_path, capsys, quick_scorer):
    out = tmp_path / "gan"
    tiny = ["--num-training", "128", "--architecture", "mlp", "--hidden-dims", "32,64"]
    assert main(["-q", "train", "--model", "gan", "--epochs", "2", *tiny, "--out", str(out)]) == 0
    assert "test samples confident" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    assert sum(metrics["test_class_counts"]) == generation.SAMPLES_PER_SPLIT
    assert 0 <= metrics["test_class_entropy"] <= math.log(10) + 1e-12
    assert len(history["val_sample_quality_history"]) == 2
    assert metrics["best_val_metric"] == pytest.approx(max(history["val_sample_quality_history"]))
    assert len(history["generator_loss_history"]) == len(history["loss_history"]) == 2 * 2
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["epoch_001.png", "epoch_002.png"]
    for name in ("samples.png", "gan_losses.png", "sample_score.png"):
        assert (out / name).stat().st_size > 0
    assert main(["-q", "evaluate", str(out)]) == 0
    assert "reproduced exactly" in capsys.readouterr().out


def test_generative_models_refuse_what_they_cannot_use(capsys):
    assert main(["train", "--model", "vae", "--dataset", "cifar10"]) != 0
    assert "choose one of digits" in capsys.readouterr().err
    assert main(["train", "--model", "vae", "--architecture", "conv"]) != 0
    assert "--architecture mlp" in capsys.readouterr().err
    assert main(["train", "--model", "gan", "--update-rule", "sgd"]) != 0
    assert "Adam" in capsys.readouterr().err
    assert main(["train", "--model", "gan", "--dropout", "0.3", "--augment"]) != 0
    assert "leave out --augment, --dropout" in capsys.readouterr().err
