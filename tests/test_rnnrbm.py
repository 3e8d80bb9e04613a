"""The RNN-RBM of tutorial chapter 12: recurrence, batched Gibbs chains, CD-k through time, monitor, sampling."""

from __future__ import annotations

import math
import types
import warnings

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from dltutorials.models.rbm import RBM
from dltutorials.models.rnnrbm import RNNRBM

RNN_PARAMETERS = ("W_uh", "W_uv", "W_vu", "W_uu", "recurrent_bias")


def make_model(n_visible=10, n_hidden=8, n_hidden_recurrent=6, seed=0, scale=0.5, **kwargs) -> RNNRBM:
    """A float64 model whose parameters are all non-zero and large enough for the RNN to matter."""
    torch.manual_seed(seed)
    model = RNNRBM(n_visible, n_hidden, n_hidden_recurrent, **kwargs).double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, scale)
        model.initial_state.normal_(0, scale)  # a buffer unless learn_initial_state
    return model


def attach_sgd(module) -> torch.optim.Optimizer:
    """Give a module outside a Trainer the optimiser that ``update`` reaches through ``self.optimizers()``."""
    optimizer = module.configure_optimizers()
    module.optimizers = lambda: types.SimpleNamespace(optimizer=optimizer)
    return optimizer


def binary(*shape, p=0.3, seed=1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=generator) < p).double()


def snapshot(module) -> dict[str, torch.Tensor]:
    return {name: parameter.detach().clone() for name, parameter in module.named_parameters()}


def reference_recurrence(model: RNNRBM, v: torch.Tensor):
    """Eqs. 12.1-12.3 frame by frame, as written in the tutorial's ``recurrence``."""
    u_previous, states, visible_biases, hidden_biases = model.initial_state, [], [], []
    for v_t in v:
        visible_biases.append(model.visible_bias + u_previous @ model.W_uv)
        hidden_biases.append(model.hidden_bias + u_previous @ model.W_uh)
        u_previous = torch.tanh(model.recurrent_bias + v_t @ model.W_vu + u_previous @ model.W_uu)
        states.append(u_previous)
    return torch.stack(states), torch.stack(visible_biases), torch.stack(hidden_biases)


def reference_cost(model: RNNRBM, v: torch.Tensor, v_sample: torch.Tensor) -> torch.Tensor:
    """(1/T) sum_t [F_t(v_t) - F_t(v*_t)] with F_t(x) = -x.b_v(t) - sum log(1 + exp(b_h(t) + W x)), frame by frame."""
    _, visible_biases, hidden_biases = reference_recurrence(model, v)
    total = 0
    for x, x_sample, b_v, b_h in zip(v, v_sample, visible_biases, hidden_biases):
        for y, sign in ((x, 1), (x_sample, -1)):
            total = total + sign * (-(y @ b_v) - torch.log1p(torch.exp(b_h + model.weight @ y)).sum())
    return total / len(v)


# -- 1. with the RNN switched off, every frame is the project's RBM -----------
def rnn_off(model: RNNRBM) -> RNNRBM:
    with torch.no_grad():
        for name in RNN_PARAMETERS:
            getattr(model, name).zero_()
        model.initial_state.zero_()
    return model


def rbm_like(model: RNNRBM, gradient: str) -> RBM:
    rbm = RBM(model.n_visible, model.n_hidden, learning_rate=model.learning_rate, cd_k=model.cd_k,
              gradient=gradient).double()
    with torch.no_grad():
        rbm.weight.copy_(model.weight)
        rbm.visible_bias.copy_(model.visible_bias)
        rbm.hidden_bias.copy_(model.hidden_bias)
    return rbm


