"""LeNet convolutional network (tutorial chapter 6)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dltutorials.fields import NonNegativeFloat, PositiveFloat, PositiveInt, check_arguments
from dltutorials.models.classifier import LogisticLayer, TanhOrSigmoidLayer, TutorialClassifier


class ConvPoolLayer(nn.Conv2d):
    """tanh(maxpool(W * x) + b): convolution, max-pooling, then bias and tanh (section 6.8).

    Filters are drawn from U(-sqrt(3/fan_in), sqrt(3/fan_in)) with
    fan_in = input maps x filter height x filter width; biases start at zero.
    """

    def __init__(self, in_maps: int, out_maps: int, filter_size: int, pool_size: int) -> None:
        super().__init__(in_maps, out_maps, filter_size, bias=True)
        self.pool_size = pool_size

    def reset_parameters(self) -> None:
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = (3.0 / fan_in) ** 0.5
        with torch.no_grad():
            self.weight.uniform_(-bound, bound)
            self.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        pooled = F.max_pool2d(F.conv2d(x, self.weight), self.pool_size)
        return torch.tanh(pooled + self.bias.view(1, -1, 1, 1))


class LeNet(TutorialClassifier):
    """conv5x5(20)-pool2-tanh, conv5x5(50)-pool2-tanh, 500 tanh, softmax (section 6.8)."""

    def __init__(
        self,
        image_shape: tuple[int, int, int] | list[int],
        n_out: PositiveInt,
        learning_rate: PositiveFloat,
        n_kerns: tuple[int, int] | list[int] = (20, 50),
        filter_size: PositiveInt = 5,
        pool_size: PositiveInt = 2,
        n_hidden: PositiveInt = 500,
        l1_reg: NonNegativeFloat = 0.0,
        l2_reg: NonNegativeFloat = 0.0,
    ) -> None:
        check_arguments(LeNet, locals())
        super().__init__(learning_rate, l1_reg, l2_reg, n_out)
        self.save_hyperparameters()
        channels, height, width = image_shape
        self.image_shape = (channels, height, width)
        self.conv1 = ConvPoolLayer(channels, n_kerns[0], filter_size, pool_size)
        self.conv2 = ConvPoolLayer(n_kerns[0], n_kerns[1], filter_size, pool_size)
        for _ in range(2):  # each conv-pool stage: valid convolution, then pooling
            height, width = (height - filter_size + 1) // pool_size, (width - filter_size + 1) // pool_size
        if height < 1 or width < 1:
            raise ValueError(f"image_shape {list(image_shape)} is too small for two "
                             f"{filter_size}x{filter_size} conv-pool stages")
        self.hidden = TanhOrSigmoidLayer(n_kerns[1] * height * width, n_hidden, "tanh")
        self.logistic = LogisticLayer(n_hidden, n_out)
        # Channels-last (NHWC) images and filters: oneDNN's convolutions and max-pooling
        # are about 2x faster on the CPU in this layout; every value computed is the same.
        self.to(memory_format=torch.channels_last)

    def forward(self, x: Tensor) -> Tensor:
        x = x.view(-1, *self.image_shape).contiguous(memory_format=torch.channels_last)
        x = self.conv2(self.conv1(x))
        return self.logistic(self.hidden(x.flatten(1)))
