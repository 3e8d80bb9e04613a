"""Batch-1 SGD steps fused into one pass over the weight matrix (CPU).

At batch 1 an SGD update does one or two multiply-adds per weight per pass,
so its time is set by moving the weights through the memory hierarchy, not by
arithmetic (``bench/bandwidth.py``). Written with torch, a hidden layer's
backward step passes over W twice: once to propagate the error down
(``delta @ W``), once to add the outer product (``addr_``/``addmm_``). The
kernels here do such work for each row of W while it is in cache, so each
row is read and written once:

- ``propagate_and_descend``: a dense layer's error below and its step;
- ``descend_and_forward``: a dense layer's step and the next example's
  product W x + b (the first layer of a network, whose step is the last of an
  update and whose product is the first of the next);
- ``tied_autoencoder_pass``: a dA's whole step and the next example's code and
  decoding.

They compile with numba on first use (cached on disk) and run on one thread,
like the tutorial's batch-1 jobs. They take CPU tensors only; callers use
:func:`fusable` to decide, and keep their torch code for everything else
(GPUs, batches above 1).
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from torch import Tensor

# reassociation lets the per-row dot product use vector registers; no assumption about NaN or infinities
_FAST = {"reassoc", "contract"}


def fusable(*tensors: Tensor) -> bool:
    """True when the fused kernels can run on ``tensors``: CPU float32/float64, all of one dtype."""
    dtype = tensors[0].dtype
    return dtype in (torch.float32, torch.float64) and all(t.device.type == "cpu" and t.dtype == dtype
                                                           for t in tensors)


def _array(t: Tensor) -> np.ndarray:
    return t.detach().numpy()


def _check_lengths(weight: Tensor, rows: tuple[Tensor, ...], columns: tuple[Tensor, ...]) -> None:
    """Vectors along W's rows and columns must match its shape: the kernels do not check their indices."""
    n_rows, n_columns = weight.shape
    for vectors, n, axis in ((rows, n_rows, "rows"), (columns, n_columns, "columns")):
        if any(v.shape != (n,) for v in vectors):
            raise ValueError(f"vectors of shapes {[tuple(v.shape) for v in vectors]} for W's {n} {axis} "
                             f"(W is {n_rows} x {n_columns})")


def _scalars(weight: Tensor, *values: float) -> list[np.generic]:
    """``values`` in the weights' dtype, so the kernels compute in float32 like torch (not float64)."""
    scalar = _array(weight).dtype.type
    return [scalar(v) for v in values]


@numba.njit(fastmath=_FAST, cache=True)
def _propagate_and_descend(weight, bias, delta, inputs, learning_rate, shrink, l1_step, below):
    for i in range(weight.shape[0]):
        d = delta[i]
        step = learning_rate * d
        row = weight[i]
        for j in range(weight.shape[1]):
            w = row[j]
            below[j] += d * w
            row[j] = shrink * w - l1_step * np.sign(w) - step * inputs[j]
        bias[i] -= step


def propagate_and_descend(weight: Tensor, bias: Tensor, delta: Tensor, inputs: Tensor, learning_rate: float,
                          shrink: float = 1.0, l1_step: float = 0.0) -> Tensor:
    """One example's backward step through a dense layer z = W a + b, in one pass over W.

    ``delta`` is the error at z (dcost/dz) and ``inputs`` the layer's input a,
    both vectors. Returns delta' W, the error at a before the activation's
    derivative, computed with W as it was; then, in place,

        W <- shrink W - l1_step sign(W) - lr delta a',    b <- b - lr delta.
    """
    _check_lengths(weight, (bias, delta), (inputs,))
    below = torch.zeros(weight.shape[1], dtype=weight.dtype)
    _propagate_and_descend(_array(weight), _array(bias), _array(delta), _array(inputs),
                           *_scalars(weight, learning_rate, shrink, l1_step), below.numpy())
    return below


@numba.njit(fastmath=_FAST, cache=True)
def _descend_and_forward(weight, bias, delta, inputs, learning_rate, shrink, l1_step, x_next, out):
    for i in range(weight.shape[0]):
        step = learning_rate * delta[i]
        bias[i] -= step
        row = weight[i]
        pre_activation = bias[i]
        for j in range(weight.shape[1]):  # the step and the next example's product, each weight in turn
            w = shrink * row[j] - l1_step * np.sign(row[j]) - step * inputs[j]
            row[j] = w
            pre_activation += w * x_next[j]
        out[i] = pre_activation


