"""A component table keeps the component it validated: typed parameters, fresh builds, plain values for TOML."""

from __future__ import annotations

from lca_core.config.loader import config_from_dict, config_to_dict
from lca_core.config.schema import ComponentConfig

BASE = {"model": {"name_or_path": "m"}, "data": {"path": "d"}}


def test_the_validated_component_is_kept_and_read_by_attribute():
    config = config_from_dict({**BASE, "preprocessor": {"name": "lm", "max_seq_len": 64, "context_tokens": 16}})
    instance = config.preprocessor.instance
    assert type(instance).__name__ == "LMPreprocessor"
    assert (instance.max_seq_len, instance.context_tokens, instance.loss_ratio) == (64, 16, 0.3125)
    # plain values, every default filled in, only for resolved.toml
    assert config_to_dict(config)["preprocessor"] == {"name": "lm", **config.preprocessor.params}
    assert config.preprocessor.params["loss_ratio"] == 0.3125


def test_each_build_is_a_fresh_component_equal_to_the_validated_one():
    config = config_from_dict({**BASE, "composer": {"name": "chained"}})
    first, second = config.composer.build(), config.composer.build()
    assert first is not second and first is not config.composer.instance
    assert first == second == config.composer.instance
    assert first.blocks is not second.blocks  # no shared block objects between builds


def test_a_table_made_from_plain_values_validates_on_first_use():
    table = ComponentConfig(kind="composer", name="path_distance", params={"chunks_sep": "\n#\n"})
    assert table.instance.chunks_sep == "\n#\n" and table.build().chunks_sep == "\n#\n"
