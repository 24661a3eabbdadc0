"""cosim: co-simulation of an active distribution grid with a multi-timescale OPF controller."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cosim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
