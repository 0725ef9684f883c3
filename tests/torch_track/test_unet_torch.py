"""The NumPy U-Net against its PyTorch twin: parameter counts, float64 scores and gradients."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")

from tinyvision.nn import ConvTranspose2d, UNet  # noqa: E402
from tinyvision.torch.applications.unet import TorchUNet, load_numpy_state  # noqa: E402

_TORCH_LEAF = {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}


def _twins(batchnorm: bool, seed: int = 0) -> tuple[UNet, TorchUNet]:
    net = UNet(5, in_channels=3, channels=(3, 4, 6), batchnorm=batchnorm, seed=seed)
    rng = np.random.default_rng(seed)
    for name in list(net.buffers):  # running statistics other than the initial 0 and 1
        net.buffers[name] = rng.uniform(0.5, 1.5, net.buffers[name].shape)
    twin = TorchUNet(5, 3, (3, 4, 6), batchnorm=batchnorm).double()
    load_numpy_state(twin, net.state_dict())
    return net, twin


@pytest.mark.parametrize("batchnorm", [True, False])
def test_twins_have_equal_parameter_counts(batchnorm):
    net, twin = _twins(batchnorm)
    assert sum(p.size for _, p in net.named_parameters()) == sum(
        p.numel() for p in twin.parameters()
    )
    assert len(dict(net.named_parameters())) == len(list(twin.parameters()))


@pytest.mark.parametrize("batchnorm", [True, False])
def test_twins_agree_on_scores_loss_and_every_gradient(batchnorm):
    net, twin = _twins(batchnorm, seed=1)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((2, 3, 8, 12))
    y = rng.integers(-1, 5, size=(2, 8, 12))
    twin.eval()
    np.testing.assert_allclose(net.loss(X), twin(torch.tensor(X)).detach().numpy(), atol=1e-8)
    twin.train()
    loss, grads = net.loss(X, y)
    scores = twin(torch.tensor(X))
    expected = torch.nn.functional.cross_entropy(scores, torch.tensor(y), ignore_index=-1)
    expected.backward()
    assert loss == pytest.approx(expected.item(), abs=1e-10)
    torch_grads = {
        name.removeprefix("layers."): p.grad.numpy() for name, p in twin.named_parameters()
    }
    for name, grad in grads.items():
        head, _, leaf = name.rpartition(".")
        np.testing.assert_allclose(
            grad, torch_grads[f"{head}.{_TORCH_LEAF[leaf]}"], atol=1e-8, err_msg=name
        )


def test_conv_transpose_module_equals_torch_module():
    ours = ConvTranspose2d(3, 4, kernel_size=3, stride=2, padding=1, seed=0)
    theirs = torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.params["W"]))
        theirs.bias.copy_(torch.tensor(ours.params["b"]))
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(ours(x), theirs(torch.tensor(x)).detach().numpy(), atol=1e-12)


def test_a_state_of_other_widths_is_refused_by_name():
    net = UNet(5, in_channels=3, channels=(3, 4, 6), seed=0)
    with pytest.raises(ValueError, match="missing .*unknown"):
        load_numpy_state(TorchUNet(5, 3, (3, 4)).double(), net.state_dict())


def test_describe_counts_the_parameters_of_the_default_unets_twin():
    from tinyvision.config import TrainConfig, resolve_config
    from tinyvision.model_summary import describe_model
    from tinyvision.nn import total_parameters
    from tinyvision.segmentation import NUM_CLASSES

    config = resolve_config(TrainConfig(model="unet"))
    twin = TorchUNet(NUM_CLASSES, 3, config.channels, batchnorm=True)
    described = total_parameters(describe_model("unet").rows)
    assert described == sum(p.numel() for p in twin.parameters())
