"""Fixtures of the fault suite: one tokenizer and one small CLI project per session, one CPU thread."""

from __future__ import annotations

import shutil

import pytest

from tests.factories import write_tiny_project


@pytest.fixture(scope="session")
def tokenizer_dir(tokenizer, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tokenizer-files")
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def project_template(tokenizer, tmp_path_factory):
    return write_tiny_project(tmp_path_factory.mktemp("project"), tokenizer)


@pytest.fixture
def project(project_template, tmp_path):
    """A fresh copy of the CLI project: run.toml, data.jsonl and tokenizer/ (run directory: run/)."""
    shutil.copytree(project_template, tmp_path / "project")
    return tmp_path / "project"


@pytest.fixture(autouse=True)
def _one_thread(one_cpu_thread):
    yield
