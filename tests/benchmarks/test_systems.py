"""The systems' data hook (what the memory probe counts as data and not as the step's) and
the result entries and meta shared by the throughput runner and the race."""

import platform
import sys
import types

import numpy as np
import pytest

from chainrule.autodiff.blas import openblas
from chainrule.bench import systems
from chainrule.bench.configs import CONFIGS, make_batches


def test_prepare_keeps_the_numpy_batches_of_a_system_without_a_hook():
    batches = make_batches(CONFIGS["a"], n_batches=2)
    module = systems.load("numpy")
    assert systems.prepare(module, batches) is batches


def test_prepare_returns_the_hooks_copy():
    batches = make_batches(CONFIGS["a"], n_batches=2)
    module = types.SimpleNamespace(prepare_batches=lambda b: [(x * 2, y) for x, y in b])
    prepared = systems.prepare(module, batches)
    assert len(prepared) == 2
    np.testing.assert_array_equal(prepared[1][0], batches[1][0] * 2)


def test_the_entries_of_a_missing_or_failed_system_and_the_host_meta():
    modules = {"torch": "chainrule.bench.systems.not_installed"}
    with pytest.raises(systems.MissingSystem) as info:
        systems.load("torch", modules)
    assert systems.missing_entry("torch", info.value) == {
        "missing": f"torch missing ({info.value.__cause__})"
    }
    assert "No module named" in systems.missing_entry("torch", info.value)["missing"]
    assert systems.failed_entry(MemoryError("cannot allocate")) == {
        "error": "MemoryError: cannot allocate"
    }
    host = systems.host()
    assert host.keys() == {"python", "machine"}
    assert host["python"] == sys.version.split()[0]
    assert host["machine"].startswith(f"{systems.cpu_name()}, {platform.machine()}, ")
    assert host["machine"].endswith(f", {systems.blas_name()}")


def test_the_cpu_is_named_with_its_family_and_model_where_linux_gives_them(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\n\n"
        "processor\t: 1\nmodel name\t: another\n"
    )
    assert systems.cpu_name(str(cpuinfo)) == "AMD EPYC (family 25, model 17)"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU\n")
    assert systems.cpu_name(str(cpuinfo)) == "Some CPU"
    missing = systems.cpu_name(str(tmp_path / "absent"))  # not Linux: what platform says
    assert missing == (platform.processor() or "unknown CPU")


def test_the_blas_is_named_with_its_version_and_kernels():
    found = openblas()
    if isinstance(found, str):
        assert systems.blas_name() == found
    else:
        assert systems.blas_name().startswith("OpenBLAS 0.")
        assert "  " not in systems.blas_name()


@pytest.mark.parametrize(
    "name", ["chainrule", "chainrule-eager", "chainrule-numpy", "torch", "jax"]
)
def test_a_system_trains_on_its_prepared_batches_as_they_are(name):
    try:
        module = systems.load(name)
    except systems.MissingSystem:
        pytest.skip(f"{name} is not installed")
    config = CONFIGS["a"]
    prepared = systems.prepare(module, make_batches(config, n_batches=2))
    assert not isinstance(prepared[0][0], np.ndarray)  # the library's own arrays
    assert systems.prepare(module, prepared) is prepared
    trainer = module.make_trainer(config, prepared)
    assert trainer.batches is prepared  # no second list, tuples or arrays
    trainer.run(2)
    assert np.isfinite(trainer.loss())


def test_torch_and_chainrule_wrap_the_pool_without_copying_it():
    batches = make_batches(CONFIGS["a"], n_batches=2)
    x = batches[0][0]
    wrapped = systems.prepare(systems.load("chainrule"), batches)[0][0]
    assert np.shares_memory(wrapped.data, x)
    try:
        torch_mlp = systems.load("torch")
    except systems.MissingSystem:
        pytest.skip("torch is not installed")
    assert np.shares_memory(systems.prepare(torch_mlp, batches)[0][0].numpy(), x)
