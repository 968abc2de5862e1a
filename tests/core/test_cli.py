"""The lca-run console script: help, version, list, describe, init — fast and free of heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from lca_core.cli.main import main
from tests.console import lca_run

HEAVY = ("torch", "transformers", "datasets", "wandb")


def run_cli(*args, cwd=None):
    return lca_run(*args, cwd=cwd, timeout=60)


def test_help_lists_every_verb():
    result = run_cli("--help")
    assert result.returncode == 0
    for verb in ("check", "list", "describe", "init", "compose", "dataset", "eval", "plot"):
        assert f"  {verb}" in result.stdout


def test_version_names_the_distribution():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("lca-pipeline ")


def test_list_json_has_origins(plugin_manager, capsys):
    assert main(["list", "schedulers", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {row["name"]: row for row in rows}
    assert names["cosine_warmup"]["distribution"] == "lca-pipeline"
    assert names["cosine_warmup"]["status"] == "ok"
    assert all(row["kind"] == "scheduler" for row in rows)


def test_describe_shows_parameters(plugin_manager, capsys):
    assert main(["describe", "cosine_warmup"]) == 0
    out = capsys.readouterr().out
    assert "warmup_iters (an integer; default 50)" in out
    assert "lca-pipeline" in out


def test_describe_unknown_suggests(plugin_manager, capsys):
    assert main(["describe", "cosine_warmp"]) == 2
    assert "did you mean 'cosine_warmup'" in capsys.readouterr().err


def test_init_creates_run_and_refuses_to_overwrite(tmp_path, capsys):
    assert main(["init", "demo", "--runs-dir", str(tmp_path)]) == 0
    assert (tmp_path / "demo" / "run.toml").is_file()
    assert main(["init", "demo", "--runs-dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_init_unknown_template(tmp_path, capsys):
    assert main(["init", "demo", "--template", "quickstrt", "--runs-dir", str(tmp_path)]) == 2
    assert "did you mean 'quickstart'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["describe", "ALL"], ["init", "x", "--runs-dir", "RUNS"]])
def test_light_commands_never_import_heavy_libraries(tmp_path, argv):
    if argv == ["describe", "ALL"]:
        from lca_core.api.plugins import KINDS, get_plugin_manager

        manager = get_plugin_manager()
        names = [f"{kind}:{name}" for kind in KINDS for name in manager.registry(kind).names()]
        calls = [["describe", name] for name in names]
    else:
        calls = [[a.replace("RUNS", str(tmp_path)) for a in argv]]
    code = (
        "import sys, io, contextlib\n"
        "from lca_core.cli.main import main\n"
        f"for argv in {calls!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main(argv) == 0, argv\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_start_up_is_fast():
    best = {}
    for args in (["--help"], ["list"]):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            assert run_cli(*args).returncode == 0
            times.append(time.perf_counter() - start)
        best[args[0]] = min(times)
    assert best["--help"] < 1.0 and best["list"] < 1.0, best  # generous for a loaded CI machine; README has the real figure
