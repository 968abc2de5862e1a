"""Turning local git repositories and plain directories into datapoints of the exact LCA schema.

Git repository: every non-merge commit that adds an eligible ``.py`` file gives a candidate; the
snapshot is the parent commit's tree, the added file is the completion file, and the commit's other
added ``.py`` files supply the ``commited`` declarations. Plain directory (no history): each eligible
``.py`` file in turn is the completion file and every other file is the snapshot.

Per repository the candidates are shuffled with the seed and taken in that order, at most one per
commit and per path, until ``per_repo`` datapoints are built; candidates whose snapshot falls outside
the size bounds (or with too few lines of a category) are passed over.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import random
import warnings
from collections.abc import Iterator
from pathlib import Path

import attrs

from lca_core.api.errors import RunError
from lca_core.data.build.categories import Project, categorize, declarations, sample_lines, top_level_modules
from lca_core.data.build.git import GitRepository, is_git_repository

#: completion files that are configuration or generated, not code to complete
SKIPPED_NAMES = frozenset({"setup.py", "conf.py", "_version.py", "version.py", "__init__.py"})
VENDORED_PARTS = frozenset({"vendor", "_vendor", "vendored", "third_party", "thirdparty", "site-packages",
                            "node_modules"})
#: directories never read from a plain directory
IGNORED_DIRS = frozenset({"__pycache__", "node_modules", "venv", ".venv", "build", "dist"})


@attrs.define(kw_only=True)
class BuildOptions:
    """How candidates are chosen and snapshots are read (the `lca-run dataset build` options)."""

    min_chars: int = 800
    max_chars: int = 25_000
    per_repo: int = 50
    max_added_files: int = 20
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = 1_000_000
    min_snapshot_bytes: int = 0
    max_snapshot_bytes: int = 10_000_000
    min_inproject: int = 0
    min_infile: int = 0
    lines_per_category: int = 10
    seed: int = 42
    rev: str = "HEAD"
    max_commits: int = 0
    repo_name: str = ""
    progress: bool | None = None  # None: a bar only on a terminal


@attrs.frozen
class Candidate:
    """A completion file to build a datapoint from."""

    commit: str
    parent: str
    path: str
    content: str
    added: tuple[tuple[str, str], ...] = ()  # the commit's other added .py files (path, blob id)


def decode_text(data: bytes, max_bytes: int) -> str | None:
    """UTF-8 text of a file, or None for binary, non-UTF-8 or too large files."""
    if len(data) > max_bytes or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def eligible_completion(path: str, content: str | None, options: BuildOptions) -> bool:
    """An added file worth completing: Python, within the length bounds, parseable, not vendored or config."""
    if not path.endswith(".py") or content is None:
        return False
    parts = path.split("/")
    if parts[-1] in SKIPPED_NAMES or VENDORED_PARTS.intersection(parts):
        return False
    if not options.min_chars <= len(content) <= options.max_chars:
        return False
    try:
        compile(content, path, "exec", flags=0x400, dont_inherit=True)  # ast.PyCF_ONLY_AST: parse only
    except (SyntaxError, ValueError):
        return False
    return True


def snapshot_wanted(path: str, options: BuildOptions) -> bool:
    if options.include and not any(fnmatch.fnmatch(path, pattern) for pattern in options.include):
        return False
    return not any(fnmatch.fnmatch(path, pattern) for pattern in options.exclude)


class _Source:
    """Candidates, snapshots and declarations of one repository (git or plain directory)."""

    commit_hash_fallback = ""

    def __init__(self, options: BuildOptions):
        self.options = options
        self._declarations: dict[str, tuple[frozenset[str], frozenset[str]]] = {}

    def declarations_of(self, key: str, content: str) -> tuple[frozenset[str], frozenset[str]]:
        if key not in self._declarations:
            self._declarations[key] = declarations(content)
        return self._declarations[key]


class GitSource(_Source):
    def __init__(self, path: Path, options: BuildOptions):
        super().__init__(options)
        self.repo = GitRepository(path)
        self.name = options.repo_name or self.repo.origin_name() or f"local__{path.resolve().name}"
        self._text: dict[str, str | None] = {}

    def text(self, blob: str) -> str | None:
        if blob not in self._text:
            self._text[blob] = decode_text(self.repo.blob(blob), self.options.max_file_bytes)
        return self._text[blob]

    def candidates(self) -> list[Candidate]:
        out = []
        for commit in reversed(self.repo.commits(self.options.rev, self.options.max_commits)):
            added_py = [(p, b) for p, b in commit.added.items() if p.endswith(".py")]
            if not commit.parents or not added_py or len(added_py) > self.options.max_added_files:
                continue
            for path, blob in added_py:
                content = self.text(blob)
                if eligible_completion(path, content, self.options):
                    others = tuple((p, b) for p, b in added_py if p != path)
                    out.append(Candidate(commit.sha, commit.parents[0], path, content, others))
        return out

    def snapshot(self, candidate: Candidate) -> list[tuple[str, str, str]]:
        """(path, content, cache key) of the parent's text files that pass the filters."""
        out = []
        for path, blob in self.repo.files(candidate.parent):
            if path != candidate.path and snapshot_wanted(path, self.options):
                content = self.text(blob)
                if content is not None:
                    out.append((path, content, blob))
        return out

    def commit_declarations(self, candidate: Candidate) -> tuple[frozenset[str], frozenset[str]]:
        names, classes = set(), set()
        for _, blob in candidate.added:
            content = self.text(blob)
            if content is not None:
                n, c = self.declarations_of(blob, content)
                names |= n
                classes |= c
        return frozenset(names), frozenset(classes)

    def close(self) -> None:
        self.repo.close()


