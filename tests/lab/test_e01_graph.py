from chainrule.lab import EXPERIMENTS


def test_graph_backprop_matches_the_notes(tmp_path, check_pngs):
    result = EXPERIMENTS["graph"]("fast", tmp_path)
    grads = result.numbers["backprop_gradients"]
    assert result.numbers["J"] == 33.0
    assert (grads["a"], grads["b"], grads["c"], grads["u"], grads["v"]) == (3, 6, 9, 3, 3)
    assert result.numbers["max_abs_error_vs_finite_differences"] < 1e-6
    assert result.verdict
    check_pngs(result.figures, tmp_path)


def test_intermediate_gradients_come_from_js_own_backward_pass(tmp_path, monkeypatch):
    """dJ/dv is computed once, from J, and handed on as the seed of the backward pass
    below v; dJ/du likewise below u. No graph is rebuilt to get them."""
    import chainrule as cr

    calls = []
    backward = cr.Tensor.backward

    def recording(self, grad=None, retain_graph=False):
        calls.append((self.item(), None if grad is None else float(grad)))
        backward(self, grad, retain_graph)

    monkeypatch.setattr(cr.Tensor, "backward", recording)
    result = EXPERIMENTS["graph"]("fast", tmp_path)
    # J = 33 unseeded, then v = 11 seeded with dJ/dv = 3, then u = 6 seeded with dJ/du = 3,
    # then the uncut graph's single J.backward() the leaf gradients are compared with
    assert calls == [(33.0, None), (11.0, 3.0), (6.0, 3.0), (33.0, None)]
    assert result.numbers["leaf_gradients_equal_uncut_graph"] is True
    assert result.verdict
