"""A ProgressBar that is no live bar writes each epoch's summary line in one write, so
the lines of runs in several threads sharing a stream do not break into one another (the
line and its newline were two writes: 3 of 240 lines of eight threads came glued)."""

import io

from chainrule import nn, optim
from chainrule.train import ProgressBar, fit


class _Writes(io.StringIO):
    def __init__(self):
        super().__init__()
        self.calls = []

    def write(self, text):
        self.calls.append(text)
        return super().write(text)


def test_each_summary_line_is_one_write(moons):
    stream = _Writes()
    X, y, _, _ = moons
    model = nn.MLP([2, 8, 2], seed=0)
    opt = optim.Adam(model.named_parameters(), lr=0.01)
    fit(model, "cross_entropy", opt, X, y, epochs=3, callbacks=[ProgressBar(stream=stream)])
    lines = [call for call in stream.calls if call.startswith("epoch ")]
    assert len(lines) == 3 and all(line.endswith("\n") for line in lines)
    assert stream.getvalue().count("\n") == 3
