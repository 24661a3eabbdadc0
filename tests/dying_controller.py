"""Controllers that fail on purpose: DieOnce kills its own process (SIGKILL) at its first decision
while ``marker`` does not exist, creating it first (a worker process that dies mid-run, for the
sweep fault tests); Fails raises (a controller that crashes in a process of its own)."""
import os
import signal
from pathlib import Path

from controllers.contract import LocalControl, Param


class DieOnce(LocalControl):
    SCHEMA = {**LocalControl.SCHEMA, "marker": Param("", "file whose absence kills the process (then created)"),
              "always": Param(False, "kill at every first decision")}

    def control(self, obs):
        marker = Path(self.params["marker"])
        if self.params["always"] or not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return super().control(obs)


class Fails(LocalControl):
    """Raises at its first decision (a controller that crashes in its own process)."""

    def control(self, obs):
        raise RuntimeError("the user's controller failed")
