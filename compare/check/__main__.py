"""``python -m compare.check {tdt4265,dd2424} PATH`` or ``... --batch DIR``; see
docs/checking.md. Exit status: 0 no check failed or errored, 1 a check failed,
3 none failed but some errored or nothing of the assignment was found in a submission, 2 a
usage error, 130/143 interrupted."""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from jsonargparse import ArgumentParser

from compare.check import ASSIGNMENTS, check
from compare.check.batch import Store, key
from compare.check.names import parse_map
from compare.check.result import (
    NOTHING,
    CheckResult,
    SubmissionResult,
    exit_status,
    table_terminal,
    write_batch,
)
from compare.check.sandbox import MODES, STOPPING, best_mode, kill_all, mode_note, namespaces_work
from compare.isolation import Interrupted, run_interruptible
from numpy_impl.run.exits import ExitCode


def parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m compare.check", exit_on_error=False,
                       description="Check a hand-in function by function against the texts.")
    p.add_argument("assignment", choices=list(ASSIGNMENTS))
    p.add_argument("path", nargs="?", default=None,
                   help="tdt4265: the folder of task2a.py ...; dd2424: a .py file or a folder; "
                   "either: a notebook (.ipynb) or a .zip too")
    p.add_argument("--batch", default=None, help="a folder with one submission per entry (a "
                   "folder, .py, .ipynb or .zip; any other entry gets a row of errors saying "
                   "why; hidden entries and this run's outputs are left out)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--out", default="check_results", help="--batch: the stem of the CSV, "
                   "JSON and Markdown tables")
    p.add_argument("--format", choices=["text", "gradescope"], default="text")
    p.add_argument("--json", default=None, help="write the result as JSON to this file")
    p.add_argument("--quick", action="store_true", help="leave out lockstep training")
    p.add_argument("--exec", action="store_true", help="run each module whole")
    p.add_argument("--map", action="append", default=[], help="ROLE=name, ROLE=file:name, "
                   "ROLE=Class.method or ROLE=file:Class.method")
    p.add_argument("--l2-convention", choices=["text", "half"], default="text")
    p.add_argument("--strict", action="store_true", help="every warn (right by the text, with "
                   "a weakness named) counts as a fail")
    p.add_argument("--time-limit", type=float, default=300.0, help="seconds per submission")
    p.add_argument("--check-time-limit", type=float, default=60.0, help="seconds per check")
    p.add_argument("--memory-limit", type=float, default=8.0, help="GiB of address space "
                   "each submission's process may allocate")
    p.add_argument("--sandbox", choices=list(MODES), default=None,
                   help="namespace (bubblewrap) or process; default: the strongest available")
    p.add_argument("--fresh", action="store_true", help="--batch: check every submission "
                   "again, even those whose result OUT.d/ already holds")
    return p


def _usage(message: str) -> int:
    print(f"python -m compare.check: error: {message.splitlines()[0]}", file=sys.stderr)
    return ExitCode.USAGE


def _submissions(folder: Path, out: Path) -> list[Path]:
    """Every entry of a --batch folder, gradable or not (a folder, .py, .ipynb or .zip is
    checked; anything else gets a row of errors saying why), but hidden ones (``.git``,
    ``.DS_Store``) and the outputs of the run (``--out`` may lie inside it)."""
    outputs = {out.parent / f"{out.name}{suffix}" for suffix in (".d", ".csv", ".json", ".md")}
    outputs = {o.resolve() for o in outputs}
    return sorted(p for p in folder.iterdir()
                  if not p.name.startswith(".") and p.resolve() not in outputs)


def _nothing(assignment: str, path: Path, why: str, quick: bool) -> SubmissionResult:
    """The row of a batch entry that holds nothing to check: every check an error saying why."""
    from compare.check.runner import check_ids

    result = SubmissionResult(assignment, path.name)
    result.checks = [CheckResult(i, "error", f"{NOTHING}{why}")
                     for i in check_ids(assignment, quick)]
    return result


