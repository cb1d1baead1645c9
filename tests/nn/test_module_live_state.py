"""Module.live_state: the parameters' and buffers' own arrays, as load_state_dict and a
resume's undo write into them."""

from __future__ import annotations

import numpy as np

from chainrule import nn


def test_live_state_is_the_state_dict_without_the_copies():
    net = nn.MLP([4, 6, 5, 3], dropout=0.5, batch_norm=True, seed=0)
    live, copies = net.live_state(), net.state_dict()
    assert list(live) == list(copies)  # the keys of state_dict, in its order
    for name, array in live.items():
        assert np.array_equal(array, copies[name]), name
    params, buffers = dict(net.named_parameters()), dict(net.named_buffers())
    assert all(live[name] is p.data for name, p in params.items())
    assert all(live[name] is b for name, b in buffers.items())
    assert len(live) == len(params) + len(buffers)


def test_writing_into_live_state_writes_into_the_module():
    net = nn.MLP([2, 3, 2], seed=0)
    live = net.live_state()
    live["layers.0.weight"][...] = 7.0
    assert (net.state_dict()["layers.0.weight"] == 7.0).all()


def test_a_tensor_registered_twice_is_listed_once():
    shared = nn.Linear(2, 2, rng=0)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert list(net.live_state()) == ["0.weight", "0.bias"]
