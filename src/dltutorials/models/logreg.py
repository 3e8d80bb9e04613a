"""Logistic regression on raw pixels (tutorial chapter 4)."""

from __future__ import annotations

from dltutorials.fields import Gradient, NonNegativeFloat, PositiveFloat, PositiveInt, check_arguments
from dltutorials.models.classifier import DenseClassifier, LogisticLayer


class LogisticRegression(DenseClassifier):
    """P(Y=i|x, W, b) = softmax_i(W x + b), with W and b initialised at zero (section 4.1)."""

    def __init__(self, n_in: PositiveInt, n_out: PositiveInt, learning_rate: PositiveFloat,
                 l1_reg: NonNegativeFloat = 0.0, l2_reg: NonNegativeFloat = 0.0,
                 gradient: Gradient = "explicit") -> None:
        check_arguments(LogisticRegression, locals())
        super().__init__(learning_rate, l1_reg, l2_reg, n_out, gradient)
        self.save_hyperparameters()
        self.logistic = LogisticLayer(n_in, n_out)

    def hidden_stack(self) -> list:
        return []
