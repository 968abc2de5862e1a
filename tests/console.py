"""The real ``lca-run`` console script in a subprocess, the way a user runs it: by the virtual environment's
absolute path, with a clean PATH (no activated venv), so no test depends on how pytest was started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: the console script pip installed next to this interpreter
LCA_RUN = Path(sys.executable).parent / "lca-run"
#: what a fresh login shell has: the system's tools (git for `dataset build`), no virtual environment
CLEAN_PATH = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if os.path.isdir(p))


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ without a virtual environment on PATH (and without VIRTUAL_ENV), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = CLEAN_PATH
    env.update(extra)
    return env


def lca_run(*args: str, cwd: str | Path | None = None, timeout: float = 300, env: dict[str, str] | None = None,
            **popen: object) -> subprocess.CompletedProcess:
    """Run ``lca-run ARGS`` to its end; text output captured."""
    return subprocess.run([str(LCA_RUN), *args], cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout, **popen)