def descend_and_forward(weight: Tensor, bias: Tensor, x_next: Tensor, learning_rate: float = 0.0,
                        step: tuple[Tensor, Tensor] | None = None, shrink: float = 1.0,
                        l1_step: float = 0.0) -> Tensor:
    """One example's step on a dense layer z = W a + b, then the next example's z, in one pass over W.

    ``step`` = (delta, inputs): the error at z and the layer's input a of the
    example before (vectors); its step is ``propagate_and_descend``'s,

        W <- shrink W - l1_step sign(W) - lr delta a',    b <- b - lr delta,

    without the error below. Returns W x_next + b with the stepped W and b;
    with no ``step``, W and b stay as they are.
    """
    n_out, n_in = weight.shape
    if step is None:
        step, shrink, l1_step = (weight.new_zeros(n_out), weight.new_zeros(n_in)), 1.0, 0.0
    _check_lengths(weight, (bias, step[0]), (step[1], x_next))
    out = weight.new_empty(n_out)
    _descend_and_forward(_array(weight), _array(bias), *(_array(t) for t in step),
                         *_scalars(weight, learning_rate, shrink, l1_step), _array(x_next), out.numpy())
    return out


@numba.njit(fastmath=_FAST, cache=True)
def _tied_autoencoder_pass(weight, hidden_bias, learning_rate, delta_v, h, x_tilde, x_next, h_next, decoded):
    zero, one = weight.dtype.type(0), weight.dtype.type(1)
    code = x_next.shape[0] > 0
    decoded[:] = zero
    for j in range(weight.shape[0]):
        row = weight[j]
        back = zero
        for k in range(weight.shape[1]):
            back += row[k] * delta_v[k]
        delta_h = back * h[j] * (one - h[j])
        decoder_step, encoder_step = learning_rate * h[j], learning_rate * delta_h
        hidden_bias[j] -= encoder_step
        if not code:
            for k in range(weight.shape[1]):
                row[k] -= decoder_step * delta_v[k] + encoder_step * x_tilde[k]
            continue
        pre_sigmoid = hidden_bias[j]
        for k in range(weight.shape[1]):  # the step and the next code's product, each weight in turn
            w = row[k] - (decoder_step * delta_v[k] + encoder_step * x_tilde[k])
            row[k] = w
            pre_sigmoid += w * x_next[k]
        h_j = one / (one + np.exp(-pre_sigmoid))
        h_next[j] = h_j
        for k in range(weight.shape[1]):
            decoded[k] += h_j * row[k]


def tied_autoencoder_pass(weight: Tensor, hidden_bias: Tensor, learning_rate: float,
                          step: tuple[Tensor, Tensor, Tensor] | None = None,
                          x_next: Tensor | None = None) -> tuple[Tensor, Tensor] | None:
    """One pass over a tied autoencoder's W (each row in cache while it is used): one example's SGD step
    on W and b, then the next example's code and decoding, each optional.

    ``step`` = (delta_v, h, x_tilde): the error at the decoder's pre-activation,
    the code h = s(W x_tilde + b) and the encoder's input (vectors). With
    delta_h_j = (W_j . delta_v) h_j (1 - h_j), W as it was,

        W_j <- W_j - lr (h_j delta_v + delta_h_j x_tilde),    b_j <- b_j - lr delta_h_j.

    ``x_next``: returns the code of this input with the stepped W and b,
    h' = s(W x_next + b), and W' h' (its decoder's pre-activation less b').
    """
    n_hidden, n_visible = weight.shape
    if step is None:  # a zero step: W and b stay as they are
        step = (weight.new_zeros(n_visible), weight.new_zeros(n_hidden), weight.new_zeros(n_visible))
    code = x_next is not None
    _check_lengths(weight, (hidden_bias, step[1]), (step[0], step[2]) + ((x_next,) if code else ()))
    h_next, decoded = (weight.new_empty(n if code else 0) for n in (n_hidden, n_visible))
    _tied_autoencoder_pass(_array(weight), _array(hidden_bias), *_scalars(weight, learning_rate),
                           *(_array(t) for t in step), _array(weight.new_empty(0) if x_next is None else x_next),
                           h_next.numpy(), decoded.numpy())
    return (h_next, decoded) if code else None
