"""Reading a git repository's history fast: one `git log` and one long-lived `git cat-file --batch`.

Trees and blobs are cached by object id, so the unchanged parts of consecutive snapshots are read
once, and no subprocess is started per file or per commit.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import attrs

from lca_core.api.errors import RunError


@attrs.frozen
class Commit:
    """A non-merge commit and the files it adds (path -> blob id)."""

    sha: str
    parents: tuple[str, ...]
    added: dict[str, str]


def check_rev(rev: str) -> None:
    """Refuse a revision git would read as an option (``--output=FILE`` writes a file): exit 2."""
    if rev.startswith("-"):
        from lca_core.api.errors import ConfigError, ConfigProblem

        raise ConfigError([ConfigProblem("--rev", f"'{rev}' is not a revision (it starts with '-'); give a branch, "
                                                  "tag or commit")])


def is_git_repository(path: Path) -> bool:
    result = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel"],
                            capture_output=True, text=True)
    return result.returncode == 0 and Path(result.stdout.strip()).resolve() == path.resolve()


class GitRepository:
    """A local git repository read through plumbing commands."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._batch: subprocess.Popen | None = None
        self._trees: dict[str, list[tuple[str, str]]] = {}

    def _git(self, *args: str) -> str:
        result = subprocess.run(["git", "-C", str(self.path), "-c", "core.quotepath=off", *args],
                                capture_output=True, text=True, encoding="utf-8", errors="surrogateescape")
        if result.returncode != 0:
            raise RunError(f"git {' '.join(args[:2])} failed in '{self.path}': {result.stderr.strip()}")
        return result.stdout

    def origin_name(self) -> str | None:
        """``owner__name`` from the ``origin`` remote's URL, if there is one."""
        result = subprocess.run(["git", "-C", str(self.path), "remote", "get-url", "origin"],
                                capture_output=True, text=True)
        parts = result.stdout.strip().removesuffix(".git").replace(":", "/").rstrip("/").split("/")
        return f"{parts[-2]}__{parts[-1]}" if result.returncode == 0 and len(parts) >= 2 else None

    def commits(self, rev: str = "HEAD", max_commits: int = 0) -> list[Commit]:
        """Non-merge commits reachable from ``rev``, newest first, with the files each adds.

        Renames are detected (``-M``) and are not additions, so a moved file is not a new completion file.
        """
        check_rev(rev)
        args = ["log", "--no-merges", "-M", "--raw", "--no-abbrev", "--diff-filter=A",
                "--format=%x1e%H %P"]
        if max_commits:
            args.append(f"--max-count={max_commits}")
        out = []
        for chunk in self._git(*args, rev, "--").split("\x1e")[1:]:
            header, _, body = chunk.partition("\n")
            shas = header.split()
            added = {}
            for line in body.splitlines():
                if line.startswith(":") and "\t" in line:
                    meta, path = line.split("\t", 1)
                    if not path.startswith('"'):  # names git had to quote (control characters) are skipped
                        added[path] = meta.split()[3]
            out.append(Commit(sha=shas[0], parents=tuple(shas[1:]), added=added))
        return out

    def _read(self, name: str) -> tuple[str, bytes]:
        if self._batch is None:
            self._batch = subprocess.Popen(["git", "-C", str(self.path), "cat-file", "--batch"],
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        stdin, stdout = self._batch.stdin, self._batch.stdout
        stdin.write(name.encode() + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            raise RunError(f"git object '{name}' is missing in '{self.path}'")
        data = stdout.read(int(header[2]))
        stdout.read(1)  # the newline after each object
        return header[1].decode(), data

    def blob(self, sha: str) -> bytes:
        return self._read(sha)[1]

    def files(self, commit: str) -> list[tuple[str, str]]:
        """Every regular file of ``commit``'s tree as (path, blob id), sorted by path."""
        return sorted(self._tree(f"{commit}^{{tree}}"))

    def _tree(self, name: str) -> list[tuple[str, str]]:
        if name in self._trees:
            return self._trees[name]
        kind, data = self._read(name)
        if kind != "tree":
            raise RunError(f"'{name}' is a {kind}, not a tree, in '{self.path}'")
        out, pos = [], 0
        while pos < len(data):
            space = data.index(b" ", pos)
            nul = data.index(b"\0", space)
            mode, entry = data[pos:space], data[space + 1:nul].decode("utf-8", "surrogateescape")
            sha = data[nul + 1:nul + 21].hex()
            pos = nul + 21
            if mode == b"40000":
                out.extend((f"{entry}/{path}", blob) for path, blob in self._tree(sha))
            elif mode in (b"100644", b"100755"):  # symlinks (120000) and submodules (160000) are not files
                out.append((entry, sha))
        if not name.endswith("}"):  # subtrees by id never change; commit-relative names are not cached
            self._trees[name] = out
        return out

    def close(self) -> None:
        if self._batch is not None:
            self._batch.stdin.close()
            self._batch.wait()
            self._batch = None
