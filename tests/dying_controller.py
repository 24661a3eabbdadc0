"""A controller that kills its own process (SIGKILL) at its first decision while ``marker`` does not
exist, creating it first: a worker process that dies mid-run, for the sweep fault tests."""
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
