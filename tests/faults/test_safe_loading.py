"""Safe loading: no pickle without weights_only, no code from a run file except registered plugins and
the local plugin modules it names, trust_remote_code only on request, no secret in a run directory."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.faults.project import lca_run

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for folder in ("lca_core", "lca_plugins") for p in (REPO / folder).rglob("*.py"))
SECRET = "wandb-key-0123456789abcdef0123456789abcdef"


def calls(tree):
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def name_of(func):
    if isinstance(func, ast.Attribute):
        return f"{name_of(func.value)}.{func.attr}"
    return func.id if isinstance(func, ast.Name) else "?"


def test_every_torch_load_uses_weights_only_and_nothing_evaluates_code():
    loads, imports = 0, []
    for path in SOURCES:
        for call in calls(ast.parse(path.read_text(), str(path))):
            name = name_of(call.func)
            # (lca_core/composing/testing.py round-trips a composer through pickle.dumps/loads in memory: no file)
            if name in ("torch.load", "pickle.load", "pickle.loads", "eval", "exec") and \
                    not (name == "pickle.loads" and path.name == "testing.py"):
                keywords = {k.arg: k.value for k in call.keywords}
                assert name == "torch.load", f"{path}:{call.lineno}: {name}"
                value = keywords.get("weights_only")
                assert isinstance(value, ast.Constant) and value.value is True, f"{path}:{call.lineno}"
                loads += 1
            if name.endswith("import_module"):
                imports.append(path.relative_to(REPO).as_posix())
            for keyword in call.keywords:  # trust_remote_code only ever comes from the run file
                if keyword.arg == "trust_remote_code":
                    assert not isinstance(keyword.value, ast.Constant) or keyword.value.value is False, \
                        f"{path}:{call.lineno}"
    assert loads >= 1  # checkpoint.py reads optim.pt and state.pt through one call
    # modules are imported by name only for registered lazy targets and the CLI's own verbs
    # (and lca_core/_moved.py, the fixed new names of moved modules, from its own table)
    assert set(imports) <= {"lca_core/api/registry.py", "lca_core/cli/main.py", "lca_core/_moved.py"}, imports


def test_trust_remote_code_is_off_unless_the_run_file_says_so():
    from lca_core.api.components import parameters
    from lca_core.config.model import ModelSection

    assert {p.name: p.default for p in parameters(ModelSection)}["trust_remote_code"] is False


@pytest.mark.parametrize("name", ["os:system", "subprocess:run", "../evil.py"])
def test_a_run_file_cannot_name_code_to_import(project, name):
    code, err = lca_run(project, "check", "run.toml", f'composer.name="{name}"')
    assert code == 2 and f"unknown composer '{name}'" in err


@pytest.mark.slow
def test_a_wandb_api_key_never_reaches_the_run_directory(project, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", SECRET)
    code, out = lca_run(project, "run.toml", "logger.name=wandb", "trainer.max_iters=2", "--no-progress")
    assert code == 0, out
    run_dir = project / "run"
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert any("wandb" in p.parts for p in files) and any(p.name == "state.pt" for p in files)
    leaked = [p for p in files if SECRET.encode() in p.read_bytes()]
    assert not leaked and SECRET not in out
