"""Neural-network building blocks: modules, layers, an MLP builder and the config registry.

>>> from chainrule import nn
>>> net = nn.MLP([784, 30, 10], activation="sigmoid", output="sigmoid", seed=0)
>>> clone = nn.from_config(net.get_config())
>>> clone.load_state_dict(net.state_dict())
"""

from chainrule.nn.activation import (
    ACTIVATIONS,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
)
from chainrule.nn.batchnorm import BatchNorm1d
from chainrule.nn.dropout import Dropout
from chainrule.nn.inspect import ends_in_probabilities, input_width, output_layer, output_width
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.nn.registry import LAYERS, from_config
from chainrule.nn.sequential import DEFAULT_INIT, MLP, OUTPUTS, Sequential

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_INIT",
    "LAYERS",
    "MLP",
    "OUTPUTS",
    "BatchNorm1d",
    "Dropout",
    "Identity",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "ends_in_probabilities",
    "from_config",
    "get_activation",
    "input_width",
    "output_layer",
    "output_width",
]