def test_free_energy_equals_the_rbm_free_energy_when_the_rnn_is_off():
    model = rnn_off(make_model())
    rbm = rbm_like(model, "autograd")
    v = binary(25, 10)
    with torch.no_grad():
        _, bv_t, bh_t = model.recurrence(v)
        assert torch.allclose(model.free_energy(v, bv_t, bh_t), rbm.free_energy(v), rtol=1e-12, atol=1e-12)
        # and with the static biases passed as vectors shared by every frame
        assert torch.allclose(model.free_energy(v, model.visible_bias, model.hidden_bias), rbm.free_energy(v),
                              rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rbm_gradient", ["explicit", "autograd"])
@pytest.mark.parametrize("gradient", ["autograd", "explicit"])
def test_update_equals_the_rbm_cd_update_when_the_rnn_is_off(gradient, rbm_gradient):
    model = rnn_off(make_model(learning_rate=0.3, cd_k=3, gradient=gradient))
    rbm = rbm_like(model, rbm_gradient)
    attach_sgd(model)
    if rbm_gradient == "autograd":
        attach_sgd(rbm)
    v = binary(25, 10)
    before = snapshot(model)
    torch.manual_seed(7)  # the chains draw h, v, h, ..., v in the same order and shapes
    model.update(v)
    torch.manual_seed(7)
    rbm.update(v)
    after = snapshot(model)
    assert not torch.allclose(after["weight"], before["weight"])
    assert torch.allclose(after["weight"], rbm.weight, rtol=1e-12, atol=1e-12)
    assert torch.allclose(after["visible_bias"], rbm.visible_bias, rtol=1e-12, atol=1e-12)
    assert torch.allclose(after["hidden_bias"], rbm.hidden_bias, rtol=1e-12, atol=1e-12)
    for name in RNN_PARAMETERS:  # u(t) = 0 for all t: the RNN gets no gradient
        assert torch.all(after[name] == 0), name


# -- 2. the batched chain is a chain per frame ---------------------------------
def uniforms_sampler(uniforms: list[torch.Tensor]):
    """A ``bernoulli`` that compares the next of the given uniform tensors with p, in order."""
    draws = iter(uniforms)
    return lambda p: (next(draws) < p).to(p.dtype)


def test_batched_gibbs_chain_equals_a_chain_per_frame():
    model = make_model()
    n_frames, k = 12, 4
    v = binary(n_frames, 10)
    torch.manual_seed(3)
    uniforms = [torch.rand(n_frames, n) for _ in range(k) for n in (8, 10)]  # h, v, h, v, ...
    uniforms.append(torch.rand(n_frames, 8))  # the monitor's half-step
    with torch.no_grad():
        _, bv_t, bh_t = model.recurrence(v)
        assert not torch.allclose(bv_t[0], bv_t[1])  # the frames' RBMs differ
        sampler = uniforms_sampler(uniforms)
        v_sample = model.gibbs_chain(v, bv_t, bh_t, k, bernoulli=sampler)
        pre_sigmoid = model.monitor_activation(v_sample, bv_t, bh_t, bernoulli=sampler)
        W = model.weight
        for t in range(n_frames):
            x = v[t]
            for step in range(k):
                h = (uniforms[2 * step][t] < torch.sigmoid(bh_t[t] + W @ x)).double()
                x = (uniforms[2 * step + 1][t] < torch.sigmoid(bv_t[t] + W.T @ h)).double()
            assert torch.equal(v_sample[t], x), t
            h = (uniforms[-1][t] < torch.sigmoid(bh_t[t] + W @ x)).double()
            assert torch.allclose(pre_sigmoid[t], bv_t[t] + W.T @ h, rtol=1e-12, atol=1e-12)
    assert v_sample.sum() > 0 and (1 - v_sample).sum() > 0


# -- 3. the recurrence ------------------------------------------------------
@pytest.mark.parametrize("n_frames", [1, 2, 17])
def test_recurrence_equals_the_per_frame_equations(n_frames):
    model = make_model()
    v = binary(n_frames, 10)
    with torch.no_grad():
        u, bv_t, bh_t = model.recurrence(v)
        expected = reference_recurrence(model, v)
    assert u.shape == (n_frames, 6) and bv_t.shape == (n_frames, 10) and bh_t.shape == (n_frames, 8)
    for got, want in zip((u, bv_t, bh_t), expected):
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_recurrence_rejects_a_wrong_shape():
    model = make_model()
    for bad in (torch.zeros(0, 10), torch.zeros(5, 9), torch.zeros(10)):
        with pytest.raises(ValueError, match="shape"):
            model.recurrence(bad.double())


# -- 4. gradients through time ----------------------------------------------
@pytest.mark.parametrize("gradient", ["autograd", "explicit"])
def test_update_descends_the_gradient_of_the_cost_through_time(gradient, monkeypatch):
    """With v* fixed, lr = 1 and plain SGD, update moves every parameter by -d cost (reference autograd)."""
    model = make_model(learning_rate=1.0, gradient=gradient, learn_initial_state=True, scale=0.3)
    attach_sgd(model)
    v, v_sample = binary(9, 10, seed=1), binary(9, 10, seed=2)
    monkeypatch.setattr(model, "gibbs_chain", lambda *args, **kwargs: v_sample)
    reference = make_model(learn_initial_state=True)
    reference.load_state_dict(model.state_dict())
    reference_cost(reference, v, v_sample).backward()
    before = snapshot(model)
    model.update(v)
    for name, parameter in model.named_parameters():
        step = before[name] - parameter.detach()
        assert torch.allclose(step, getattr(reference, name).grad, rtol=1e-10, atol=1e-12), name
    assert before["W_uu"].ne(model.W_uu).any() and before["initial_state"].ne(model.initial_state).any()


def test_cost_gradient_through_the_recurrence_passes_gradcheck():
    model = make_model(scale=0.3)
    v, v_sample = binary(6, 10, seed=1), binary(6, 10, seed=2)
    names = ("W_uu", "W_vu", "recurrent_bias", "W_uh", "W_uv")

    def cost(*weights):
        for name, weight in zip(names, weights):
            setattr(model, name, weight)  # plain tensors in place of the parameters
        _, bv_t, bh_t = model.recurrence(v)
        return model.cost(v, v_sample, bv_t, bh_t)

    inputs = [getattr(model, name).detach().clone().requires_grad_() for name in names]
    for name in names:
        del model._parameters[name]
    assert torch.autograd.gradcheck(cost, inputs)


# -- 5. the monitor ---------------------------------------------------------
def test_monitor_is_the_tutorials_expression():
    v = binary(7, 10)
    a = torch.randn(7, 10, dtype=torch.float64)
    mean = torch.sigmoid(a)
    expected = (v * torch.log(mean) + (1 - v) * torch.log(1 - mean)).sum() / 7
    assert torch.allclose(RNNRBM.monitor(v, a), expected, rtol=1e-12)


def test_monitor_is_finite_for_extreme_weights():
    model = make_model(learning_rate=1e-3)
    attach_sgd(model)
    with torch.no_grad():
        model.weight.mul_(1e4)
        model.visible_bias.copy_(torch.tensor([1e4, -1e4] * 5))
        model.hidden_bias.copy_(torch.tensor([1e4, -1e4] * 4))
    v = binary(20, 10, p=0.5)
    torch.manual_seed(0)
    with torch.no_grad():
        _, bv_t, bh_t = model.recurrence(v)
        pre_sigmoid = model.monitor_activation(model.gibbs_chain(v, bv_t, bh_t, 2), bv_t, bh_t)
        naive = (v * torch.log(torch.sigmoid(pre_sigmoid)) + (1 - v) * torch.log(1 - torch.sigmoid(pre_sigmoid)))
    assert not torch.isfinite(naive.sum())  # the tutorial's xlogy0 form: log 0
    monitor = model.monitor(v, pre_sigmoid)
    assert torch.isfinite(monitor) and monitor < -1e3
    assert torch.isfinite(model.update(v)) and torch.isfinite(model.evaluate(v)["monitor"])


def test_update_returns_the_monitor_of_the_parameters_before_the_step():
    model = make_model(learning_rate=0.5)
    attach_sgd(model)
    v = binary(15, 10)
    with torch.no_grad():
        _, bv_t, bh_t = model.recurrence(v)
        torch.manual_seed(4)
        expected = model.monitor(v, model.monitor_activation(model.gibbs_chain(v, bv_t, bh_t, model.cd_k),
                                                             bv_t, bh_t))
    torch.manual_seed(4)
    monitor = model.update(v)
    assert not monitor.requires_grad
    assert torch.allclose(monitor, expected, rtol=1e-12)


# -- 6. sampling and evaluation -------------------------------------------------
def test_generate_matches_the_tutorials_loop():
    model = make_model()
    torch.manual_seed(5)
    roll = model.generate(n_frames=30, gibbs_steps=3)
    torch.manual_seed(5)
    u, frames, W = model.initial_state, [], model.weight.detach()
    with torch.no_grad():
        for _ in range(30):
            b_v, b_h = model.visible_bias + u @ model.W_uv, model.hidden_bias + u @ model.W_uh
            x = torch.zeros(1, 10, dtype=torch.float64)
            for _ in range(3):
                h = (torch.rand(1, 8, dtype=torch.float64) < torch.sigmoid(b_h + x @ W.T)).double()
                x = (torch.rand(1, 10, dtype=torch.float64) < torch.sigmoid(b_v + h @ W)).double()
            u = torch.tanh(model.recurrent_bias + x[0] @ model.W_vu + u @ model.W_uu)
            frames.append(x[0])
    assert torch.equal(roll, torch.stack(frames))


def test_generate_returns_binary_piano_rolls():
    torch.manual_seed(0)
    model = RNNRBM()
    roll = model.generate()
    assert roll.shape == (200, 88) and roll.dtype == torch.float32
    assert set(roll.unique().tolist()) <= {0.0, 1.0}
    rolls = model.generate(n_frames=5, gibbs_steps=2, n_sequences=3)
    assert rolls.shape == (3, 5, 88) and set(rolls.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="n_frames"):
        model.generate(n_frames=0)
    with pytest.raises(ValueError, match="gibbs_steps"):
        model.generate(gibbs_steps=0)


def test_evaluate_counts_are_consistent():
    model = make_model()
    v = binary(40, 10, p=0.4)
    before = snapshot(model)
    result = model.evaluate(v, gibbs_steps=5)
    assert all(torch.equal(before[name], p) for name, p in model.named_parameters())  # no update
    assert result["frames"] == 40 and torch.isfinite(result["monitor"])
    assert result["tp"] + result["fn"] == v.sum().item()
    assert min(result["tp"], result["fp"], result["fn"]) >= 0
    assert result["tp"] + result["fp"] <= v.numel()
    # a model that always predicts every note on (off): fp = the zeros, fn = 0 (tp = 0, fn = the ones)
    with torch.no_grad():
        model.weight.zero_()
        model.W_uv.zero_()
        model.visible_bias.fill_(1e4)
    assert model.evaluate(v) | {"monitor": 0} == {"monitor": 0, "tp": int(v.sum()), "fp": int((1 - v).sum()),
                                                  "fn": 0, "frames": 40}
    with torch.no_grad():
        model.visible_bias.fill_(-1e4)
    assert model.evaluate(v) | {"monitor": 0} == {"monitor": 0, "tp": 0, "fp": 0, "fn": int(v.sum()), "frames": 40}



def test_evaluate_predicts_each_frame_from_zeros_given_the_true_past():
    # 40 hidden units: in a smaller RBM, chains from zeros and from the data that share their uniforms
    # coalesce within 2 steps, and a chain started from the data would pass unnoticed
    model = make_model(n_visible=30, n_hidden=40, cd_k=2)
    v = binary(12, 30, p=0.4)
    torch.manual_seed(6)
    result = model.evaluate(v, gibbs_steps=3)
    torch.manual_seed(6)
    for _ in range(model.cd_k):  # the monitor's chain from the data, then its half-step, draw first
        torch.rand(12, 40, dtype=torch.float64), torch.rand(12, 30, dtype=torch.float64)
    torch.rand(12, 40, dtype=torch.float64)
    uniforms = [torch.rand(12, n, dtype=torch.float64) for _ in range(3) for n in (40, 30)]
    with torch.no_grad():
        _, visible_biases, hidden_biases = reference_recurrence(model, v)
        prediction = torch.zeros_like(v)
        for t in range(12):
            x = torch.zeros(30, dtype=torch.float64)
            for step in range(3):
                h = (uniforms[2 * step][t] < torch.sigmoid(hidden_biases[t] + model.weight @ x)).double()
                x = (uniforms[2 * step + 1][t] < torch.sigmoid(visible_biases[t] + model.weight.T @ h)).double()
            prediction[t] = x
    expected = {"tp": int((prediction * v).sum()), "fp": int((prediction * (1 - v)).sum()),
                "fn": int(((1 - prediction) * v).sum())}
    assert {key: result[key] for key in expected} == expected
    assert expected["tp"] > 0 and expected["fp"] > 0 and expected["fn"] > 0


# -- 7. training under Lightning ------------------------------------------------
def test_epoch_monitor_is_the_mean_over_subsequences():
    """A 250-frame tune gives subsequences of 100, 100 and 50 frames; a 30-frame tune one of 30."""
    model = make_model(cd_k=2, learning_rate=0.01)
    with torch.no_grad():
        model.visible_bias.fill_(-2.0)  # sparse and dense tunes then get very different monitors
    tunes = [binary(250, 10, p=0.05, seed=1), binary(30, 10, p=0.6, seed=2)]
    lengths, monitors = [], []
    update = model.update

    def spy(v):
        lengths.append(len(v))
        monitors.append(update(v))
        return monitors[-1]

    model.update = spy
    trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, train_dataloaders=DataLoader(tunes, batch_size=None))
    assert lengths == [100, 100, 50, 30]
    logged = trainer.callback_metrics["train/monitor"].item()
    per_subsequence = torch.stack(monitors).mean().item()
    per_tune = (torch.stack(monitors[:3]).mean().item() + monitors[3].item()) / 2
    assert abs(per_subsequence - per_tune) > 0.1
    assert logged == pytest.approx(per_subsequence, rel=1e-6)


