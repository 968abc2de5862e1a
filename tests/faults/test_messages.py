"""Messages for damaged files and secrets: one line, naming the file; never "the hub is offline" for a local
folder; no secret on the terminal. Real damaged files, a real malicious pickle, a real plugin."""

from __future__ import annotations

import pickle

import pytest

from lca_core.training.checkpoint import MANIFEST_FILE, write_manifest
from tests.faults.project import lca_run

TOKEN = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYz01234567"


def error_lines(text):
    assert "Traceback" not in text and "internal error" not in text, text
    return [line for line in text.splitlines() if line.startswith("lca-run:") and ": warning:" not in line]


def trained(project):
    code, text = lca_run(project, "run.toml", "trainer.max_iters=2", "--no-progress")
    assert code == 0, text
    return project / "run" / "checkpoints" / "0002"


def reseal(folder):
    """A new manifest, as if the damaged file had been saved so: the damage must be found by reading it."""
    (folder / MANIFEST_FILE).unlink()
    write_manifest(folder)


class Exploit:
    def __reduce__(self):
        import os

        return os.system, ("touch pwned",)


@pytest.mark.slow
def test_a_blocked_pickle_is_one_line_and_runs_nothing(project):
    checkpoint = trained(project)
    (checkpoint / "optim.pt").write_bytes(pickle.dumps({"optimizer": Exploit()}))
    reseal(checkpoint)
    code, text = lca_run(project, "run.toml", "trainer.max_iters=4", "--no-progress")
    assert code == 1
    lines = error_lines(text)
    assert len(lines) == 1, text
    assert "optim.pt: it holds Python objects that safe loading (weights_only) refuses — no code from it ran" in lines[0]
    assert not (project / "pwned").exists()


@pytest.mark.slow
def test_garbage_weights_in_a_checkpoint_name_the_file(project):
    checkpoint = trained(project)
    (checkpoint / "model" / "model.safetensors").write_bytes(b"\x00garbage" * 100)
    reseal(checkpoint)
    code, text = lca_run(project, "run.toml", "trainer.max_iters=4", "--no-progress")
    assert code == 1
    lines = error_lines(text)
    assert len(lines) == 1 and "model/model.safetensors cannot be read" in lines[0], text
    assert "hub" not in lines[0]


def test_a_local_model_folder_without_weights_is_not_called_offline(project):
    from transformers import LlamaConfig

    folder = project / "my-model"
    LlamaConfig(vocab_size=300, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                num_key_value_heads=1).save_pretrained(folder)  # a config, and no weights beside it
    code, text = lca_run(project, "run.toml", "model.random_init=false", 'model.name_or_path="my-model"',
                         'model.tokenizer="tokenizer"', "--no-progress")
    lines = error_lines(text)
    assert code == 1 and len(lines) == 1, text
    assert "cannot load the model from" in lines[0] and "it has none of model.safetensors" in lines[0]
    assert "offline" not in lines[0]


def test_a_garbage_tokenizer_json_names_the_file(project):
    (project / "tokenizer" / "tokenizer.json").write_text("{ this is not json")
    code, text = lca_run(project, "check", "run.toml")
    lines = error_lines(text)
    assert code == 1 and len(lines) == 1, text
    assert "tokenizer/tokenizer.json cannot be read" in lines[0] and "model.tokenizer" in lines[0]


PLUGIN = f'''
import warnings
from lca_core import hookimpl

@hookimpl
def lca_after_optimizer_step(iteration):
    warnings.warn("calling the hub with token {TOKEN}")
    raise RuntimeError("the hub refused token {TOKEN}")
'''


def test_secrets_are_redacted_on_the_terminal(project, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    (project / "leaky.py").write_text(PLUGIN)
    with open(project / "run.toml", "a") as handle:
        handle.write('\n[plugins]\nmodules = ["leaky.py"]\n')
    code, text = lca_run(project, "run.toml", "--no-progress")
    assert code == 1, text
    assert TOKEN not in text
    assert "calling the hub with token ***" in text and "the hub refused token ***" in text


def test_local_bpe_reads_a_bounded_share_of_one_huge_file_and_says_what_it_does(project):
    from lca_core.models.loading import LOCAL_BPE_MAX_FILE_CHARS, _training_texts

    rows = [{"repo": "r", "completion_file": {"filename": "gen.py", "content": "x" * 20_000_000},
             "repo_snapshot": {"filename": ["a.py"], "content": ["def f():\n    pass\n"]}}]
    texts = list(_training_texts(rows))
    assert [len(t) for t in texts] == [LOCAL_BPE_MAX_FILE_CHARS, 18]
    code, text = lca_run(project, "check", "run.toml", 'model.tokenizer="local-bpe:300"')
    assert code == 0, text
    assert "lca-run: training the local-bpe:300 tokenizer (vocabulary 300)" in text
