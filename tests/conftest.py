"""Test-wide settings: offline Hugging Face, offline W&B, a private HF_HOME; shared fixtures."""

from __future__ import annotations

import os
import tempfile

# Set before anything imports huggingface_hub / datasets / wandb (a hub name would otherwise retry for ~50 s).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "offline"
os.environ["WANDB_SILENT"] = "true"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="lca-test-hf-home-"))
# The embedded dataset and local tokenizers are cached here: a fresh one, so no stale cache hides a bug.
os.environ["LCA_CACHE"] = tempfile.mkdtemp(prefix="lca-test-cache-")

import pytest  # noqa: E402

from tests.factories import make_datapoint  # noqa: E402,F401


@pytest.fixture
def plugin_manager():
    """A fresh process-wide plugin manager, reset again after the test (undoes temporary plugins)."""
    from lca_core.api.plugins import get_plugin_manager, reset_plugin_manager

    reset_plugin_manager()
    yield get_plugin_manager()
    reset_plugin_manager()


@pytest.fixture
def datapoint():
    return make_datapoint()


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    """A byte-level BPE trained locally, once per session (test folders may override it)."""
    from tests.training.tiny import tiny_tokenizer

    return tiny_tokenizer(tmp_path_factory.mktemp("tokenizer"))


@pytest.fixture
def one_cpu_thread():
    """Tiny models run faster on one thread, above all on a busy machine; restore the setting after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