def _run_batch(paths: list[Path], jobs: int, assignment: str, options: dict, store: Store,
               fresh: bool) -> list[SubmissionResult]:
    """Check ``paths`` in up to ``jobs`` sandboxes at once, with a progress bar; each result
    is stored the moment it is decided, and one already stored for the same checker, options
    and files is reused (unless ``fresh``)."""
    from tqdm import tqdm

    keys = {p: key(p, {"assignment": assignment, **options}) for p in paths}
    results: dict[Path, SubmissionResult] = {}
    if not fresh:
        for p in paths:
            stored = store.load(p.name, keys[p])
            if stored is not None:
                results[p] = stored
        if results:
            print(f"{len(results)} of {len(paths)} results reused from {store.folder}/ "
                  "(--fresh checks them again)", file=sys.stderr)
    todo = [p for p in paths if p not in results]

    def one(p: Path) -> SubmissionResult:
        if p.exists():
            result = check(assignment, p, **options)
        else:
            result = _nothing(assignment, p, f"{p.name} is a link whose target does not exist",
                              options["quick"])
        result.submission = p.name
        if not STOPPING.is_set():  # a check cut short by Ctrl-C is no grade to keep
            store.save(p.name, keys[p], result)
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {pool.submit(one, p): p for p in todo}
        for future in tqdm(as_completed(futures), total=len(futures), desc="submissions",
                           file=sys.stderr, disable=not todo or None):
            results[futures[future]] = future.result()
    except BaseException:
        kill_all()  # the running checks end at once, unsaved; then the threads are joined
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return [results[p] for p in paths]


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        mapping = parse_map(args.map)
    except (argparse.ArgumentError, ValueError, TypeError) as e:
        return _usage(str(e))
    if (args.path is None) == (args.batch is None):
        return _usage("give exactly one of PATH and --batch DIR")
    target = Path(args.path or args.batch)
    if not target.exists():
        return _usage(f"{target} does not exist")
    if args.batch and not target.is_dir():
        return _usage(f"--batch {target} is not a folder")
    mode = args.sandbox or best_mode()
    if mode == "namespace" and not namespaces_work():
        return _usage("--sandbox namespace: bubblewrap is not installed or namespaces are not "
                      "allowed here (install bubblewrap, or use --sandbox process)")
    print(mode_note(mode), file=sys.stderr)
    options = {"quick": args.quick, "exec_all": args.exec,
               "mapping": mapping, "l2_convention": args.l2_convention,
               "time_limit": args.time_limit, "check_time_limit": args.check_time_limit,
               "memory_limit": int(args.memory_limit * (1 << 30)), "sandbox": mode,
               "strict": args.strict}
    if args.batch:
        paths = _submissions(target, Path(args.out))
        if not paths:
            return _usage(f"--batch {target} is empty")
        store = Store(Path(args.out))
        try:
            results = _run_batch(paths, args.jobs, args.assignment, options, store, args.fresh)
        except Interrupted:
            done = len(list(store.folder.glob("*.json")))
            print(f"{done} results kept in {store.folder}/; the same command goes on from "
                  "there", file=sys.stderr)
            raise
        print(table_terminal(results))
        written = write_batch(results, Path(args.out))
        print("written: " + ", ".join(str(p) for p in written))
    else:
        results = [check(args.assignment, target, **options)]
        if args.format == "gradescope":
            Path("results.json").write_text(json.dumps(results[0].to_gradescope(), indent=2))
            print("written: results.json")
        print(results[0].to_text())
    if args.json:
        payload = results[0].to_dict() if len(results) == 1 and not args.batch else \
            [r.to_dict() for r in results]
        Path(args.json).write_text(json.dumps(payload, indent=2))
    return exit_status(results)


if __name__ == "__main__":
    try:  # SIGINT/SIGTERM: every child killed, exit 130/143 (as python -m compare)
        code = run_interruptible(main, "interrupted ({}): the check stopped before a verdict",
                                 kill_all)
    except BaseException:
        kill_all()
        raise  # an unexpected crash exits 1 with its traceback, never 0
    sys.exit(code)
