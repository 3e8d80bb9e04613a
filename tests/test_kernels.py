"""The fused batch-1 kernels against the formulas in float64, and the models that use them."""

from __future__ import annotations

import copy

import pytest
import torch

import dltutorials.models.autoencoders as autoencoders
import dltutorials.models.classifier as classifier
from dltutorials.kernels import descend_and_forward, fusable, propagate_and_descend, tied_autoencoder_pass
from dltutorials.models.autoencoders import ContractiveAutoencoder, DenoisingAutoencoder
from dltutorials.models.mlp import MLP
from dltutorials.models.stacked import StackedSigmoidClassifier

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-12}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shrink, l1_step", [(1.0, 0.0), (0.98, 0.003)])
def test_propagate_and_descend_is_the_backward_step_of_a_dense_layer(dtype, shrink, l1_step):
    torch.manual_seed(0)
    weight, bias = torch.randn(7, 9, dtype=dtype), torch.randn(7, dtype=dtype)
    weight[0, 0] = 0.0  # sign(0) = 0: no L1 step
    delta, inputs, lr = torch.randn(7, dtype=dtype), torch.rand(9, dtype=dtype), 0.3
    w0, b0 = weight.double().clone(), bias.double().clone()  # copies, also of float64 tensors
    d, a = delta.double(), inputs.double()

    back = propagate_and_descend(weight, bias, delta, inputs, lr, shrink=shrink, l1_step=l1_step)

    tol = TOLERANCE[dtype]
    assert back.dtype == dtype
    assert torch.allclose(back.double(), w0.T @ d, atol=tol), "the error below uses W before the step"
    expected = shrink * w0 - l1_step * torch.sign(w0) - lr * torch.outer(d, a)
    assert torch.allclose(weight.double(), expected, atol=tol)
    assert torch.allclose(bias.double(), b0 - lr * d, atol=tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("step, shrink, l1_step", [(False, 1.0, 0.0), (True, 1.0, 0.0), (True, 0.98, 0.003)])
def test_descend_and_forward_is_the_step_then_the_next_product(dtype, step, shrink, l1_step):
    torch.manual_seed(3)
    weight, bias = torch.randn(7, 9, dtype=dtype), torch.randn(7, dtype=dtype)
    weight[0, 0] = 0.0
    delta, inputs, x_next, lr = torch.randn(7, dtype=dtype), torch.rand(9, dtype=dtype), torch.rand(9, dtype=dtype), 0.3
    w, b = weight.double().clone(), bias.double().clone()

    out = descend_and_forward(weight, bias, x_next, lr, (delta, inputs) if step else None, shrink=shrink,
                              l1_step=l1_step)

    if step:
        d, a = delta.double(), inputs.double()
        w, b = shrink * w - l1_step * torch.sign(w) - lr * torch.outer(d, a), b - lr * d
    tol = TOLERANCE[dtype]
    assert torch.allclose(weight.double(), w, atol=tol) and torch.allclose(bias.double(), b, atol=tol)
    assert out.dtype == dtype
    assert torch.allclose(out.double(), w @ x_next.double() + b, atol=tol), "the product uses the stepped W and b"


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("step, code", [(True, False), (True, True), (False, True)])
def test_tied_autoencoder_pass_is_the_step_then_the_next_code_and_decoding(dtype, step, code):
    torch.manual_seed(1)
    weight, hidden_bias = torch.randn(6, 11, dtype=dtype), torch.randn(6, dtype=dtype)
    delta_v, h, x_tilde, lr = torch.randn(11, dtype=dtype), torch.rand(6, dtype=dtype), torch.rand(11, dtype=dtype), 0.2
    x_next = torch.rand(11, dtype=dtype)
    w, b = weight.double().clone(), hidden_bias.double().clone()  # copies, also of float64 tensors

    returned = tied_autoencoder_pass(weight, hidden_bias, lr, step=(delta_v, h, x_tilde) if step else None,
                                     x_next=x_next if code else None)

    if step:
        dv, hh, xt = delta_v.double(), h.double(), x_tilde.double()
        delta_h = (w @ dv) * hh * (1 - hh)
        w, b = w - lr * (torch.outer(hh, dv) + torch.outer(delta_h, xt)), b - lr * delta_h
    tol = TOLERANCE[dtype]
    assert torch.allclose(weight.double(), w, atol=tol) and torch.allclose(hidden_bias.double(), b, atol=tol)
    assert (returned is None) == (not code)
    if code:
        h_next, decoded = returned
        expected_h = torch.sigmoid(w @ x_next.double() + b)
        assert torch.allclose(h_next.double(), expected_h, atol=tol), "the code uses the stepped W and b"
        assert torch.allclose(decoded.double(), w.T @ expected_h, atol=tol)


@pytest.mark.parametrize("level", [0.0, 0.3])
def test_a_chunk_of_batch_1_updates_in_one_pass_each_equals_the_updates_in_turn(level):
    """update_chunk's pipeline (each step joined to the next example's pass) against update() and autograd."""
    torch.manual_seed(2)
    pipelined = DenoisingAutoencoder(9, 4, 0.5, corruption_level=level)
    with torch.no_grad():
        pipelined.hidden_bias.normal_()
        pipelined.visible_bias.normal_()
    in_turn = copy.deepcopy(pipelined)
    by_autograd = copy.deepcopy(pipelined)
    by_autograd.gradient = "autograd"
    optimizer = by_autograd.configure_optimizers()
    by_autograd.optimizers = lambda: type("Wrapped", (), {"optimizer": optimizer})()
    xs = torch.rand(6, 1, 9)

    torch.manual_seed(7)
    total = pipelined.update_chunk(xs)
    monitors = {}
    for name, twin in (("in turn", in_turn), ("autograd", by_autograd)):
        torch.manual_seed(7)
        monitors[name] = sum(twin.update(x).item() for x in xs)
        assert total.item() == pytest.approx(monitors[name], rel=1e-5), name
        for p, q in zip(pipelined.parameters(), twin.parameters()):
            assert torch.allclose(p, q, atol=1e-5), name
    assert not torch.allclose(pipelined.weight, DenoisingAutoencoder(9, 4, 0.5).weight)


@pytest.mark.parametrize("make", [
    lambda g: StackedSigmoidClassifier(6, [5, 4], 3, 0.4, l1_reg=0.001, l2_reg=0.01, gradient=g),
    lambda g: MLP(6, 5, 3, 0.4, l1_reg=0.001, l2_reg=0.01, activation="tanh", gradient=g),
])
def test_a_chunk_of_batch_1_dense_updates_equals_the_updates_in_turn(make):
    """update_chunk's pipeline (the first layer's step joined to the next forward product) against
    update() one after the other and autograd, penalties included."""
    torch.manual_seed(4)
    pipelined, in_turn, by_autograd = make("explicit"), make("explicit"), make("autograd")
    with torch.no_grad():
        for p in pipelined.parameters():
            p.normal_()
    xs, ys = torch.rand(6, 1, 6), torch.randint(0, 3, (6, 1))
    for twin in (in_turn, by_autograd):
        twin.load_state_dict(pipelined.state_dict())
    total = pipelined.update_chunk(xs, ys)
    for name, twin in (("in turn", in_turn), ("autograd", by_autograd)):
        optimizer = twin.configure_optimizers()
        twin.optimizers = lambda optimizer=optimizer: type("Wrapped", (), {"optimizer": optimizer})()
        costs = sum(twin.update(x, y).item() for x, y in zip(xs, ys))
        assert total.item() == pytest.approx(costs, rel=1e-5), name
        for (key, p), q in zip(pipelined.named_parameters(), twin.parameters()):
            assert torch.allclose(p, q, atol=1e-5), f"{name}: {key}"


def test_vectors_of_the_wrong_length_are_refused_before_any_index_is_used():
    weight, bias = torch.zeros(3, 4), torch.zeros(3)
    with pytest.raises(ValueError, match=r"W's 3 rows \(W is 3 x 4\)"):
        propagate_and_descend(weight, bias, torch.zeros(4), torch.zeros(4), 0.1)
    with pytest.raises(ValueError, match="W's 4 columns"):
        descend_and_forward(weight, bias, torch.zeros(3), 0.1, (torch.zeros(3), torch.zeros(4)))
    with pytest.raises(ValueError, match="W's 4 columns"):
        tied_autoencoder_pass(weight, bias, 0.1, x_next=torch.zeros(5))
    assert torch.equal(weight, torch.zeros(3, 4)) and torch.equal(bias, torch.zeros(3))


def test_fusable_needs_cpu_tensors_of_one_floating_dtype():
    x = torch.zeros(3)
    assert fusable(x, torch.zeros(2, 3)) and fusable(x.double(), torch.zeros(1, dtype=torch.float64))
    assert not fusable(x, x.double())
    assert not fusable(x.half())
    assert not fusable(x, torch.zeros(3, device="meta"))


def counting(monkeypatch, module, name: str) -> list[int]:
    """Count the calls of ``module.name``, which still runs."""
    calls, original = [], getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("batch, expected_calls", [(1, 3), (4, 0)])
def test_dense_networks_fuse_every_layer_above_the_first_at_batch_1(monkeypatch, batch, expected_calls):
    """Logistic layer and hidden layers 3 and 2 of a three-layer stack; never at larger batches."""
    calls = counting(monkeypatch, classifier, "propagate_and_descend")
    first_layer_calls = counting(monkeypatch, classifier, "descend_and_forward")
    model = StackedSigmoidClassifier(6, [5, 4, 7], 3, learning_rate=0.1)
    model.update(torch.rand(batch, 6), torch.tensor([0, 1, 2, 1])[:batch])
    assert len(calls) == expected_calls and not first_layer_calls
    model.update_chunk(torch.rand(2, batch, 6), torch.tensor([[0, 1, 2, 1]] * 2)[:, :batch])
    assert len(calls) == 3 * expected_calls
    assert len(first_layer_calls) == (2 if expected_calls else 0), "the first layer: one pass per example"
    calls.clear(), first_layer_calls.clear()
    by_autograd = MLP(6, 5, 3, 0.1, gradient="autograd")
    optimizer = by_autograd.configure_optimizers()
    by_autograd.optimizers = lambda: type("Wrapped", (), {"optimizer": optimizer})()
    by_autograd.update_chunk(torch.rand(2, batch, 6), torch.tensor([[0, 1, 2, 1]] * 2)[:, :batch])
    assert not calls and not first_layer_calls, "the autograd update never reaches the kernels"


@pytest.mark.parametrize("model, batch, expected_calls", [
    (DenoisingAutoencoder(9, 4, 0.1, corruption_level=0.3), 1, 1),
    (DenoisingAutoencoder(9, 4, 0.1, corruption_level=0.3), 5, 0),
    (ContractiveAutoencoder(9, 4, 0.1), 1, 0),  # its penalty's terms stay with torch
])
def test_the_denoising_autoencoder_fuses_its_step_at_batch_1(monkeypatch, model, batch, expected_calls):
    calls = counting(monkeypatch, autoencoders, "tied_autoencoder_pass")
    model.update(torch.rand(batch, 9))
    assert len(calls) == expected_calls
    calls.clear()
    model.update_chunk(torch.rand(3, batch, 9))  # a chunk of 3: one pass per example, and the last step
    assert len(calls) == (4 if expected_calls else 0)
