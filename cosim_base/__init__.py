"""The leaf every layer may import: project errors and the one parameter check
(:mod:`cosim_base.errors`), named random streams from one seed (:mod:`cosim_base.seeds`).
It imports nothing of the project."""
