"""Bad input ends in a one-line error naming what and where: exit 2 for configuration, 1 at run time,
no traceback. Hypothesis fuzzes run files, overrides and datapoints: nothing else may escape."""

from __future__ import annotations

import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lca_core.api.errors import LcaError
from tests.core.broken_corpus import BASE
from tests.factories import make_datapoint
from tests.faults.project import lca_run

FUZZ_EXAMPLES = 150


def run(project, *overrides):
    code, err = lca_run(project, "run.toml", *overrides, "--no-progress")
    assert "Traceback" not in err
    problems = [line for line in err.splitlines() if line.startswith("lca-run:") and "warning" not in line]
    assert len(problems) == 1, err
    return code, problems[0]


def mismatched_checkpoint(folder):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=300, hidden_size=48, intermediate_size=64, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=2)
    LlamaForCausalLM(config).save_pretrained(folder / "0004" / "model")
    return folder / "0004"


@pytest.mark.slow
@pytest.mark.parametrize(("overrides", "code", "expected"), [
    (['model.tokenizer="./no-such-tokenizer"'], 2, "model.tokenizer: './no-such-tokenizer' does not exist"),
    (["model.random_init=false", 'model.name_or_path="./no-such-model"'], 2,
     "model.name_or_path: './no-such-model' does not exist"),
    (["model.random_init=false", 'model.name_or_path="nobody-here/not-a-model"', 'model.tokenizer="tokenizer"'], 1,
     "cannot load the model 'nobody-here/not-a-model' (model.name_or_path): the hub is offline"),
    (['checkpointing.init_from="tokenizer"'], 2, "checkpointing.init_from: "),
    (['checkpointing.init_from="other/0004"'], 2, "holds another model than [model] describes: hidden_size 48"),
    (['checkpointing.init_from="lastest"'], 2, "checkpointing.init_from: 'lastest' is none of scratch, resume, best"),
    (['data.path="missing.jsonl"'], 2, "data.path"),
], ids=["tokenizer-path", "model-path", "hub-offline", "not-a-checkpoint", "other-model", "init-typo", "data-path"])
def test_bad_paths_and_checkpoints_are_one_line_errors(project, overrides, code, expected):
    mismatched_checkpoint(project / "other")
    got, line = run(project, *overrides)
    assert got == code and expected in line, line
    assert line.startswith("lca-run: configuration error:" if code == 2 else "lca-run: error:")


@pytest.mark.slow
def test_a_malformed_datapoint_is_a_runtime_error_naming_it(project):
    with open(project / "data.jsonl", "a") as handle:
        bad = make_datapoint(repo="owner__broken")
        bad["completion_lines"]["inproject"] = ["five"]
        handle.write(json.dumps(bad) + "\n")
    code, err = lca_run(project, "run.toml", "--no-progress")
    assert code == 1
    assert "Traceback" not in err and "datapoint 8 (repo 'owner__broken'), completion_lines.inproject" in err


# --- fuzzing -------------------------------------------------------------------------------------

SCALARS = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.booleans(), st.text(max_size=12),
                    st.sampled_from(["auto", "lm", "path_distance", "cosine_warmup", "local", "../x", "", "embedded"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=6)
TABLES = ["run", "model", "data", "split", "composer", "preprocessor", "trainer", "scheduler", "checkpointing",
          "logger", "plugins", "model.config"]


def _base():
    import tomllib

    return tomllib.loads(BASE)


def _keys(data):
    for table, body in data.items():
        yield (table,)
        if isinstance(body, dict):
            yield from ((table, key) for key in body)


@st.composite
def mutated_run_files(draw):
    """A valid run file with a few keys set, replaced or deleted, and some overrides."""
    data = _base()
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["set", "delete", "new"]))
        keys = list(_keys(data))
        if action == "delete" and keys:
            path = draw(st.sampled_from(keys))
            node = data
            for part in path[:-1]:
                node = node[part]
            node.pop(path[-1], None)
        else:
            table = draw(st.sampled_from(TABLES)) if action == "new" else draw(st.sampled_from(keys))[0]
            key = draw(st.one_of(st.text(min_size=1, max_size=10), st.sampled_from(
                ["name", "max_iters", "path", "name_or_path", "valid_size", "freq", "init_from", "modules",
                 "max_seq_len", "warmup_iters", "seed", "dtype", "micro_batch_size", "on_nonfinite"])))
            node = data
            for part in table.split("."):
                node = node.setdefault(part, {}) if isinstance(node, dict) else {}
            if isinstance(node, dict):
                node[key] = draw(VALUES)
            else:
                data[table] = draw(VALUES)
    overrides = draw(st.lists(st.text(max_size=30), max_size=2))
    return data, overrides


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=mutated_run_files())
def test_fuzzed_run_files_fail_only_with_lca_errors(case, tmp_path_factory):
    from lca_core.config.loader import config_from_dict

    data, overrides = case
    source = tmp_path_factory.getbasetemp() / "fuzz" / "run.toml"
    try:
        config_from_dict(copy.deepcopy(data), overrides, source=source)
    except LcaError as exc:
        assert exc.exit_code in (1, 2) and exc.render().strip()


DATAPOINT_PATHS = ["repo", "commit_hash", "completion_file", "completion_file.filename", "completion_file.content",
                   "completion_lines", "completion_lines.inproject", "completion_lines.commited", "repo_snapshot",
                   "repo_snapshot.filename", "repo_snapshot.content", "completion_lines_raw",
                   "completion_lines_raw.other"]


@st.composite
def mutated_datapoints(draw):
    datapoint = make_datapoint(content=draw(st.text(max_size=80)) or "x = 1\n")
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(DATAPOINT_PATHS)).split(".")
        node = datapoint
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue
        if draw(st.booleans()):
            node.pop(path[-1], None)
        else:
            node[path[-1]] = draw(st.one_of(VALUES, st.lists(st.integers(-3, 40), max_size=4)))
    return datapoint


@pytest.mark.slow
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(datapoint=mutated_datapoints())
def test_fuzzed_datapoints_are_rejected_by_validation_or_compose(datapoint):
    """Validation never crashes; whatever it accepts composes without an error."""
    from lca_core.data.validation import check_datapoint, drop_leaked_files
    from lca_plugins.composers.path_distance import PathDistanceComposer

    problems, leaks = check_datapoint(datapoint)
    assert all(isinstance(field, str) and isinstance(message, str) for field, message in problems)
    if not problems:
        composed = PathDistanceComposer().compose(drop_leaked_files(datapoint, leaks))
        assert set(composed) >= {"composed_context", "composed_completion", "completion_lines"}
