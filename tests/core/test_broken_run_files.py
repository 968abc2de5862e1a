"""Every broken run file or override exits 2 with a one-line message naming the dotted path, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lca_core.cli.main import main
from tests.core.broken_corpus import BASE, CASES

BROKEN_PLUGIN = "raise RuntimeError('this plugin is broken on purpose')\n"


def write_case(tmp_path, text):
    (tmp_path / "broken_plugin.py").write_text(BROKEN_PLUGIN)
    run_file = tmp_path / "run.toml"
    run_file.write_text(text if text is not None else BASE)
    return run_file


def test_base_run_file_is_valid(tmp_path, capsys, plugin_manager):
    run_file = write_case(tmp_path, BASE)
    from lca_core.config.loader import load_run_config

    config = load_run_config(run_file)
    assert config.trainer.max_iters == 4


def test_corpus_is_large_enough():
    assert len(CASES) >= 30
    assert len({case[0] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case_id,text,overrides,expected", CASES, ids=[c[0] for c in CASES])
def test_broken_case_exits_2_with_dotted_path(tmp_path, capsys, plugin_manager, case_id, text, overrides, expected):
    run_file = write_case(tmp_path, text)
    code = main(["check", str(run_file), *overrides])
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err, err
    assert "Traceback" not in err
    # every problem line names the file it came from and starts with the configuration-error prefix
    for line in err.strip().splitlines():
        assert line.startswith("lca-run: configuration error: "), line


def test_all_problems_are_reported_at_once(tmp_path, capsys, plugin_manager):
    text = BASE.replace("max_iters = 4", "max_iter = 4").replace('name = "lm"', 'name = "lmm"')
    text = text.replace("seed = 7", 'seed = "seven"')
    run_file = write_case(tmp_path, text)
    assert main(["check", str(run_file)]) == 2
    err = capsys.readouterr().err
    assert "trainer.max_iter" in err and "preprocessor.name" in err and "run.seed" in err
    assert len(err.strip().splitlines()) == 3


@pytest.mark.parametrize("case_index", [0, 12, 26])
def test_real_console_script_prints_no_traceback(tmp_path, case_index):
    _, text, overrides, expected = CASES[case_index]
    run_file = write_case(tmp_path, text)
    result = subprocess.run([sys.executable, "-m", "lca_core.cli.main", "check", str(run_file), *overrides],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_traceback_flag_shows_the_traceback(tmp_path):
    run_file = write_case(tmp_path, CASES[0][1])
    result = subprocess.run([sys.executable, "-m", "lca_core.cli.main", "--traceback", "check", str(run_file)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_a_missing_run_file_names_the_closest_one_beside_it(tmp_path, capsys, monkeypatch):
    (tmp_path / "smollm2-135m-eval.toml").write_text(BASE)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "smollm2-135m-evl.toml"]) == 2
    err = capsys.readouterr().err
    assert "run file 'smollm2-135m-evl.toml' does not exist" in err and f"relative paths start at {tmp_path}" in err
    assert "did you mean 'smollm2-135m-eval.toml'?" in err
    assert main(["check", str(tmp_path / "nothing-like-it" / "x.toml")]) == 2
    assert "make one with `lca-run init`" in capsys.readouterr().err
