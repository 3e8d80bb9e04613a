"""Batch-1 SGD steps fused into one pass over the weight matrix (CPU).

At batch 1 an SGD update does one or two multiply-adds per weight per pass,
so its time is set by moving the weights through the memory hierarchy, not by
arithmetic (``bench/bandwidth.py``). Written with torch, a hidden layer's
backward step passes over W twice: once to propagate the error down
(``delta @ W``), once to add the outer product (``addr_``/``addmm_``). The
kernels here do both in the same pass, each row of W read and written once,
which halves that traffic; they compile with numba on first use (cached on
disk) and run on one thread, like the tutorial's batch-1 jobs.

They take CPU tensors only; callers use :func:`fusable` to decide, and keep
their torch code for everything else (GPUs, batches above 1).
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
    below = torch.zeros(weight.shape[1], dtype=weight.dtype)
    _propagate_and_descend(_array(weight), _array(bias), _array(delta), _array(inputs),
                           *_scalars(weight, learning_rate, shrink, l1_step), below.numpy())
    return below


@numba.njit(fastmath=_FAST, cache=True)
def _tied_autoencoder_descend(weight, hidden_bias, delta_v, h, x_tilde, learning_rate):
    zero, one = weight.dtype.type(0), weight.dtype.type(1)
    for j in range(weight.shape[0]):
        row = weight[j]
        back = zero
        for k in range(weight.shape[1]):
            back += row[k] * delta_v[k]
        delta_h = back * h[j] * (one - h[j])
        decoder_step, encoder_step = learning_rate * h[j], learning_rate * delta_h
        for k in range(weight.shape[1]):
            row[k] -= decoder_step * delta_v[k] + encoder_step * x_tilde[k]
        hidden_bias[j] -= encoder_step


def tied_autoencoder_descend(weight: Tensor, hidden_bias: Tensor, delta_v: Tensor, h: Tensor, x_tilde: Tensor,
                             learning_rate: float) -> None:
    """One example's SGD step on W and b of a tied autoencoder, in one pass over W (row j in cache twice).

    With the error ``delta_v`` at the decoder's pre-activation, the code
    ``h`` = s(W x_tilde + b) and the encoder's input ``x_tilde`` (vectors):
    delta_h_j = (W_j . delta_v) h_j (1 - h_j) with W as it was, then

        W_j <- W_j - lr (h_j delta_v + delta_h_j x_tilde),    b_j <- b_j - lr delta_h_j.
    """
    _tied_autoencoder_descend(_array(weight), _array(hidden_bias), _array(delta_v), _array(h), _array(x_tilde),
                              *_scalars(weight, learning_rate))
