"""RNN-RBM for polyphonic music, trained by CD-k through time (tutorial chapter 12, [BoulangerLewandowski12]).

A piano roll is a sequence of binary frames v(1), ..., v(T) (88 notes each).
Frame t is modelled by a conditional RBM whose weight W is shared by every
frame and whose biases come from a deterministic RNN over the past frames.
Vectors are rows, as in the tutorial's code (section 12.1):

    b_v(t) = b_v + u(t-1) W_uv                          (12.1)
    b_h(t) = b_h + u(t-1) W_uh                          (12.2)
    u(t)   = tanh(b_u + u(t-1) W_uu + v(t) W_vu)        (12.3)

with u(0) the ``initial_state`` (zeros in the tutorial; learnt with
``learn_initial_state``, an improvement of section 12.4). ``weight`` W has
the project's RBM layout, (n_hidden, n_visible) with row i belonging to
hidden unit i (the tutorial's W is its transpose), so the conditionals of the
RBM at frame t are

    P(h = 1 | v) = sigm(b_h(t) + v W'),      P(v = 1 | h) = sigm(b_v(t) + h W),

and its free energy is F_t(v) = -v . b_v(t) - sum_i softplus(b_h(t) + v W')_i.

Training (section 12.2): given a subsequence of at most 100 frames, the
recurrence gives every b_v(t), b_h(t) at once; a k-step Gibbs chain (k = 15)
runs from the data in every frame's RBM together, as the frames of a
minibatch, and SGD descends

    cost = (1/T) sum_t [F_t(v(t)) - F_t(v*(t))]

with the chain's end v* held constant. The gradient reaches W_uv, W_uh, b_v,
b_h directly and W_uu, W_vu, b_u (and a learnt u(0)) by backpropagation
through time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dltutorials.fields import Bounds, Count, Gradient, PositiveFloat, PositiveInt, Probability, check_arguments
from dltutorials.models import functional

Sampler = Callable[[Tensor], Tensor]
# the largest gradient norm of an update (None: not clipped)
GradientClip = Annotated[float, Bounds(gt=0, says="a norm > 0")] | None


class RNNRBM(L.LightningModule):
    """The tutorial's RnnRbm: SGD with CD-k on subsequences, sampling, frame-level evaluation.

    Args:
        n_visible: notes per frame (88, MIDI notes 21..108).
        n_hidden: hidden units of each frame's RBM.
        n_hidden_recurrent: units of the RNN.
        learning_rate: SGD step size (the tutorial's lr = 0.001).
        cd_k: Gibbs steps of the training chain (15 in the tutorial).
        sequence_length: the longest subsequence of one update (the
            tutorial's ``batch_size`` = 100); a tune is cut into consecutive
            pieces, the RNN restarting from u(0) on each.
        learn_initial_state: learn u(0) as a parameter (section 12.4);
            otherwise it is a buffer of zeros, as in the tutorial.
        momentum, nesterov: ``torch.optim.SGD``'s momentum (section 12.4);
            the defaults give the tutorial's plain SGD.
        gradient_clip: if set, the gradient of all parameters together is
            rescaled to this L2 norm when larger (``clip_grad_norm_``).
        gradient: "autograd" for ``backward()`` through the recurrence, as
            the tutorial's T.grad; "explicit" for the same gradient written
            out (closed-form CD statistics, backpropagation through time as
            one loop of in-place matrix-vector products), which skips
            autograd's per-frame bookkeeping. Both feed ``torch.optim.SGD``.
    """

    automatic_optimization = False

    def __init__(self, n_visible: PositiveInt = 88, n_hidden: PositiveInt = 150, n_hidden_recurrent: Count = 100,
                 learning_rate: PositiveFloat = 0.001, cd_k: PositiveInt = 15, sequence_length: Count = 100,
                 learn_initial_state: bool = False, momentum: Probability = 0.0, nesterov: bool = False,
                 gradient_clip: GradientClip = None, gradient: Gradient = "explicit") -> None:
        check_arguments(RNNRBM, locals())
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0")
        super().__init__()
        self.save_hyperparameters()
        self.n_visible, self.n_hidden, self.n_hidden_recurrent = n_visible, n_hidden, n_hidden_recurrent
        self.learning_rate, self.cd_k, self.sequence_length = learning_rate, cd_k, sequence_length
        self.momentum, self.nesterov, self.gradient_clip = momentum, bool(nesterov), gradient_clip
        self.gradient = gradient

        def normal(*shape: int, std: float) -> nn.Parameter:  # the tutorial's shared_normal
            return nn.Parameter(torch.randn(*shape) * std)

        # build_rnnrbm's initialisation: RBM weight N(0, 0.01^2), RNN weights N(0, 1e-4^2), biases zero
        self.weight = normal(n_hidden, n_visible, std=0.01)
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))
        self.W_uh = normal(n_hidden_recurrent, n_hidden, std=1e-4)
        self.W_uv = normal(n_hidden_recurrent, n_visible, std=1e-4)
        self.W_vu = normal(n_visible, n_hidden_recurrent, std=1e-4)
        self.W_uu = normal(n_hidden_recurrent, n_hidden_recurrent, std=1e-4)
        self.recurrent_bias = nn.Parameter(torch.zeros(n_hidden_recurrent))
        if learn_initial_state:
            self.initial_state = nn.Parameter(torch.zeros(n_hidden_recurrent))
        else:
            self.register_buffer("initial_state", torch.zeros(n_hidden_recurrent))

    # -- the RNN (Eqs. 12.1-12.3) -------------------------------------------
    def recurrence(self, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """RNN states and RBM biases for a sequence ``v`` (T, n_visible); returns (u, bv_t, bh_t).

        u (T, n_hidden_recurrent) holds u(1)..u(T); row t of bv_t (T,
        n_visible) and bh_t (T, n_hidden) are b_v(t), b_h(t), computed from
        u(t-1). Only the tanh recurrence is sequential: the input term
        b_u + v(t) W_vu and both biases are one matmul each over all frames.
        """
        if v.dim() != 2 or v.shape[0] == 0 or v.shape[1] != self.n_visible:
            raise ValueError(f"expected a sequence of shape (T >= 1, {self.n_visible}), got {tuple(v.shape)}")
        inputs = torch.addmm(self.recurrent_bias, v, self.W_vu)
        u_previous = self.initial_state.unsqueeze(0)
        states = []
        for x in inputs.split(1):
            u_previous = torch.tanh(torch.addmm(x, u_previous, self.W_uu))
            states.append(u_previous)
        u = torch.cat(states)
        u_before = torch.cat((self.initial_state.unsqueeze(0), u[:-1]))  # u(0)..u(T-1)
        return u, torch.addmm(self.visible_bias, u_before, self.W_uv), torch.addmm(self.hidden_bias, u_before,
                                                                                  self.W_uh)

    # -- the conditional RBMs (section 12.2.1) ------------------------------
    def free_energy(self, v: Tensor, bv_t: Tensor, bh_t: Tensor) -> Tensor:
        """F_t(v(t)) = -v(t) . b_v(t) - sum_i softplus(b_h(t) + v(t) W')_i for every row t of ``v``.

        ``F.softplus`` is log(1 + exp(.)) without the overflow of the
        tutorial's T.log(1 + T.exp(.)).
        """
        return -(v * bv_t).sum(dim=1) - F.softplus(torch.addmm(bh_t, v, self.weight.T)).sum(dim=1)

    def gibbs_chain(self, v: Tensor, bv_t: Tensor, bh_t: Tensor, k: int,
                    bernoulli: Sampler = functional.bernoulli) -> Tensor:
        """k Gibbs steps v -> h ~ P(h|v) -> v ~ P(v|h) in every row's RBM at once; returns the last v sample.

        Row t runs in the RBM with biases b_v(t), b_h(t) (rows of ``bv_t``,
        ``bh_t``, or vectors shared by all rows); each half-step is one
        matmul over all rows, which is what makes training fast: the frames
        of a subsequence are independent given the RNN, like the examples of
        a minibatch. ``bernoulli(p)`` draws the binary samples (tests pass
        their own uniforms through it); the draws alternate h, v as the
        tutorial's gibbs_step, the same order as ``RBM``'s CD-k chain.
        """
        for _ in range(k):
            h = bernoulli(torch.sigmoid(torch.addmm(bh_t, v, self.weight.T)))
            v = bernoulli(torch.sigmoid(torch.addmm(bv_t, h, self.weight)))
        return v

    def monitor_activation(self, v_sample: Tensor, bv_t: Tensor, bh_t: Tensor,
                           bernoulli: Sampler = functional.bernoulli) -> Tensor:
        """Pre-sigmoid visible activation b_v(t) + h W of one more half-step, h ~ P(h | v_sample).

        The tutorial's ``mean_v = gibbs_step(v_sample)[0]`` before the sigmoid.
        """
        h = bernoulli(torch.sigmoid(torch.addmm(bh_t, v_sample, self.weight.T)))
        return torch.addmm(bv_t, h, self.weight)

    @staticmethod
    def monitor(v: Tensor, pre_sigmoid_v: Tensor) -> Tensor:
        """The tutorial's monitor: mean over frames of sum_j [v_j log sigm(a_j) + (1 - v_j) log sigm(-a_j)].

        The tutorial calls it a pseudo-likelihood; it is the log-likelihood
        of the data under the factorised mean-field of ``monitor_activation``
        (a negative reconstruction cross-entropy). Its xlogy0 form takes the
        log of the sigmoid's output, -inf as soon as a note that sounds gets a
        mean that rounds to 0 (or a silent one a mean that rounds to 1): the
        "Epoch 198/200 -inf" of section 12.3. ``F.logsigmoid`` of the
        pre-sigmoid activation is finite for every finite a.
        """
        return (v * F.logsigmoid(pre_sigmoid_v) + (1 - v) * F.logsigmoid(-pre_sigmoid_v)).sum() / v.shape[0]

    # -- training (the tutorial's train_function) ---------------------------
    def update(self, v: Tensor) -> Tensor:
        """One SGD step on the subsequence ``v`` (T, n_visible); returns the monitor, detached.

        As the tutorial's train_function: the gradient of the cost with the
        CD-k chain's end held constant (T.grad's consider_constant=[v_sample]),
        and the monitor computed with the parameters before the step.
        """
        v = v.to(self.weight)
        optimizer = self.optimizers().optimizer  # the bare optimiser, as PretrainedLayer.sgd_step
        optimizer.zero_grad(set_to_none=True)
        if self.gradient == "explicit":
            with torch.no_grad():
                u, bv_t, bh_t = self.recurrence(v)
                v_sample = self.gibbs_chain(v, bv_t, bh_t, self.cd_k)
                monitor = self.monitor(v, self.monitor_activation(v_sample, bv_t, bh_t))
                self._explicit_gradient(v, v_sample, u, bv_t, bh_t)
        else:
            _, bv_t, bh_t = self.recurrence(v)  # with a graph, for backpropagation through time
            with torch.no_grad():
                v_sample = self.gibbs_chain(v, bv_t, bh_t, self.cd_k)
                monitor = self.monitor(v, self.monitor_activation(v_sample, bv_t, bh_t))
            self.cost(v, v_sample, bv_t, bh_t).backward()
        if self.gradient_clip is not None:
            nn.utils.clip_grad_norm_(self.parameters(), self.gradient_clip)
        optimizer.step()
        return monitor

    def cost(self, v: Tensor, v_sample: Tensor, bv_t: Tensor, bh_t: Tensor) -> Tensor:
        """(1/T) sum_t [F_t(v(t)) - F_t(v*(t))]: its gradient with v* constant is the CD-k estimate."""
        return (self.free_energy(v, bv_t, bh_t).sum() - self.free_energy(v_sample, bv_t, bh_t).sum()) / len(v)

    def _explicit_gradient(self, v: Tensor, v_sample: Tensor, u: Tensor, bv_t: Tensor, bh_t: Tensor) -> None:
        """Store the gradient of ``cost`` in every parameter's ``.grad``, written out.

        With dF_t/db_v(t) = -v and dF_t/db_h(t) = -sigm(b_h(t) + v W') =: -h(v),

            g_v(t) = dcost/db_v(t) = (v*(t) - v(t)) / T,    g_h(t) = (h(v*(t)) - h(v(t))) / T,
            dcost/dW = sum_t [h(v*(t))' v*(t) - h(v(t))' v(t)] / T,

        and b_v, W_uv (b_h, W_uh) collect g_v (g_h) over frames with u(t-1).
        Through the RNN, with a(t) the argument of tanh in Eq. 12.3,

            dcost/du(t) = g_v(t+1) W_uv' + g_h(t+1) W_uh' + dcost/da(t+1) W_uu'   (no first term for t = T)
            dcost/da(t) = dcost/du(t) * (1 - u(t)^2),

        a backward loop over t of one in-place matrix-vector product; W_uu,
        W_vu and b_u then collect dcost/da(t) with u(t-1), v(t) and 1 in one
        matmul each, and u(0) gets dcost/du(0).
        """
        n_frames = len(v)
        h_data = torch.sigmoid(torch.addmm(bh_t, v, self.weight.T))
        h_model = torch.sigmoid(torch.addmm(bh_t, v_sample, self.weight.T))
        g_v = (v_sample - v).div_(n_frames)
        g_h = (h_model - h_data).div_(n_frames)
        u_before = torch.cat((self.initial_state.unsqueeze(0), u[:-1]))
        direct = torch.addmm(g_v @ self.W_uv.T, g_h, self.W_uh.T)  # row t: through b_v(t+1), b_h(t+1) to u(t)
        # row t of grad_a: dcost/da(t+1); it starts as the direct term of u(t+1) (zero for u(T), which
        # nothing uses), then the loop adds the term through a(t+2) and multiplies by tanh'
        grad_a = torch.zeros_like(u)
        grad_a[:-1] = direct[1:]
        derivative = 1 - u * u
        for t in range(n_frames - 2, -1, -1):
            grad_a[t].addmv_(self.W_uu, grad_a[t + 1]).mul_(derivative[t])
        grads = {
            "weight": torch.addmm(h_model.T @ v_sample, h_data.T, v, alpha=-1).div_(n_frames),
            "visible_bias": g_v.sum(dim=0),
            "hidden_bias": g_h.sum(dim=0),
            "W_uv": u_before.T @ g_v,
            "W_uh": u_before.T @ g_h,
            "W_uu": u_before.T @ grad_a,
            "W_vu": v.T @ grad_a,
            "recurrent_bias": grad_a.sum(dim=0),
            "initial_state": torch.addmv(direct[0], self.W_uu, grad_a[0]),
        }
        for name, parameter in self.named_parameters():
            parameter.grad = grads[name]

    def start_from_rbm(self, rbm) -> None:
        """Take W, b_v, b_h from an RBM of the same sizes (its ``weight``, ``visible_bias``, ``hidden_bias``):
        section 12.4's pretraining on shuffled frames, where the recurrent weights play no part."""
        with torch.no_grad():
            for name in ("weight", "visible_bias", "hidden_bias"):
                source, target = getattr(rbm, name), getattr(self, name)
                if source.shape != target.shape:
                    raise ValueError(f"the RBM's {name} has shape {tuple(source.shape)}, this model's "
                                     f"{tuple(target.shape)}")
                target.copy_(source)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=self.learning_rate, momentum=self.momentum,
                               nesterov=self.nesterov)

    def subsequences(self, tune: Tensor) -> list[Tensor]:
        """Consecutive pieces of at most ``sequence_length`` frames (the last one shorter), as the tutorial cuts."""
        return list(tune.split(self.sequence_length))

    def training_step(self, tune: Tensor, batch_idx: int) -> None:
        """One update per subsequence of the tune (n_frames, n_visible); logs ``train/monitor``.

        The tutorial prints the mean monitor over every subsequence of the
        epoch. Logging this tune's mean with ``batch_size`` = its number of
        subsequences makes Lightning's epoch value the weighted mean
        sum_tunes(n_s * mean_s) / sum_tunes(n_s), i.e. exactly that mean over
        subsequences, not a mean over tunes.
        """
        if tune.dim() != 2:
            raise ValueError(f"training_step expects one tune (n_frames, n_visible), got shape {tuple(tune.shape)}")
        pieces = self.subsequences(tune.to(self.weight))
        if not pieces:
            return
        monitors = torch.stack([self.update(piece) for piece in pieces])
        self.log("train/monitor", monitors.mean(), on_step=False, on_epoch=True, prog_bar=True,
                 batch_size=len(pieces), reduce_fx="mean")

    # -- sampling and evaluation --------------------------------------------
    @torch.no_grad()
    def generate(self, n_frames: PositiveInt = 200, gibbs_steps: PositiveInt = 25,
                 n_sequences: PositiveInt | None = None) -> Tensor:
        """A sampled piano roll (n_frames, n_visible) of 0/1, or (n_sequences, n_frames, n_visible) for several.

        As the tutorial's generate_function: at frame t the RBM's biases
        come from u(t-1), a ``gibbs_steps``-long chain starts from a frame of
        zeros, and its sample v(t) goes into the recurrence. The sequences
        are independent chains run side by side.
        """
        check_arguments(RNNRBM.generate, locals())
        batch = 1 if n_sequences is None else n_sequences
        u = self.initial_state.expand(batch, -1)
        zeros = self.weight.new_zeros(batch, self.n_visible)
        frames = []
        for _ in range(n_frames):
            v = self.gibbs_chain(zeros, torch.addmm(self.visible_bias, u, self.W_uv),
                                 torch.addmm(self.hidden_bias, u, self.W_uh), gibbs_steps)
            u = torch.tanh(self.recurrent_bias + v @ self.W_vu + u @ self.W_uu)
            frames.append(v)
        rolls = torch.stack(frames, dim=1)
        return rolls[0] if n_sequences is None else rolls

    @torch.no_grad()
    def evaluate(self, v: Tensor, gibbs_steps: PositiveInt = 25) -> dict:
        """Monitor and frame-level transcription counts on a binary sequence ``v`` (T, n_visible), no update.

        Returns ``monitor`` (as ``update``'s: CD-k chain from the data, one
        more half-step) and the counts ``tp``, ``fp``, ``fn`` (ints) of a
        prediction of every frame given the true past: b_v(t), b_h(t) from
        the recurrence over ``v``, then a ``gibbs_steps``-long chain from a
        frame of zeros as in ``generate``, all frames at once. Summed over a
        split, ACC = TP / (TP + FP + FN) is the frame-level accuracy of
        [Bay09] that [BoulangerLewandowski12] report; one sample per frame
        makes it a Monte Carlo estimate of their expected accuracy. The RNN
        starts from u(0) at the first frame of ``v``: pass a whole tune to
        predict every frame from its full past.
        """
        check_arguments(RNNRBM.evaluate, locals())
        v = v.to(self.weight)
        _, bv_t, bh_t = self.recurrence(v)
        v_sample = self.gibbs_chain(v, bv_t, bh_t, self.cd_k)
        monitor = self.monitor(v, self.monitor_activation(v_sample, bv_t, bh_t))
        prediction = self.gibbs_chain(torch.zeros_like(v), bv_t, bh_t, gibbs_steps)
        tp = int((prediction * v).sum().item())
        return {"monitor": monitor, "tp": tp, "fp": int(prediction.sum().item()) - tp,
                "fn": int(v.sum().item()) - tp, "frames": len(v)}
