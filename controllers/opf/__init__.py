"""Network-constrained multi-period OPF co-optimization (pure cvxpy, no mosaik)."""
