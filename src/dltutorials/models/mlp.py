"""Multilayer perceptron with one hidden layer (tutorial chapter 5)."""

from __future__ import annotations

from dltutorials.fields import Gradient, NonNegativeFloat, PositiveFloat, PositiveInt, check_arguments
from dltutorials.models.classifier import Activation, DenseClassifier, LogisticLayer, TanhOrSigmoidLayer


class MLP(DenseClassifier):
    """f(x) = softmax(b2 + W2 s(b1 + W1 x)) (section 5.1).

    W1 is Glorot-uniform (x4 for a sigmoid s), the logistic layer starts at zero.
    The tutorial's protocol: 784-500(tanh)-10, lr 0.01, L1 0, L2 1e-4, batch 20.
    """

    def __init__(
        self,
        n_in: PositiveInt,
        n_hidden: PositiveInt,
        n_out: PositiveInt,
        learning_rate: PositiveFloat,
        l1_reg: NonNegativeFloat = 0.0,
        l2_reg: NonNegativeFloat = 0.0,
        activation: Activation = "tanh",
        gradient: Gradient = "explicit",
    ) -> None:
        check_arguments(MLP, locals())
        super().__init__(learning_rate, l1_reg, l2_reg, n_out, gradient)
        self.save_hyperparameters()
        self.hidden = TanhOrSigmoidLayer(n_in, n_hidden, activation)
        self.logistic = LogisticLayer(n_hidden, n_out)

    def hidden_stack(self) -> list[TanhOrSigmoidLayer]:
        return [self.hidden]