def test_training_step_starts_every_subsequence_from_the_initial_state(monkeypatch):
    model = make_model(sequence_length=4)
    seen = []
    monkeypatch.setattr(model, "update", lambda v: seen.append(v.clone()) or torch.zeros((), dtype=v.dtype))
    monkeypatch.setattr(model, "log", lambda *args, **kwargs: None)
    tune = binary(10, 10).to(torch.uint8)  # piano rolls are stored as uint8
    model.training_step(tune, 0)
    assert [len(v) for v in seen] == [4, 4, 2] and all(v.dtype == torch.float64 for v in seen)
    assert torch.equal(torch.cat(seen), tune.double())


# -- options of section 12.4 -----------------------------------------------
def test_init_follows_the_tutorial():
    torch.manual_seed(0)
    model = RNNRBM()
    assert dict(model.hparams) == {"n_visible": 88, "n_hidden": 150, "n_hidden_recurrent": 100,
                                   "learning_rate": 0.001, "cd_k": 15, "sequence_length": 100,
                                   "learn_initial_state": False, "momentum": 0.0, "nesterov": False,
                                   "gradient_clip": None, "gradient": "explicit"}
    shapes = {"weight": (150, 88), "visible_bias": (88,), "hidden_bias": (150,), "W_uh": (100, 150),
              "W_uv": (100, 88), "W_vu": (88, 100), "W_uu": (100, 100), "recurrent_bias": (100,)}
    assert {name: tuple(p.shape) for name, p in model.named_parameters()} == shapes
    assert model.weight.std().item() == pytest.approx(0.01, rel=0.05)
    for name in ("W_uh", "W_uv", "W_vu", "W_uu"):
        assert getattr(model, name).std().item() == pytest.approx(1e-4, rel=0.05)
    for name in ("visible_bias", "hidden_bias", "recurrent_bias"):
        assert torch.all(getattr(model, name) == 0)
    assert "initial_state" in dict(model.named_buffers()) and torch.all(model.initial_state == 0)


