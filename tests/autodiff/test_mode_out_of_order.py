"""Blocks of the engine's switches that close out of order (a generator that opened
``no_grad``, closed inside another block) restore each switch: they shared one stack of
saved values, so ``no_grad`` closing inside ``detect_anomaly`` put back the value
``detect_anomaly`` had saved, and recording stayed off and anomaly detection on."""

import itertools

import numpy as np

import chainrule as cr
from chainrule.autodiff.mode import MODE


def _switches():
    return MODE.grad_enabled, MODE.anomaly, MODE.compiled


def _without_grad(n):
    with cr.no_grad():  # evaluates without a graph
        yield from range(n)


def test_a_generator_closed_inside_detect_anomaly_restores_both_switches():
    gen = _without_grad(3)
    next(gen)  # no_grad open inside the suspended generator
    with cr.detect_anomaly():
        gen.close()
        assert MODE.anomaly  # the open block keeps its own switch
        assert cr.is_grad_enabled()
    assert _switches() == (True, False, True)
    x = cr.tensor(np.ones(2), requires_grad=True)
    assert (x * 2).sum().requires_grad


def _close_in_every_order(blocks, expected):
    for order in itertools.permutations(range(len(blocks))):
        opened = [block() for block in blocks]
        for b in opened:
            b.__enter__()
        for i in order:
            opened[i].__exit__(None, None, None)
        assert _switches() == expected, order


def test_blocks_closed_in_any_order_restore_every_switch():
    blocks = [cr.no_grad, cr.detect_anomaly, cr.numpy_rules, cr.enable_grad, cr.no_grad]
    _close_in_every_order(blocks, (True, False, True))
    with cr.no_grad():  # from other values than the defaults too
        _close_in_every_order(blocks, (False, False, True))
    assert _switches() == (True, False, True)
