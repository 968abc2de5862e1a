"""A git repository with a long history, made with `git fast-import` (tests and the build benchmark).

    python -m tests.data.history_repo OUT_DIR --commits 1000 [--source DIR ...]

commits real Python files (default: installed packages' sources) one per commit, and every fifth
commit also edits an earlier file, so the builder has additions, modifications and growing snapshots.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path


def make_history_repo(path: Path, files: list[tuple[str, str]], edit_every: int = 5) -> Path:
    """A repository at ``path`` whose commit i adds ``files[i]`` (path, content); HEAD is ``main``."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    stream = []
    for i, (name, content) in enumerate(files, start=1):
        body = content.encode()
        message = f"add {name}".encode()
        stream.append(b"commit refs/heads/main\nmark :%d\n" % i)
        stream.append(b"committer Dev <dev@example.com> %d +0000\n" % (1_600_000_000 + i * 60))
        stream.append(b"data %d\n%s\n" % (len(message), message))
        if i > 1:
            stream.append(b"from :%d\n" % (i - 1))
        stream.append(b"M 100644 inline %s\ndata %d\n%s\n" % (name.encode(), len(body), body))
        if edit_every and i % edit_every == 0 and i > 1:
            old_name, old_content = files[i // 2 - 1]
            edited = (old_content + f"\n# edited in commit {i}\n").encode()
            stream.append(b"M 100644 inline %s\ndata %d\n%s\n" % (old_name.encode(), len(edited), edited))
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(stream), check=True)
    return path


def python_sources(roots: list[Path], limit: int) -> list[tuple[str, str]]:
    """Up to ``limit`` (path, content) of .py files under ``roots``, paths prefixed by each root's name."""
    out = []
    for root in roots:
        for file in sorted(root.rglob("*.py")):
            if "__pycache__" in file.parts:
                continue
            try:
                out.append((f"{root.name}/{file.relative_to(root).as_posix()}", file.read_text("utf-8")))
            except UnicodeDecodeError:
                continue
            if len(out) == limit:
                return out
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--source", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    if not args.source:
        import importlib.util

        for name in ("wandb", "transformers"):
            spec = importlib.util.find_spec(name)
            if spec and spec.submodule_search_locations:
                args.source.append(Path(list(spec.submodule_search_locations)[0]))
    started = time.perf_counter()
    files = python_sources(args.source, args.commits)
    make_history_repo(args.out, files)
    print(f"{args.out}: {len(files)} commits in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