@pytest.mark.parametrize("gradient", ["autograd", "explicit"])
def test_learnt_initial_state_is_a_parameter_that_moves(gradient):
    model = make_model(learn_initial_state=True, gradient=gradient)
    attach_sgd(model)
    assert "initial_state" in dict(model.named_parameters())
    before = model.initial_state.detach().clone()
    model.update(binary(8, 10))
    assert not torch.equal(before, model.initial_state)
    fixed = make_model(gradient=gradient)
    attach_sgd(fixed)
    before = fixed.initial_state.clone()
    fixed.update(binary(8, 10))
    assert torch.equal(before, fixed.initial_state)


def test_momentum_nesterov_and_gradient_clipping():
    model = make_model(momentum=0.9, nesterov=True)
    optimizer = model.configure_optimizers()
    assert isinstance(optimizer, torch.optim.SGD)
    assert optimizer.defaults["momentum"] == 0.9 and optimizer.defaults["nesterov"]
    plain = make_model().configure_optimizers().defaults
    assert plain["momentum"] == 0 and not plain["nesterov"]
    # clipping: the step of all parameters together is lr * clip when the gradient is larger
    model = make_model(learning_rate=0.1, gradient_clip=1e-3, scale=1.0)
    attach_sgd(model)
    before = snapshot(model)
    model.update(binary(30, 10))
    step = torch.cat([(before[name] - p.detach()).flatten() for name, p in model.named_parameters()])
    assert step.norm().item() == pytest.approx(0.1 * 1e-3, rel=1e-6)


