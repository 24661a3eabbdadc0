"""True-plant models (pure numpy, layer 1) and their thin mosaik adapters (``*_sim.py``, layer 2)."""
