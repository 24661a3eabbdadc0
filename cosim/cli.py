"""Command line: ``cosim run [SCENARIO.toml]`` runs a scenario and prints its summary;
``cosim report RUN.h5`` writes a run's KPI table and plots; ``cosim compare A.h5 B.h5 ...`` puts
runs' KPIs side by side; ``cosim study NAME`` runs a seed paper's study (cosim.study);
``cosim sweep SWEEP.toml`` runs a batch sweep on Dask (cosim.sweeps); ``cosim brackets NAME``
runs a study's bracket sweep and reports where its paper's numbers are met (cosim.brackets)."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from cosim_base.errors import CosimError


def _run(args) -> int:
    from cosim import kpi, world
    from cosim.scenario import Scenario, load

    sc = load(args.scenario) if args.scenario else Scenario()
    if args.hours is not None:
        sc = sc.updated({"duration_s": int(round(args.hours * 3600))})
    stages = ", ".join(sc.control.stages) or "none (local control everywhere)"
    print(f"cosim: {sc.name}: network {sc.network}, start {sc.start}, {sc.duration_s / 3600:g} h at "
          f"{sc.step_s} s steps, stages {stages}, seed {sc.seed if args.seed is None else args.seed}")
    t0 = time.perf_counter()
    path = world.run(sc, out=args.out, seed=args.seed, progress=not args.quiet, overwrite=args.overwrite)
    wall = time.perf_counter() - t0
    s = kpi.summary(path)
    print(f"\nrecord: {path}  (wall {wall:.1f} s)")
    width = max(map(len, s))
    for key, value in s.items():
        print(f"  {key:<{width}}  {value:14.4f}" if isinstance(value, float) else f"  {key:<{width}}  {value:14d}")
    return 0


def _report(args) -> int:
    from cosim import report

    out = Path(args.out) if args.out else Path(args.run).with_name(Path(args.run).stem + "_report")
    notes = logging.getLogger("cosim.report")  # skipped plots, one line each
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  note: %(message)s"))
    notes.addHandler(handler)
    notes.setLevel(logging.INFO)
    try:
        files = report.write_report(args.run, out)
    finally:
        notes.removeHandler(handler)
    print(report.print_table(report.read_kpis(files["kpi_json"])))
    print(f"\nwritten to {out}:")
    for key, path in files.items():
        print(f"  {key:<9} {path}")
    return 0


def _compare(args) -> int:
    from cosim import report

    table = report.compare(args.runs, out_csv=args.csv)
    with_pct = {c: (lambda x: "-" if x != x else f"{x:+.1f}") for c in table.columns if c.endswith(" %")}
    print(table.to_string(formatters=with_pct, float_format=lambda x: f"{x:.6g}"))
    if args.csv:
        print(f"\nwritten to {args.csv}")
    return 0


def _baselines(args) -> int:
    from cosim import baselines, kpi, report
    from cosim.scenario import Scenario, load

    sc = load(args.scenario) if args.scenario else Scenario()
    if args.hours is not None:
        sc = sc.updated({"duration_s": int(round(args.hours * 3600))})
    if args.out is not None:
        sc = sc.updated({"output": args.out})
    paths = baselines.run_variants(sc, args.variants, overwrite=args.overwrite)
    for name, path in paths.items():
        print(f"{name:14s} {path}")
    print()
    _compare(argparse.Namespace(runs=[str(p) for p in paths.values()], csv=args.csv))
    k = {name: kpi.compute(path) for name, path in paths.items()}
    for key, label in baselines.REGRET_COSTS.items():
        print(f"\nregret split, {label} ({key}, currency):")
        print(report.print_table(baselines.regret({name: v[key] for name, v in k.items()})))
    return 0


def _study(args) -> int:
    from cosim import study

    mod = study.study(args.name)
    out = Path(args.out or f"results/{args.name}")
    df = mod.run(out, hours=args.hours, seed=args.seed, overwrite=args.overwrite)
    print(df.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    files = study.write_table(df, out, "table")
    print(f"\nwritten to {files['csv']} and {files['md']}")
    return 0


def _sweep(args) -> int:
    from cosim import sweeps as sweep

    options = {k: v for k, v in (("queue", args.queue), ("account", args.account), ("walltime", args.walltime),
                                 ("memory", args.memory)) if v is not None}
    res = sweep.run_sweep(args.sweep, out=args.out, workers=args.workers, scheduler=args.scheduler,
                          jobqueue=args.jobqueue, jobs=args.jobs, job_options=options, progress=not args.quiet)
    cols = [a for a in res.summary.columns if not a.startswith(sweep.SUMMARY_KPIS)]
    cols += [f"{k}_{s}" for k in sweep.SUMMARY_KPIS[:2] for s in ("mean", "q95", "cvar95")]
    print(res.summary[cols].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print(f"\n{res.ran} runs now, {res.skipped} done before, {res.failed} failed (errors: {res.manifest})")
    for path in (res.runs_path, res.summary_path, *res.plots):
        print(f"  {path}")
    return 1 if res.failed else 0


def _brackets(args) -> int:
    from cosim import brackets

    results, rep = brackets.run(args.name, out=args.out, hours=args.hours, workers=args.workers,
                                progress=not args.quiet)
    for name, r in rep.items():
        print(f"\n{name}\n{r['table'].to_string(index=False, float_format=lambda x: f'{x:.4g}')}\n{r['sentence']}")
    for res in results.values():
        print(f"\n{res.out.name}: {res.ran} runs now, {res.skipped} done before, {res.failed} failed "
              f"(errors: {res.manifest})")
    print(f"written to {res.out.parent / 'brackets.md'} (tables, sentences, plots)")
    return 1 if any(res.failed for res in results.values()) else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="cosim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario (default: the shipped IEEE 33 winter day) into an HDF5 record")
    run.add_argument("scenario", nargs="?", help="scenario TOML file (default: scenarios/default.toml's content)")
    run.add_argument("--out", help="HDF5 path (default: the scenario's output)")
    run.add_argument("--seed", type=int, help="scenario seed override")
    run.add_argument("--hours", type=float, help="duration override in hours")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--overwrite", action="store_true", help="replace an existing record at the output path")
    rep = sub.add_parser("report", help="KPI table (CSV, JSON) and plots of a run's HDF5 record")
    rep.add_argument("run", help="HDF5 record of a run")
    rep.add_argument("--out", help="output directory (default: RUN's stem + '_report' next to it)")
    cmp = sub.add_parser("compare", help="KPIs of several runs side by side, with %% against the first")
    cmp.add_argument("runs", nargs="+", help="HDF5 records; the first is the reference")
    cmp.add_argument("--csv", help="also write the table to this CSV file")
    base = sub.add_parser("baselines", help="run a scenario's alternatives on the same seed; compare and split regret")
    base.add_argument("scenario", nargs="?", help="scenario TOML file (default: the shipped default)")
    base.add_argument("--variants", nargs="+", default=["actual", "perfect", "oracle", "uncoordinated"],
                      help="from actual, perfect, oracle, no_tseh, no_margin, uncoordinated, builtin (the first is the reference)")
    base.add_argument("--hours", type=float, help="duration override in hours")
    base.add_argument("--out", help="HDF5 path stem: each variant writes <stem>-<variant>.h5 (default: the scenario's output)")
    base.add_argument("--overwrite", action="store_true", help="replace existing records of the variants")
    base.add_argument("--csv", help="also write the comparison to this CSV file")
    stu = sub.add_parser("study", help="run a seed paper's study and write its results table beside the paper's")
    stu.add_argument("name", help="seed000, seed001, seed002 or seed003 (cosim.study.STUDIES)")
    stu.add_argument("--hours", type=float, help="duration override in hours (default: the study's)")
    stu.add_argument("--seed", type=int, help="scenario seed override")
    stu.add_argument("--out", help="output directory (default: results/<name>)")
    stu.add_argument("--overwrite", action="store_true", help="replace the study's existing records")
    swp = sub.add_parser("sweep", help="run a batch sweep (axes x replicates) on Dask; exit code 1 if a run failed")
    swp.add_argument("sweep", help="sweep TOML file (cosim.sweeps: base, seed, replicates, [set], [[axis]])")
    where = swp.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="worker processes of a new local cluster (default: cores)")
    where.add_argument("--scheduler", help="address of an existing Dask scheduler, tcp://HOST:PORT")
    where.add_argument("--jobqueue", choices=["slurm", "pbs"],
                       help="submit --jobs batch jobs, one worker each (needs the extra cosim[jobqueue])")
    swp.add_argument("--jobs", type=int, help="batch jobs with --jobqueue")
    for opt, what in (("queue", "queue / partition"), ("account", "account / project"),
                      ("walltime", "walltime per job, e.g. 02:00:00"), ("memory", "memory per job, e.g. 4GB")):
        swp.add_argument(f"--{opt}", help=f"{what} of the batch jobs (--jobqueue)")
    swp.add_argument("--out", help="output directory (default: results/sweeps/<name>)")
    swp.add_argument("--quiet", action="store_true", help="no progress bar")
    brk = sub.add_parser("brackets", help="run a study's bracket sweep: its headline effects against the assumed "
                                          "parameters, where the paper's numbers are met")
    brk.add_argument("name", help="seed000, seed001, seed002 or seed003 (cosim.study.STUDIES)")
    brk.add_argument("--workers", type=int, help="worker processes of a local cluster (default: cores)")
    brk.add_argument("--hours", type=float, help="duration override in hours (shortened runs, own output folder)")
    brk.add_argument("--out", help="output directory (default: results/brackets/<name>[-<H>h])")
    brk.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    commands = {"run": _run, "report": _report, "compare": _compare, "baselines": _baselines, "study": _study,
                "sweep": _sweep, "brackets": _brackets}
    try:
        return commands[args.command](args)
    except CosimError as exc:
        print(f"cosim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"cosim: {str(exc) or 'interrupted'}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