# -- 8. arguments -------------------------------------------------------------
@pytest.mark.parametrize("name, value", [
    ("n_visible", 0), ("n_visible", 8.0), ("n_hidden", -1), ("n_hidden", True), ("n_hidden_recurrent", 0),
    ("learning_rate", 0.0), ("learning_rate", -0.1), ("learning_rate", math.inf), ("cd_k", 0), ("cd_k", 1.5),
    ("sequence_length", 0), ("momentum", -0.1), ("momentum", 1.0), ("gradient_clip", 0.0),
    ("gradient_clip", -1.0), ("gradient", "numeric"),
])
def test_bad_arguments_raise_value_error_naming_them(name, value):
    with pytest.raises(ValueError, match=name):
        RNNRBM(**{name: value})


def test_nesterov_needs_momentum():
    with pytest.raises(ValueError, match="nesterov"):
        RNNRBM(nesterov=True)



def test_start_from_rbm_takes_its_weights_and_biases_only():
    model = RNNRBM(n_visible=6, n_hidden=4, n_hidden_recurrent=3)
    recurrent = {name: p.detach().clone() for name, p in model.named_parameters() if name.startswith("W_u")
                 or name in ("W_vu", "recurrent_bias")}
    rbm = RBM(6, 4, learning_rate=0.1)
    model.start_from_rbm(rbm)
    for name in ("weight", "visible_bias", "hidden_bias"):
        assert torch.equal(getattr(model, name), getattr(rbm, name)), name
    for name, value in recurrent.items():
        assert torch.equal(getattr(model, name), value), f"{name} untouched"
    with pytest.raises(ValueError, match=r"the RBM's weight has shape \(5, 6\)"):
        model.start_from_rbm(RBM(6, 5, learning_rate=0.1))
