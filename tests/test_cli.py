"""The command line: every help page renders, records are never overwritten, Ctrl-C keeps a partial record."""
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from cosim import cli
from cosim.record import partial_paths, read
from tests.small import small

COMMANDS = ["run", "report", "compare", "baselines", "study", "sweep"]


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_page_renders(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"] if command is None else [command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: cosim") and "%(" not in out
    if command is None:
        assert "with % against the first" in " ".join(out.split()) and all(c in out for c in COMMANDS)


def test_commands_that_write_records_take_out_and_overwrite(capsys):
    for command in ("run", "baselines", "study"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        out = capsys.readouterr().out
        assert "--out" in out and "--overwrite" in out, command


def test_an_existing_record_is_refused_before_anything_runs(tmp_path, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text(small(tmp_path).to_toml())
    (tmp_path / "old.h5").write_bytes(b"a record of someone's")
    t0 = time.perf_counter()
    assert cli.main(["run", str(toml), "--out", str(tmp_path / "old.h5"), "--quiet"]) == 2
    assert time.perf_counter() - t0 < 5  # nothing was built
    assert "old.h5 exists" in capsys.readouterr().err
    assert (tmp_path / "old.h5").read_bytes() == b"a record of someone's"
    (tmp_path / "b-actual.h5").write_bytes(b"x")
    assert cli.main(["baselines", str(toml), "--out", str(tmp_path / "b.h5"), "--variants", "perfect", "actual"]) == 2
    assert "b-actual.h5 exists" in capsys.readouterr().err and not (tmp_path / "b-perfect.h5").exists()


def test_ctrl_c_stops_a_run_and_keeps_a_partial_record(tmp_path):
    toml = tmp_path / "s.toml"  # plant-only days: long after the first writes, well before their end
    toml.write_text(small(tmp_path, duration_s=3 * 86400, **{"control.stages": []}).to_toml())
    out = tmp_path / "x.h5"
    proc = subprocess.Popen([sys.executable, "-m", "cosim.cli", "run", str(toml), "--out", str(out), "--quiet"],
                            cwd=os.path.dirname(os.path.dirname(__file__)), stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a background CI job ignores SIGINT
    deadline = time.monotonic() + 60
    while not partial_paths(out) and time.monotonic() < deadline:
        time.sleep(0.2)
    for _ in range(2):  # two writes: the record's header, then the first plant steps flushed
        size = os.path.getsize(partial_paths(out)[0])
        while os.path.getsize(partial_paths(out)[0]) <= size and time.monotonic() < deadline:
            time.sleep(0.1)
    time.sleep(0.2)  # into the run, well before its end
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    kept, = partial_paths(out)
    assert f"partial record is kept at {kept}" in err and not out.exists()
    rec = read(kept)
    assert not rec.complete and "plant/Bus" in rec.groups()
    p = rec.series("plant/Grid", "p_ext_mw")  # every step up to the interrupt, none torn
    assert 1 <= len(p) < 3 * 1440 and not p.isna().any().any()
    assert list(p.index) == list(pd.date_range("2024-01-15", periods=len(p), freq="60s"))


def test_a_ctrl_c_during_the_shutdown_waits_for_the_record(tmp_path, monkeypatch):
    """SIGINT while the world shuts down (the recorder finishing the record) is deferred: a run
    that reached its end keeps its complete record and returns it."""
    import mosaik

    from cosim import world
    from cosim.record import read

    shutdown = mosaik.World.shutdown

    def interrupted_shutdown(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)  # the handler runs here, in the middle of the cleanup
        shutdown(self)

    outer = signal.signal(signal.SIGINT, signal.default_int_handler)  # a background CI job ignores SIGINT
    try:
        monkeypatch.setattr(mosaik.World, "shutdown", interrupted_shutdown)
        sc = small(tmp_path, duration_s=600, **{"control.stages": []})
        path = world.run_parts(world.build_parts(sc))
    finally:
        signal.signal(signal.SIGINT, outer)
    assert read(path).complete and not partial_paths(path)


def test_a_ctrl_c_while_the_recorder_finishes_the_record_at_the_run_end_waits_for_it(tmp_path, monkeypatch):
    """SIGINT inside mosaik's shutdown proper (the recorder's finalize, once the last step is done)
    is deferred too: the run keeps its complete record. mosaik's run() shuts the world down by
    itself unless told not to, outside the deferred block."""
    from cosim import world
    from cosim.record import read
    from cosim.recorder_sim import RecorderSim

    finalize = RecorderSim.finalize

    def interrupted_finalize(self):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)  # the handler runs here, inside mosaik's shutdown
        finalize(self)

    outer = signal.signal(signal.SIGINT, signal.default_int_handler)  # a background CI job ignores SIGINT
    try:
        monkeypatch.setattr(RecorderSim, "finalize", interrupted_finalize)
        sc = small(tmp_path, duration_s=600, **{"control.stages": []})
        path = world.run_parts(world.build_parts(sc))
    finally:
        signal.signal(signal.SIGINT, outer)
    assert read(path).complete and not partial_paths(path)


def test_a_swallowed_ctrl_c_still_stops_at_the_next_check():
    """Python prints and drops a KeyboardInterrupt raised inside a weakref callback; the flag set by
    the handler makes the next check_stop (every recorder step) raise it again."""
    from cosim_base.interrupt import check_stop, sigint_deferred, stop_on_sigint

    outer = signal.signal(signal.SIGINT, signal.default_int_handler)  # a background CI job ignores SIGINT
    with stop_on_sigint():
        with sigint_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)  # the handler runs here and only sets the flag
        with pytest.raises(KeyboardInterrupt, match="stop requested"):
            check_stop()
    with stop_on_sigint():
        check_stop()  # nothing pending
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)  # the handler runs here
        except KeyboardInterrupt:
            pass  # as if swallowed
        with pytest.raises(KeyboardInterrupt, match="stop requested"):
            check_stop()
    check_stop()  # cleared on exit
    assert signal.signal(signal.SIGINT, outer) is signal.default_int_handler  # restored on exit
