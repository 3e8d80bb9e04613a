"""Each model's forward, cost and error on tiny inputs, and the tutorial's initialisations."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from dltutorials.models.lenet import LeNet
from dltutorials.models.logreg import LogisticRegression
from dltutorials.models.mlp import MLP


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


def test_l1_and_l2_penalties_give_the_tutorials_updates():
    """cost = NLL + L1 * sum|W| + L2 * sum W^2 over weights only: one SGD step, two ways."""
    torch.manual_seed(0)
    l1, l2, lr = 0.001, 0.01, 0.1
    model = MLP(n_in=6, n_hidden=5, n_out=3, learning_rate=lr, l1_reg=l1, l2_reg=l2)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    reference = {name: p.detach().clone().requires_grad_() for name, p in model.named_parameters()}
    x, y = torch.rand(4, 6), torch.tensor([0, 1, 2, 1])

    h = torch.tanh(x @ reference["hidden.weight"].T + reference["hidden.bias"])
    logits = h @ reference["logistic.weight"].T + reference["logistic.bias"]
    weights = [reference["hidden.weight"], reference["logistic.weight"]]
    cost = (F.cross_entropy(logits, y) + l1 * sum(w.abs().sum() for w in weights)
            + l2 * sum((w ** 2).sum() for w in weights))
    cost.backward()

    sgd_step(model, x, y)
    for name, p in model.named_parameters():
        expected = reference[name] - lr * reference[name].grad
        assert torch.allclose(p, expected, atol=1e-6), name


def test_lenet_shapes_and_fan_in_initialisation():
    torch.manual_seed(0)
    model = LeNet(image_shape=[1, 28, 28], n_out=10, learning_rate=0.1)
    assert model.conv1.weight.shape == (20, 1, 5, 5) and model.conv2.weight.shape == (50, 20, 5, 5)
    assert model.hidden.in_features == 50 * 4 * 4  # 28 -> 24 -> 12 -> 8 -> 4
    assert model.conv1.weight.abs().max().item() <= math.sqrt(3 / 25)
    assert model.conv2.weight.abs().max().item() <= math.sqrt(3 / (20 * 25))
    assert torch.all(model.conv1.bias == 0)
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
    twin = LogisticRegression(n_in=4, n_out=3, learning_rate=0.5)
    xs, ys = torch.rand(3, 5, 4), torch.randint(0, 3, (3, 5))  # a chunk of 3 minibatches of 5
    for x, y in zip(xs, ys):
        sgd_step(twin, x, y)

    optimizer = model.configure_optimizers()
    model.optimizers = lambda: type("Wrapped", (), {"optimizer": optimizer})()
    model.log = lambda *args, **kwargs: None
    model.training_step((xs, ys), 0)
    assert model.iteration == 3
    assert torch.allclose(model.logistic.weight, twin.logistic.weight)
    assert torch.allclose(model.logistic.bias, twin.logistic.bias)
