"""Logistic regression on raw pixels (tutorial chapter 4)."""

from __future__ import annotations

from dltutorials.models.classifier import DenseClassifier, LogisticLayer


class LogisticRegression(DenseClassifier):
    """P(Y=i|x, W, b) = softmax_i(W x + b), with W and b initialised at zero (section 4.1)."""

    def __init__(self, n_in: int, n_out: int, learning_rate: float, l1_reg: float = 0.0, l2_reg: float = 0.0,
                 gradient: str = "explicit") -> None:
        super().__init__(learning_rate, l1_reg, l2_reg, n_out, gradient)
        self.save_hyperparameters()
        self.logistic = LogisticLayer(n_in, n_out)

    def hidden_stack(self) -> list:
        return []
