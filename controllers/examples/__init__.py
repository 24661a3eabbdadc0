"""Controllers of the contract (controllers.contract) to copy from: a rule-based time-of-use
scheme (:mod:`controllers.examples.tou_rules`) and a single-stage MPC on the OPF core
(:mod:`controllers.examples.mpc`)."""
