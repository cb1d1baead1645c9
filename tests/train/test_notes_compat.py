"""The notes a failing hook adds to the run's exception, also where exceptions have no
``add_note`` (Python 3.10, which the project supports)."""

import pytest

from chainrule import nn, optim
from chainrule.data import make_moons
from chainrule.train import Callback, LambdaCallback, fit
from chainrule.train.interrupt import add_note


class NoAddNote(ValueError):
    """An exception as Python 3.10 makes them: no ``add_note`` method."""

    def __getattribute__(self, name):
        if name == "add_note":
            raise AttributeError(f"{type(self).__name__!r} object has no attribute 'add_note'")
        return super().__getattribute__(name)


def test_the_stand_in_has_no_add_note():
    assert not hasattr(NoAddNote(), "add_note")


def test_a_note_is_appended_to_dunder_notes_without_add_note():
    error = NoAddNote("run failed")
    add_note(error, "first")
    add_note(error, "second")
    assert error.__notes__ == ["first", "second"]


def test_a_note_goes_through_add_note_where_it_exists():
    class Recorded(ValueError):
        def add_note(self, note):
            self.__notes__ = [*getattr(self, "__notes__", ()), f"via add_note: {note}"]

    error = Recorded("run failed")
    add_note(error, "first")
    add_note(error, "second")
    assert error.__notes__ == ["via add_note: first", "via add_note: second"]


def test_a_plain_exception_gets_the_notes():
    error = ValueError("run failed")
    add_note(error, "first")
    add_note(error, "second")
    assert error.__notes__ == ["first", "second"]


def test_a_failing_hook_keeps_the_runs_error_without_add_note():
    # on Python 3.10 the hook's note raised AttributeError in place of the run's error,
    # and the later hooks never ran
    ran = []

    def boom(trainer, batch, loss):
        raise NoAddNote("original error")

    class BadCleanup(Callback):
        def on_exception(self, trainer, error):
            raise RuntimeError("cleanup failed")

    later = LambdaCallback(on_exception=lambda trainer, error: ran.append(error))
    X, y = make_moons(64, seed=0)
    model = nn.MLP([2, 4, 2], seed=0)
    with pytest.raises(NoAddNote, match="original error") as info:
        fit(
            model,
            "cross_entropy",
            optim.SGD(model.named_parameters()),
            X,
            y,
            epochs=1,
            progress=False,
            callbacks=[LambdaCallback(on_batch_end=boom), BadCleanup(), later],
        )
    assert ran == [info.value]
    assert info.value.__notes__ == ["BadCleanup.on_exception raised RuntimeError: cleanup failed"]
