"""MyReLU, the notes' custom autograd function: torch.autograd.gradcheck in float64, and the same
outputs and gradients as torch.relu, alone and inside the two-layer net."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the PyTorch track needs: pip install -e '.[torch]'")

from torch.autograd import gradcheck  # noqa: E402

from tinyvision.torch.autograd import MyReLU, my_relu_two_layer_fc  # noqa: E402
from tinyvision.torch.barebones import random_weight, train_part2, two_layer_fc  # noqa: E402


def away_from_zero(*shape, seed=0):
    """float64 normals at least 1e-2 from 0, so gradcheck's steps (1e-6) never cross the kink."""
    x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    return torch.where(x.abs() < 1e-2, torch.full_like(x, 0.5), x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_forward_is_max_of_x_and_zero_in_the_input_dtype(dtype):
    x = torch.randn(3, 4, 5, dtype=dtype)
    out = MyReLU.apply(x)
    assert out.dtype == dtype and out.shape == x.shape
    np.testing.assert_array_equal(out.numpy(), np.maximum(x.numpy(), 0))


def test_gradcheck_in_float64():
    x = away_from_zero(4, 6).requires_grad_()
    assert gradcheck(MyReLU.apply, (x,), eps=1e-6, atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_backward_equals_torch_relu_gradient_including_at_exact_zeros(dtype):
    x = torch.randn(6, 7, dtype=dtype)
    x[0, :3] = 0.0  # torch.relu passes no gradient at 0; neither may MyReLU
    x[1, 0] = -0.0
    dout = torch.randn(6, 7, dtype=dtype)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    MyReLU.apply(ours).backward(dout)
    torch.relu(theirs).backward(dout)
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert ours.grad.dtype == dtype
    assert not ours.grad[0, :3].any()


def test_autograd_records_the_custom_backward():
    out = MyReLU.apply(torch.randn(3, requires_grad=True))
    assert type(out.grad_fn).__name__ == "MyReLUBackward"


def test_two_layer_net_with_my_relu_passes_gradcheck():
    x = away_from_zero(3, 2, 2, 2, seed=1)
    torch.manual_seed(2)
    w1, w2 = random_weight((8, 5), dtype=torch.float64), random_weight((5, 3), dtype=torch.float64)
    assert gradcheck(lambda a, b: my_relu_two_layer_fc(x, [a, b]), (w1, w2), eps=1e-6, atol=1e-8)


def test_two_layer_net_with_my_relu_has_the_scores_and_gradients_of_torch_relu():
    x = torch.randn(4, 3, 3, dtype=torch.float64)
    torch.manual_seed(3)
    ours = [random_weight((9, 6), dtype=torch.float64), random_weight((6, 4), dtype=torch.float64)]
    theirs = [w.detach().clone().requires_grad_() for w in ours]
    scores, expected = my_relu_two_layer_fc(x, ours), two_layer_fc(x, theirs)
    np.testing.assert_array_equal(scores.detach().numpy(), expected.detach().numpy())
    dscores = torch.randn(4, 4, dtype=torch.float64)
    scores.backward(dscores)
    expected.backward(dscores)
    for name, a, b in zip(("w1", "w2"), ours, theirs, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-13, err_msg=name)


def test_training_with_my_relu_follows_training_with_torch_relu_step_for_step():
    generator = torch.Generator().manual_seed(4)
    batches = [
        (
            torch.randn(8, 2, 3, 3, generator=generator),
            torch.randint(0, 3, (8,), generator=generator),
        )
        for _ in range(5)
    ]
    torch.manual_seed(5)
    ours = [random_weight((18, 7), dtype=torch.float64), random_weight((7, 3), dtype=torch.float64)]
    theirs = [w.detach().clone().requires_grad_() for w in ours]
    losses = train_part2(my_relu_two_layer_fc, ours, 0.1, batches, verbose=False)
    expected = train_part2(two_layer_fc, theirs, 0.1, batches, verbose=False)
    np.testing.assert_allclose(losses, expected, rtol=1e-12)
    assert losses[-1] != losses[0]
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
