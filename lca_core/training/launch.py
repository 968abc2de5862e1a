"""``lca-run --nproc N``: start N training processes on this machine through PyTorch's launcher, torchrun.

The command is ``torchrun --standalone --nproc_per_node N -m lca_core.cli.main RUN.toml ...`` (run as
``python -m torch.distributed.run``, the same program, so no PATH lookup can pick another environment).
Several machines: run torchrun yourself with a rendezvous (docs/distributed.md).
"""

from __future__ import annotations

import os
import subprocess
import sys


def torchrun_command(nproc: int, run_file: str, overrides: list[str], *, progress: bool = True) -> list[str]:
    """The torchrun command line that trains ``run_file`` on ``nproc`` local processes."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "lca_core.cli.main", run_file, *overrides]
    if not progress:
        command.append("--no-progress")
    return command


def launch(nproc: int, run_file: str, overrides: list[str], *, progress: bool = True) -> int:
    """Run torchrun in the foreground; its exit status is ours."""
    command = torchrun_command(nproc, run_file, overrides, progress=progress)
    print("lca-run: starting", " ".join(command[2:]).replace("torch.distributed.run", "torchrun", 1), flush=True)
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:  # torchrun forwards the signal to its workers, which checkpoint and stop
        return 130


def under_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1
