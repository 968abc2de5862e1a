"""Real plugin distributions for tests: written to a folder, pip-installed into a target directory that
the real ``lca-run`` console script then finds through PYTHONPATH (as if installed in the venv)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

LCA_RUN = Path(sys.executable).with_name("lca-run")

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"

[project.entry-points.lca]
{entry_points}

[tool.setuptools]
py-modules = [{modules}]
"""


def write_distribution(root: Path, name: str, modules: dict[str, str], entry_points: dict[str, str],
                       version: str = "0.1.0") -> Path:
    """A source tree of distribution ``name`` holding top-level ``modules`` (name -> source)."""
    folder = root / name
    folder.mkdir(parents=True)
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(source))
    (folder / "pyproject.toml").write_text(PYPROJECT.format(
        name=name, version=version, modules=", ".join(f'"{m}"' for m in modules),
        entry_points="\n".join(f'{key} = "{value}"' for key, value in entry_points.items())))
    return folder


def pip_install(target: Path, *sources: Path, editable: bool = False) -> None:
    """``pip install --target`` without network or build isolation (setuptools comes from the venv)."""
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index"]
    if editable:
        command.append("--editable")
    result = subprocess.run([*command, "--target", str(target), *map(str, sources)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def env_with(*paths: Path, **extra: str) -> dict[str, str]:
    """This environment with ``paths`` first on PYTHONPATH (where the test's distributions are installed)."""
    python_path = os.pathsep.join([*map(str, paths), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONPATH": python_path, **extra}


def lca_run(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    """The real console script, called by the venv's absolute path."""
    return subprocess.run([str(LCA_RUN), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
