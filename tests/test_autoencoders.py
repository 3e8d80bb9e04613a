"""Denoising and contractive autoencoders: corruption, costs against hand-written formulas, SGD, training."""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import pytest
import torch

from dltutorials.config import PROJECT_ROOT
from dltutorials.models.autoencoders import ContractiveAutoencoder, DenoisingAutoencoder
from dltutorials.models.layer import PretrainedLayer

MNIST_TRAIN = PROJECT_ROOT / "results" / "data" / "mnist" / "train.npz"


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors: one intra-op thread is faster, and immune to contention with other busy processes."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def with_optimizer(model: PretrainedLayer) -> PretrainedLayer:
    """Let ``update``/``sgd_step`` run outside a Trainer, as in tests/test_models.py."""
    optimizer = model.configure_optimizers()
    model.optimizers = lambda: type("Wrapped", (), {"optimizer": optimizer})()
    model.log = lambda *args, **kwargs: None
    return model


def hand_cross_entropy(x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Tutorial section 7.1: mean over the batch of -sum_k [x_k log z_k + (1 - x_k) log(1 - z_k)]."""
    return -(x * torch.log(z) + (1 - x) * torch.log(1 - z)).sum(1).mean()


def hand_hidden(model: PretrainedLayer, x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x @ model.weight.T + model.hidden_bias)


def hand_reconstruction(model: PretrainedLayer, h: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(h @ model.weight + model.visible_bias)


def hand_jacobian_norm(model: PretrainedLayer, h: torch.Tensor) -> torch.Tensor:
    return (((h * (1 - h)) ** 2) * (model.weight**2).sum(1)).sum(1).mean()


# -- corruption ---------------------------------------------------------------


def test_masking_noise_zeroes_the_requested_fraction_and_keeps_the_rest():
    torch.manual_seed(0)
    model = DenoisingAutoencoder(n_visible=100, n_hidden=5, learning_rate=0.1, corruption_level=0.3)
    x = torch.rand(1000, 100) + 0.5  # no zero among the clean inputs
    x_tilde = model.corrupt(x)
    zeroed = x_tilde == 0
    assert zeroed.float().mean().item() == pytest.approx(0.3, abs=0.01)
    assert torch.equal(x_tilde[~zeroed], x[~zeroed])
    assert torch.equal(x, x_tilde + x * zeroed)  # only zeroing, nothing else changes
    # independent draws: a second call masks a different subset
    assert not torch.equal(model.corrupt(x) == 0, zeroed)


def test_corruption_level_zero_is_the_identity_without_drawing():
    model = DenoisingAutoencoder(n_visible=10, n_hidden=5, learning_rate=0.1, corruption_level=0.0)
    x = torch.rand(4, 10)
    state = torch.get_rng_state()
    assert model.corrupt(x) is x
    assert torch.equal(torch.get_rng_state(), state)


# -- reconstruction and tied weights ------------------------------------------


@pytest.mark.parametrize("binary", [False, True])
def test_reconstruction_cost_is_the_tutorial_cross_entropy(binary):
    torch.manual_seed(1)
    model = DenoisingAutoencoder(n_visible=7, n_hidden=4, learning_rate=0.1).double()
    with torch.no_grad():
        model.hidden_bias.normal_()
        model.visible_bias.normal_()
    x = torch.rand(5, 7, dtype=torch.float64)
    x_tilde = torch.rand(5, 7, dtype=torch.float64)
    if binary:
        x = (x > 0.5).double()
    z = hand_reconstruction(model, hand_hidden(model, x))
    assert model.reconstruction_cost(x).item() == pytest.approx(hand_cross_entropy(x, z).item(), rel=1e-12)
    # with a corrupted encoder input, the target is still the clean x
    z_tilde = hand_reconstruction(model, hand_hidden(model, x_tilde))
    expected = hand_cross_entropy(x, z_tilde).item()
    assert model.reconstruction_cost(x, x_tilde).item() == pytest.approx(expected, rel=1e-12)


def test_decoder_uses_exactly_the_transposed_encoder_weights():
    torch.manual_seed(2)
    model = DenoisingAutoencoder(n_visible=6, n_hidden=3, learning_rate=0.1)
    assert {name for name, _ in model.named_parameters()} == {"weight", "hidden_bias", "visible_bias"}
    assert model.weight.shape == (3, 6) and model.visible_bias.shape == (6,)
    h = torch.rand(4, 3)
    assert torch.allclose(model.reconstruct(h), torch.sigmoid(h @ model.weight + model.visible_bias))
    with torch.no_grad():
        model.weight.mul_(-2.0)  # changing W changes the decoder too
        model.visible_bias.fill_(0.5)
    assert torch.allclose(model.reconstruct(h), torch.sigmoid(h @ model.weight + 0.5))
    # the gradient of the decoder reaches W through W^T
    model.reconstruct(h).sum().backward()
    assert model.weight.grad is not None and model.weight.grad.abs().sum() > 0


def test_contractive_cost_without_contraction_is_the_plain_reconstruction_cost():
    torch.manual_seed(3)
    ca = ContractiveAutoencoder(n_visible=8, n_hidden=5, learning_rate=0.1, contraction_level=0.0)
    da = DenoisingAutoencoder(n_visible=8, n_hidden=5, learning_rate=0.1)
    da.load_state_dict(ca.state_dict())
    x = torch.rand(6, 8)
    assert torch.equal(ca.cost(x), da.reconstruction_cost(x))
    assert torch.equal(ca.reconstruction_cost(x), da.reconstruction_cost(x))


# -- one update is one SGD step -----------------------------------------------


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("gradient", ["explicit", "autograd"])
def test_denoising_update_is_one_sgd_step_on_the_cost_of_the_corrupted_input(gradient, batch):
    torch.manual_seed(4)
    lr, level = 0.3, 0.4
    model = with_optimizer(DenoisingAutoencoder(n_visible=9, n_hidden=4, learning_rate=lr, corruption_level=level,
                                                gradient=gradient))
    twin = copy.deepcopy(model)
    x = torch.rand(batch, 9)

    torch.manual_seed(123)
    returned = model.update(x)

    torch.manual_seed(123)
    mask = torch.rand_like(x) >= level
    params = [twin.weight, twin.hidden_bias, twin.visible_bias]
    cost = hand_cross_entropy(x, hand_reconstruction(twin, hand_hidden(twin, x * mask)))
    grads = torch.autograd.grad(cost, params)
    assert not returned.requires_grad
    assert returned.item() == pytest.approx(cost.item(), rel=1e-6)
    assert (model.configure_optimizers() is None) == (gradient == "explicit")
    for p_model, p, g in zip([model.weight, model.hidden_bias, model.visible_bias], params, grads):
        assert torch.allclose(p_model, p - lr * g, atol=1e-6)
        assert not torch.allclose(p_model, p)  # every parameter moved


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("gradient", ["explicit", "autograd"])
def test_contractive_update_is_one_sgd_step_on_the_penalised_cost(gradient, batch):
    torch.manual_seed(5)
    lr, level = 0.2, 0.7
    model = with_optimizer(ContractiveAutoencoder(n_visible=9, n_hidden=4, learning_rate=lr, contraction_level=level,
                                                  gradient=gradient))
    with torch.no_grad():
        model.hidden_bias.normal_()  # every term of the penalty's gradient matters
    twin = copy.deepcopy(model)
    x = torch.rand(batch, 9)
    returned = model.update(x)

    params = [twin.weight, twin.hidden_bias, twin.visible_bias]
    h = hand_hidden(twin, x)
    cost = hand_cross_entropy(x, hand_reconstruction(twin, h)) + level * hand_jacobian_norm(twin, h)
    grads = torch.autograd.grad(cost, params)
    assert returned.item() == pytest.approx(cost.item(), rel=1e-6)
    assert (model.configure_optimizers() is None) == (gradient == "explicit")
    for p_model, p, g in zip([model.weight, model.hidden_bias, model.visible_bias], params, grads):
        assert torch.allclose(p_model, p - lr * g, atol=1e-6)
        assert not torch.allclose(p_model, p)


def test_training_step_runs_one_update_per_minibatch_of_the_chunk():
    torch.manual_seed(6)
    model = with_optimizer(DenoisingAutoencoder(n_visible=6, n_hidden=3, learning_rate=0.5, corruption_level=0.2))
    twin = with_optimizer(copy.deepcopy(model))
    xs = torch.rand(3, 4, 6)
    torch.manual_seed(7)
    model.training_step((xs,), 0)
    torch.manual_seed(7)
    for x in xs:
        twin.update(x)
    assert model.iteration == 3
    assert torch.allclose(model.weight, twin.weight)
    assert torch.allclose(model.visible_bias, twin.visible_bias)


# -- the contractive penalty ---------------------------------------------------


def test_jacobian_norm_is_the_squared_frobenius_norm_of_the_autograd_jacobian():
    torch.manual_seed(8)
    model = ContractiveAutoencoder(n_visible=7, n_hidden=5, learning_rate=0.1).double()
    with torch.no_grad():
        model.hidden_bias.normal_()
    xs = torch.rand(4, 7, dtype=torch.float64)
    per_example = []
    for x in xs:
        jacobian = torch.autograd.functional.jacobian(model.encode, x)
        assert jacobian.shape == (5, 7)
        frobenius = jacobian.square().sum()
        norm = model.jacobian_norm(model.encode(x[None]))
        assert norm.item() == pytest.approx(frobenius.item(), rel=1e-12)
        per_example.append(frobenius.item())
    # over a minibatch: the mean of the per-example norms
    assert model.jacobian_norm(model.encode(xs)).item() == pytest.approx(float(np.mean(per_example)), rel=1e-12)


# -- numerical stability -------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda: DenoisingAutoencoder(n_visible=20, n_hidden=10, learning_rate=0.1, corruption_level=0.3),
    lambda: ContractiveAutoencoder(n_visible=20, n_hidden=10, learning_rate=0.1, contraction_level=0.5),
])
def test_costs_stay_finite_with_saturated_units(make):
    torch.manual_seed(9)
    model = with_optimizer(make())
    with torch.no_grad():
        model.weight.copy_(1e4 * torch.sign(torch.randn_like(model.weight)))
    x = (torch.rand(8, 20) > 0.5).float()
    assert torch.isfinite(model.reconstruction_cost(x))
    assert model.reconstruction_cost(x).item() > 1.0  # saturated and wrong: large but finite
    cost = model.update(x)
    assert math.isfinite(cost.item())
    assert all(torch.isfinite(p).all() for p in model.parameters())


# -- training ------------------------------------------------------------------


@functools.cache
def small_dataset() -> torch.Tensor:
    """1000 MNIST digits if the prepared split is there, else 8x8 images of random bars."""
    if MNIST_TRAIN.is_file():
        from dltutorials.data.prepare import load_split

        x, _ = load_split(MNIST_TRAIN)
        return torch.from_numpy(x[:1000].copy())
    generator = torch.Generator().manual_seed(0)
    rows = (torch.rand(1000, 8, 1, generator=generator) < 0.25).float().expand(1000, 8, 8)
    cols = (torch.rand(1000, 1, 8, generator=generator) < 0.25).float().expand(1000, 8, 8)
    return torch.maximum(rows, cols).reshape(1000, 64)


@pytest.mark.parametrize("cls, kwargs", [
    (DenoisingAutoencoder, {"corruption_level": 0.3}),
    (ContractiveAutoencoder, {"contraction_level": 0.1}),
])
def test_a_few_hundred_updates_lower_the_reconstruction_cost(cls, kwargs):
    torch.manual_seed(10)
    x = small_dataset()
    model = with_optimizer(cls(n_visible=x.shape[1], n_hidden=50, learning_rate=0.1, **kwargs))
    with torch.no_grad():
        before = model.reconstruction_cost(x).item()
    for step in range(300):
        model.update(x[(step * 20) % len(x):][:20])
    with torch.no_grad():
        after = model.reconstruction_cost(x).item()
    assert after < 0.4 * before, (before, after)


# -- arguments -------------------------------------------------------------------


@pytest.mark.parametrize("level", [-0.1, 1.0, 1.5, float("nan")])
def test_invalid_corruption_level_is_rejected(level):
    with pytest.raises(ValueError, match="corruption_level"):
        DenoisingAutoencoder(n_visible=4, n_hidden=2, learning_rate=0.1, corruption_level=level)


@pytest.mark.parametrize("level", [-1e-3, float("nan")])
def test_invalid_contraction_level_is_rejected(level):
    with pytest.raises(ValueError, match="contraction_level"):
        ContractiveAutoencoder(n_visible=4, n_hidden=2, learning_rate=0.1, contraction_level=level)


def test_hyperparameters_are_saved():
    da = DenoisingAutoencoder(n_visible=4, n_hidden=2, learning_rate=0.1, corruption_level=0.3)
    ca = ContractiveAutoencoder(n_visible=4, n_hidden=2, learning_rate=0.1, contraction_level=0.2)
    assert dict(da.hparams) == {"n_visible": 4, "n_hidden": 2, "learning_rate": 0.1, "corruption_level": 0.3,
                                "gradient": "explicit"}
    assert dict(ca.hparams) == {"n_visible": 4, "n_hidden": 2, "learning_rate": 0.1, "contraction_level": 0.2,
                                "gradient": "explicit"}
    with pytest.raises(ValueError, match="gradient must be one of"):
        DenoisingAutoencoder(n_visible=4, n_hidden=2, learning_rate=0.1, gradient="numeric")
