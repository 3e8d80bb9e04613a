"""Each model's forward, cost and error on tiny inputs, and the tutorial's initialisations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dltutorials.models.functional import affine
from dltutorials.models.lenet import LeNet
from dltutorials.models.logreg import LogisticRegression
from dltutorials.models.mlp import MLP
from dltutorials.models.stacked import StackedSigmoidClassifier


def test_logistic_regression_starts_at_uniform_probabilities():
    model = LogisticRegression(n_in=784, n_out=10, learning_rate=0.13)
    x, y = torch.rand(7, 784), torch.tensor([0, 1, 2, 3, 4, 5, 6])
    assert model(x).shape == (7, 10)
    assert torch.all(model.logistic.weight == 0) and torch.all(model.logistic.bias == 0)
    # zero weights: P(Y=i|x) = 1/10 for every class, so NLL = log 10
    assert model.negative_log_likelihood(x, y).item() == pytest.approx(math.log(10))


def test_error_rate_is_the_percentage_of_wrong_argmax():
    model = LogisticRegression(n_in=2, n_out=2, learning_rate=0.1)
    with torch.no_grad():
        model.logistic.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    x = torch.tensor([[2.0, 0.0], [0.0, 2.0], [3.0, 1.0], [1.0, 3.0]])
    y = torch.tensor([0, 1, 1, 1])  # the third is misclassified
    assert model.error_rate(x, y, batch_size=3) == pytest.approx(25.0)


@pytest.mark.parametrize("activation, gain", [("tanh", 1.0), ("sigmoid", 4.0)])
def test_mlp_hidden_layer_uses_glorot_uniform(activation, gain):
    torch.manual_seed(0)
    model = MLP(n_in=784, n_hidden=500, n_out=10, learning_rate=0.01, activation=activation)
    bound = gain * math.sqrt(6 / (784 + 500))
    w = model.hidden.weight
    assert w.abs().max().item() <= bound
    assert w.abs().max().item() > 0.99 * bound  # 392000 draws reach the bound
    assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)  # std of U(-b, b)
    assert torch.all(model.logistic.weight == 0)
    assert model(torch.rand(3, 784)).shape == (3, 10)


def test_mlp_rejects_unknown_activation():
    with pytest.raises(ValueError, match="activation"):
        MLP(n_in=4, n_hidden=3, n_out=2, learning_rate=0.1, activation="relu")


def test_mlp_forward_is_the_tutorial_formula():
    torch.manual_seed(0)
    model = MLP(n_in=5, n_hidden=4, n_out=3, learning_rate=0.1)
    with torch.no_grad():
        model.logistic.weight.normal_()
    x = torch.rand(2, 5)
    h = torch.tanh(x @ model.hidden.weight.T + model.hidden.bias)
    assert torch.allclose(model(x), h @ model.logistic.weight.T + model.logistic.bias)


def sgd_step(model, x, y):
    optimizer = model.configure_optimizers()
    optimizer.zero_grad()
    model.cost(x, y).backward()
    optimizer.step()


def hand_forward(params: dict, x: torch.Tensor, activations: list[str]) -> torch.Tensor:
    """Logits of a dense stack written out from its named parameters (hidden.*, hidden.<k>.*, logistic.*)."""
    hidden = sorted(name.rsplit(".", 1)[0] for name in params if name.startswith("hidden") and name.endswith("weight"))
    for name, activation in zip(hidden, activations):
        x = getattr(torch, activation)(x @ params[f"{name}.weight"].T + params[f"{name}.bias"])
    return x @ params["logistic.weight"].T + params["logistic.bias"]


DENSE_MODELS = {
    "logreg": (lambda g, l1, l2: LogisticRegression(6, 3, 0.1, l1, l2, gradient=g), []),
    "mlp_tanh": (lambda g, l1, l2: MLP(6, 5, 3, 0.1, l1, l2, "tanh", gradient=g), ["tanh"]),
    "mlp_sigmoid": (lambda g, l1, l2: MLP(6, 5, 3, 0.1, l1, l2, "sigmoid", gradient=g), ["sigmoid"]),
    "stacked": (lambda g, l1, l2: StackedSigmoidClassifier(6, [5, 4, 7], 3, 0.1, l1, l2, gradient=g),
                ["sigmoid"] * 3),
}


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("gradient", ["explicit", "autograd"])
@pytest.mark.parametrize("name", DENSE_MODELS)
def test_one_update_is_the_tutorials_sgd_step_with_penalties(name, gradient, batch):
    """cost = NLL + L1 * sum|W| + L2 * sum W^2 over weights only: the update against autograd on the formula."""
    make, activations = DENSE_MODELS[name]
    torch.manual_seed(0)
    l1, l2, lr = 0.001, 0.01, 0.1
    model = make(gradient, l1, l2)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    reference = {name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()}
    x, y = torch.rand(batch, 6), torch.tensor([0, 1, 2, 1])[:batch]

    weights = [p for name, p in reference.items() if name.endswith("weight")]
    cost = (F.cross_entropy(hand_forward(reference, x, activations), y) + l1 * sum(w.abs().sum() for w in weights)
            + l2 * sum((w ** 2).sum() for w in weights))
    cost.backward()

    optimizer = model.configure_optimizers()
    assert (optimizer is None) == (gradient == "explicit"), "the explicit update needs no optimiser"
    model.optimizers = lambda: type("Wrapped", (), {"optimizer": optimizer})()
    returned = model.update(x, y)
    assert returned.item() == pytest.approx(cost.item() - l2 * sum((w ** 2).sum() for w in weights).item(), rel=1e-5)
    for name, p in model.named_parameters():
        expected = reference[name] - lr * reference[name].grad
        assert torch.allclose(p, expected, atol=1e-6), name
        assert not torch.allclose(p, reference[name]), f"{name} did not move"


def test_unknown_gradient_is_rejected():
    with pytest.raises(ValueError, match="gradient must be one of"):
        MLP(4, 3, 2, 0.1, gradient="numeric")


def test_lenet_shapes_and_fan_in_initialisation():
    torch.manual_seed(0)
    model = LeNet(image_shape=[1, 28, 28], n_out=10, learning_rate=0.1)
    assert model.conv1.weight.shape == (20, 1, 5, 5) and model.conv2.weight.shape == (50, 20, 5, 5)
    assert model.hidden.in_features == 50 * 4 * 4  # 28 -> 24 -> 12 -> 8 -> 4
    for conv, fan_in in ((model.conv1, 1 * 25), (model.conv2, 20 * 25)):
        bound, w = math.sqrt(3 / fan_in), conv.weight
        assert w.abs().max().item() <= bound
        assert w.abs().max().item() > 0.95 * bound, "U(-b, b) draws come close to the bound"
        assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.1)  # std of U(-b, b)
        assert abs(w.mean().item()) < 0.05 * bound
        assert torch.all(conv.bias == 0)
    hidden_bound = math.sqrt(6 / (800 + 500))  # the tanh layer: Glorot, gain 1
    assert model.hidden.weight.abs().max().item() <= hidden_bound
    assert model.hidden.weight.std().item() == pytest.approx(hidden_bound / math.sqrt(3), rel=0.02)
    assert torch.all(model.logistic.weight == 0)
    assert model(torch.rand(3, 784)).shape == (3, 10)


def test_lenet_conv_pool_layer_is_tanh_of_pooled_convolution_plus_bias():
    torch.manual_seed(0)
    model = LeNet(image_shape=[1, 28, 28], n_out=10, learning_rate=0.1)
    with torch.no_grad():
        model.conv1.bias.normal_()
    x = torch.rand(2, 1, 28, 28)
    expected = torch.tanh(F.max_pool2d(F.conv2d(x, model.conv1.weight), 2) + model.conv1.bias.view(1, -1, 1, 1))
    assert torch.allclose(model.conv1(x), expected)


def test_lenet_rejects_images_too_small():
    with pytest.raises(ValueError, match="too small"):
        LeNet(image_shape=[1, 8, 8], n_out=10, learning_rate=0.1)


def test_training_step_does_one_sgd_update_per_minibatch_of_the_chunk():
    torch.manual_seed(0)
    model = LogisticRegression(n_in=4, n_out=3, learning_rate=0.5)
    twin = LogisticRegression(n_in=4, n_out=3, learning_rate=0.5, gradient="autograd")
    xs, ys = torch.rand(3, 5, 4), torch.randint(0, 3, (3, 5))  # a chunk of 3 minibatches of 5
    for x, y in zip(xs, ys):
        sgd_step(twin, x, y)

    model.log = lambda *args, **kwargs: None
    model.training_step((xs, ys), 0)
    assert model.iteration == 3
    assert torch.allclose(model.logistic.weight, twin.logistic.weight)
    assert torch.allclose(model.logistic.bias, twin.logistic.bias)


@pytest.mark.parametrize("batch", [1, 2, 5, 10, 16, 20, 64])
def test_affine_is_f_linear_at_every_batch_size(batch):
    torch.manual_seed(batch)
    weight, bias, x = torch.randn(30, 17), torch.randn(30), torch.randn(batch, 17)
    assert torch.allclose(affine(x, weight, bias), x @ weight.T + bias, atol=1e-5)


def test_lenet_in_channels_last_computes_the_tutorials_network():
    """The layout is an implementation detail: the logits equal the network written out in NCHW."""
    torch.manual_seed(1)
    model = LeNet(image_shape=[1, 28, 28], n_out=10, learning_rate=0.1)
    assert model.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.1)
    x = torch.rand(3, 784)
    params = {name: p.detach().contiguous() for name, p in model.named_parameters()}
    h = x.view(3, 1, 28, 28)
    for conv in ("conv1", "conv2"):
        pooled = F.max_pool2d(F.conv2d(h, params[f"{conv}.weight"]), 2)
        h = torch.tanh(pooled + params[f"{conv}.bias"].view(1, -1, 1, 1))
    h = torch.tanh(h.reshape(3, -1) @ params["hidden.weight"].T + params["hidden.bias"])
    assert torch.allclose(model(x), h @ params["logistic.weight"].T + params["logistic.bias"], atol=1e-5)
