"""The seed studies, one module per paper of ../shared/seeds (see cosim.study)."""
