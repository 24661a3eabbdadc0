"""Optimization core (pure cvxpy, layer 1), controller stages and baselines, and their mosaik adapter."""
