"""Training: the loop, callbacks, metrics and diagnostics."""
