"""``lca-run plugin new``: the package it writes installs, is listed, passes its own tests and composes a datapoint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lca_core.cli.plugin import KIND_CHOICES
from tests.factories import write_tiny_project
from tests.plugin_dists import env_with, lca_run, pip_install


def own_tests(cwd, site, *folders: str):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *folders], cwd=cwd,
                          env=env_with(site), capture_output=True, text=True, timeout=600)


def test_a_new_composer_installs_is_listed_passes_its_tests_and_composes(tmp_path, tokenizer):
    made = lca_run("plugin", "new", "my-ranker", "--kind", "composer", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "pip install -e lca-my-ranker" in made.stdout
    source = tmp_path / "lca-my-ranker"
    assert {p.name for p in source.iterdir()} >= {"pyproject.toml", "lca_my_ranker", "tests", "README.md"}
    assert 'my_ranker = "lca_my_ranker"' in (source / "pyproject.toml").read_text()

    pip_install(tmp_path / "site", source)
    env = env_with(tmp_path / "site")
    listed = lca_run("list", "composers", cwd=tmp_path, env=env)
    line = next(line for line in listed.stdout.splitlines() if line.split()[:1] == ["my_ranker"])
    assert "lca-my-ranker 0.1.0" in line and "BROKEN" not in line

    tested = own_tests(source, tmp_path / "site", "tests")
    assert tested.returncode == 0 and "3 passed" in tested.stdout, tested.stdout[-3000:] + tested.stderr[-2000:]

    project = write_tiny_project(tmp_path / "project", tokenizer)
    composed = lca_run("compose", "run.toml", "composer.name=my_ranker", "--index", "0", cwd=project, env=env)
    assert composed.returncode == 0, composed.stderr
    assert "composer my_ranker" in composed.stdout


@pytest.mark.slow
def test_every_kind_installs_and_passes_its_own_tests(tmp_path):
    sources = []
    for kind in KIND_CHOICES:
        made = lca_run("plugin", "new", f"my-{kind}", "--kind", kind, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        sources.append(tmp_path / f"lca-my-{kind}")
    pip_install(tmp_path / "site", *sources)
    listed = lca_run("list", cwd=tmp_path, env=env_with(tmp_path / "site"))
    for kind in KIND_CHOICES:
        line = next(line for line in listed.stdout.splitlines() if line.split()[:1] == [f"my_{kind}"])
        assert f"lca-my-{kind} 0.1.0" in line and "BROKEN" not in line, line
    # one pytest for all five packages: their test files have distinct names
    tested = own_tests(tmp_path, tmp_path / "site", *(f"{source.name}/tests" for source in sources))
    assert tested.returncode == 0 and "11 passed" in tested.stdout, tested.stdout[-3000:] + tested.stderr[-2000:]


def test_never_overwrites_and_names_must_be_names(tmp_path):
    (tmp_path / "lca-taken").mkdir()
    taken = lca_run("plugin", "new", "taken", cwd=tmp_path)
    assert taken.returncode == 2
    assert "lca-taken already exists; choose another name or --dir (plugin new never overwrites)" in taken.stderr
    bad = lca_run("plugin", "new", "My Ranker!", cwd=tmp_path)
    assert bad.returncode == 2 and "is not a plugin name" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_an_editable_install_sees_edits_without_reinstalling(tmp_path):
    """`pip install -e` into a fresh venv layered on this one (a .pth adds this venv's site-packages)."""
    import site

    assert lca_run("plugin", "new", "my-edit", cwd=tmp_path).returncode == 0
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    own_site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                              capture_output=True, text=True, check=True).stdout.strip()
    (Path(own_site) / "lca-parent.pth").write_text(f"import site; site.addsitedir({site.getsitepackages()[0]!r})\n")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                              "--no-build-isolation", "--no-index", "-e", str(tmp_path / "lca-my-edit")],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr

    def describe():
        result = subprocess.run([str(python), "-m", "lca_core.cli.main", "describe", "my_edit"], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert "from: lca-my-edit 0.1.0" in describe()
    component = tmp_path / "lca-my-edit" / "lca_my_edit" / "component.py"
    component.write_text(component.read_text().replace(
        'prefer_short: bool = param(True, doc="Among equals, put shorter files nearer the completion.")',
        'prefer_short: bool = param(True, doc="Among equals, put shorter files nearer the completion.")\n'
        '    max_files: int = param(7, doc="Edited without reinstalling.")'))
    assert "max_files (an integer; default 7)\n        Edited without reinstalling." in describe()
