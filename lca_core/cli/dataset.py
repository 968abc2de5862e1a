"""``lca-run dataset``: build LCA-format datasets from local repositories, or check a dataset file.

    lca-run dataset build PATH... --out FILE [options]   git repositories and plain directories
    lca-run dataset check PATH                           load and validate a dataset, print a summary
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lca_core.data.build.builder import BuildOptions

    defaults = BuildOptions()
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = sub.add_parser("build", help="build datapoints from git repositories or plain directories",
                           description="Build LCA-format datapoints: from git history (commits adding .py "
                                       "files) or from plain directories (each .py file in turn).")
    build.add_argument("paths", nargs="+", metavar="PATH", help="git repository roots or plain directories")
    build.add_argument("--out", required=True, type=Path, help="output file, .parquet (exact LCA features) or .jsonl")
    group = build.add_argument_group("completion files")
    group.add_argument("--min-chars", type=int, default=defaults.min_chars, help="shortest completion file (chars)")
    group.add_argument("--max-chars", type=int, default=defaults.max_chars, help="longest completion file (chars)")
    group.add_argument("--per-repo", type=int, default=defaults.per_repo, help="datapoints per repository (0 = all)")
    group.add_argument("--max-added-files", type=int, default=defaults.max_added_files,
                       help="skip commits adding more .py files than this (imports of whole trees)")
    group.add_argument("--min-inproject", type=int, default=defaults.min_inproject, help="least raw inproject lines")
    group.add_argument("--min-infile", type=int, default=defaults.min_infile, help="least raw infile lines")
    group.add_argument("--lines-per-category", type=int, default=defaults.lines_per_category,
                       help="sampled lines per category in completion_lines")
    group = build.add_argument_group("snapshots")
    group.add_argument("--include", action="append", default=[], metavar="GLOB",
                       help="keep only snapshot files matching a glob (repeatable)")
    group.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                       help="drop snapshot files matching a glob (repeatable)")
    group.add_argument("--max-file-bytes", type=int, default=defaults.max_file_bytes, help="largest snapshot file")
    group.add_argument("--min-snapshot-bytes", type=int, default=defaults.min_snapshot_bytes,
                       help="skip candidates whose snapshot is smaller")
    group.add_argument("--max-snapshot-bytes", type=int, default=defaults.max_snapshot_bytes,
                       help="skip candidates whose snapshot is larger")
    group = build.add_argument_group("history and output")
    group.add_argument("--rev", default=defaults.rev, help="git revision whose history is read")
    group.add_argument("--max-commits", type=int, default=defaults.max_commits, help="read at most N commits (0 = all)")
    group.add_argument("--repo-name", default="", help="repository name (owner__name); default: from origin or folder")
    group.add_argument("--seed", type=int, default=defaults.seed, help="seed of the candidate order and line samples")
    group.add_argument("--no-progress", action="store_true", help="no progress bar")
    check = sub.add_parser("check", help="load and validate a dataset file or folder, print a summary")
    check.add_argument("path", help="a .parquet/.jsonl/.json file, a folder, or a save_to_disk folder")


def run(args: argparse.Namespace) -> int:
    return _build(args) if args.action == "build" else _check(args)


def _build(args: argparse.Namespace) -> int:
    from lca_core.api.errors import RunError
    from lca_core.data.build.builder import BuildOptions, build_dataset
    from lca_core.data.build.writer import write_datapoints

    from lca_core.data.build.git import check_rev

    check_rev(args.rev)  # before any repository is read
    if args.repo_name and len(args.paths) > 1:
        raise RunError("--repo-name names one repository; give one PATH with it")
    options = BuildOptions(
        min_chars=args.min_chars, max_chars=args.max_chars, per_repo=args.per_repo,
        max_added_files=args.max_added_files, include=tuple(args.include), exclude=tuple(args.exclude),
        max_file_bytes=args.max_file_bytes, min_snapshot_bytes=args.min_snapshot_bytes,
        max_snapshot_bytes=args.max_snapshot_bytes, min_inproject=args.min_inproject, min_infile=args.min_infile,
        lines_per_category=args.lines_per_category, seed=args.seed, rev=args.rev, max_commits=args.max_commits,
        repo_name=args.repo_name, progress=False if args.no_progress else None,
    )
    started = time.perf_counter()
    count = write_datapoints(build_dataset([Path(p) for p in args.paths], options), args.out)
    if not count:
        raise RunError("no datapoints were built: no eligible .py files within the bounds "
                       "(try --min-chars, --max-snapshot-bytes or --max-added-files)")
    print(f"wrote {count} datapoints to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


def _check(args: argparse.Namespace) -> int:
    from lca_core.data.loading import load_local
    from lca_core.data.validation import describe_failure, validate

    dataset = load_local(Path(args.path), "path")
    report = validate(dataset)
    if report.problems:
        print(describe_failure(report, args.path))
        return 1
    repos = len(set(dataset["repo"]))
    leaks = f"; {len(report.leaks)} list their completion file in the snapshot (dropped at load)" if report.leaks else ""
    print(f"{args.path}: {report.total} valid datapoints from {repos} repositories{leaks}")
    return 0