class DirectorySource(_Source):
    def __init__(self, path: Path, options: BuildOptions, prefix: str = ""):
        super().__init__(options)
        self.name = options.repo_name or f"local__{path.resolve().name}"
        self.files: list[tuple[str, str, str]] = []
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in IGNORED_DIRS)
            for name in sorted(names):
                full = Path(root) / name
                rel = "/".join(filter(None, [prefix, full.relative_to(path).as_posix()]))
                # a symlink may point anywhere (/etc/passwd, a secret beside the tree): never followed, as git
                # repositories store a link as its target path; os.walk does not descend linked folders either
                if (name.startswith(".") or full.is_symlink() or not full.is_file()
                        or full.stat().st_size > options.max_file_bytes):
                    continue
                content = decode_text(full.read_bytes(), options.max_file_bytes)
                if content is not None:
                    self.files.append((rel, content, rel))
        self.files.sort()
        # A plain directory has no commit: a hash of its contents stands in for one.
        digest = hashlib.sha1()
        for rel, content, _ in self.files:
            digest.update(rel.encode() + b"\0" + content.encode("utf-8", "surrogateescape") + b"\0")
        self.commit_hash = digest.hexdigest()

    def candidates(self) -> list[Candidate]:
        return [Candidate(self.commit_hash, "", rel, content) for rel, content, _ in self.files
                if eligible_completion(rel, content, self.options)]

    def snapshot(self, candidate: Candidate) -> list[tuple[str, str, str]]:
        return [f for f in self.files if f[0] != candidate.path and snapshot_wanted(f[0], self.options)]

    def commit_declarations(self, candidate: Candidate) -> tuple[frozenset[str], frozenset[str]]:
        return frozenset(), frozenset()

    def close(self) -> None:
        pass


def open_source(path: Path, options: BuildOptions, prefix: str = "") -> _Source:
    if not path.is_dir():
        raise RunError(f"'{path}' is not a directory (give a git repository or a folder of sources)")
    if is_git_repository(path):
        return GitSource(path, options)
    return DirectorySource(path, options, prefix)


def build_datapoint(source: _Source, candidate: Candidate) -> dict | None:
    """The LCA datapoint of one candidate, or None when it misses the snapshot or line bounds."""
    options = source.options
    snapshot = source.snapshot(candidate)
    size = sum(len(content) for _, content, _ in snapshot)
    if not snapshot or not options.min_snapshot_bytes <= size <= options.max_snapshot_bytes:
        return None
    names, classes = set(), set()
    for path, content, key in snapshot:
        if path.endswith(".py"):
            n, c = source.declarations_of(key, content)
            names |= n
            classes |= c
    commit_names, commit_classes = source.commit_declarations(candidate)
    project = Project(
        names=frozenset(names), classes=frozenset(classes),
        modules=top_level_modules(path for path, _, _ in snapshot),
        commit_names=commit_names - names, commit_classes=commit_classes - classes,
    )
    raw = categorize(candidate.content, project)
    if len(raw["inproject"]) < options.min_inproject or len(raw["infile"]) < options.min_infile:
        return None
    key = f"{options.seed}:{source.name}:{candidate.commit}:{candidate.path}"
    return {
        "repo": source.name,
        "commit_hash": candidate.commit,
        "completion_file": {"filename": candidate.path, "content": candidate.content},
        "completion_lines": sample_lines(raw, key, options.lines_per_category),
        "repo_snapshot": {"filename": [p for p, _, _ in snapshot], "content": [c for _, c, _ in snapshot]},
        "completion_lines_raw": raw,
    }


def datapoints_of(source: _Source) -> Iterator[dict]:
    """Up to ``per_repo`` datapoints of one repository, in a seeded order."""
    from tqdm.auto import tqdm

    options = source.options
    candidates = source.candidates()
    random.Random(f"{options.seed}:{source.name}").shuffle(candidates)
    wanted = options.per_repo or len(candidates)
    used_commits, used_paths, built = set(), set(), 0
    with tqdm(total=min(wanted, len(candidates)), desc=source.name, unit="datapoint",
              disable=(not options.progress) if options.progress is not None else None) as bar:
        for candidate in candidates:
            if built >= wanted:
                break
            # one datapoint per commit (a plain directory's files all share its content hash) and per path
            if (candidate.parent and candidate.commit in used_commits) or candidate.path in used_paths:
                continue
            datapoint = build_datapoint(source, candidate)
            if datapoint is None:
                continue
            used_commits.add(candidate.commit)
            used_paths.add(candidate.path)
            built += 1
            bar.update()
            yield datapoint


def build_dataset(paths: list[Path], options: BuildOptions, prefixes: list[str] | None = None) -> Iterator[dict]:
    """Datapoints of every repository in ``paths``, one repository after another."""
    for i, path in enumerate(paths):
        source = open_source(Path(path), options, (prefixes or [""] * len(paths))[i])
        try:
            count = 0
            for datapoint in datapoints_of(source):
                count += 1
                yield datapoint
            if not count:
                warnings.warn(f"'{path}' gave no datapoints (no eligible .py files within the bounds)", stacklevel=2)
        finally:
            source.close()
