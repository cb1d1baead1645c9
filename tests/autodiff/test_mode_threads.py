"""The engine's switches (``no_grad``, ``numpy_rules``, ``detect_anomaly``) are each
thread's own: they were the process's, so a block entered in one thread turned recording
off in every other, and two threads' blocks that overlapped left it off for good."""

import threading

import numpy as np

import chainrule as cr
from chainrule.autodiff.backend import engine_kernels


def _overlapping(block):
    """Thread A enters ``block()``, then B enters one, A leaves, B leaves; returns what A
    saw of ``cr.is_grad_enabled()`` outside its block while B was inside its own."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = []

    def first():
        with block():
            a_in.set()
            b_in.wait()
        seen.append(cr.is_grad_enabled())
        a_out.set()

    def second():
        a_in.wait()
        with block():
            b_in.set()
            a_out.wait()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return seen


def test_overlapping_no_grad_blocks_of_two_threads_leave_recording_on():
    assert _overlapping(cr.no_grad) == [True]  # B's block did not reach A
    assert cr.is_grad_enabled()
    w = cr.tensor(np.ones(3), requires_grad=True)
    (w * 2).sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 2.0])


def test_overlapping_numpy_rules_blocks_leave_the_compiled_rules_on():
    compiled = engine_kernels()
    _overlapping(cr.numpy_rules)
    assert engine_kernels() is compiled


def test_one_instance_entered_by_two_threads_restores_each_threads_own_value():
    shared = cr.no_grad()
    assert _overlapping(lambda: shared) == [True]
    assert cr.is_grad_enabled()


def test_a_thread_predicting_under_no_grad_leaves_another_threads_training_recorded():
    # fit's steps in one thread found recording off while another thread predicted
    inside, done = threading.Event(), threading.Event()
    errors = []

    def predict_meanwhile():
        with cr.no_grad():
            inside.set()
            done.wait()

    thread = threading.Thread(target=predict_meanwhile)
    thread.start()
    inside.wait()
    try:
        w = cr.tensor(np.ones(2), requires_grad=True)
        loss = (w * w).sum()
        assert loss.requires_grad
        loss.backward()
    except RuntimeError as exc:
        errors.append(exc)
    finally:
        done.set()
        thread.join()
    assert errors == [] and w.grad.tolist() == [2.0, 2.0]


def test_a_new_thread_starts_with_the_defaults_whatever_block_its_parent_is_in():
    seen = []
    with cr.no_grad(), cr.detect_anomaly():
        thread = threading.Thread(target=lambda: seen.append(cr.is_grad_enabled()))
        thread.start()
        thread.join()
        assert not cr.is_grad_enabled()
    assert seen == [True]


def test_mean_leaves_each_threads_numpy_error_settings_its_own():
    # mean's np.errstate decorator swapped two threads' settings on NumPy 1.x (a shared
    # object), which pyproject.toml's floor, numpy>=2.0, now excludes
    x = cr.tensor(np.ones((200, 100)))
    start, settings = threading.Barrier(2), {}

    def loop(name, state):
        with np.errstate(**state):
            start.wait()
            for _ in range(300):
                x.mean(axis=0)
            settings[name] = np.geterr()

    threads = [
        threading.Thread(target=loop, args=("raise", {"all": "raise"})),
        threading.Thread(target=loop, args=("ignore", {"all": "ignore"})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(settings["raise"].values()) == {"raise"}
    assert set(settings["ignore"].values()) == {"ignore"}
