"""The race to a test accuracy: chainrule, PyTorch and JAX train one recipe side by side.

``chainrule bench --to-accuracy [FRACTION]``: :mod:`.recipe` reads the recipe (the main
job's config), :mod:`.race` trains it with every system and times it, :mod:`.report`
prints the tables. Each system is one module with ``VERSION`` and
``train(recipe, after_epoch)``, which returns the seconds of set-up it spent before the
first epoch (JAX's compiling; chainrule's checks, where its compiled kernels load; None
for none), loaded only when it runs; see :mod:`.race`.
"""
