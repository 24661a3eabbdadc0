"""cosim: co-simulation of an active distribution grid with a multi-timescale OPF controller.

``cosim.run(scenario) -> path`` runs a scenario (cosim.scenario.Scenario, a TOML path or text)
into one HDF5 record; ``cosim.read(path[, group, attr])`` loads it (cosim.record.read).
``cosim.sweep(SWEEP.toml, out=...)`` runs a batch sweep on Dask (cosim.sweeps.run_sweep).
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cosim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"


def __getattr__(name):  # lazy: `import cosim` stays light, cosim.run pulls in mosaik and cvxpy
    if name == "run":
        from cosim.world import run
        return run
    if name == "read":
        from cosim.record import read
        return read
    if name == "sweep":
        from cosim.sweeps import run_sweep
        return run_sweep
    raise AttributeError(f"module 'cosim' has no attribute {name!r}")
