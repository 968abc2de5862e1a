"""The exact LCA schema: `datasets` features, the hand-built arrow schema and its metadata agree."""

from __future__ import annotations

import json

from lca_core.data.schema import CATEGORY_IDS, FEATURES_YAML, arrow_schema, features_metadata, lca_features


def test_arrow_schema_and_metadata_match_the_datasets_features():
    from datasets import Features

    features = lca_features()
    schema = arrow_schema()
    assert schema.remove_metadata() == features.arrow_schema.remove_metadata()
    assert Features.from_arrow_schema(schema) == features
    assert Features.from_dict(json.loads(schema.metadata[b"huggingface"])["info"]["features"]) == features
    assert Features._from_yaml_list(FEATURES_YAML) == features  # the dataset card's spelling
    assert '"_type": "Sequence"' in json.dumps(features_metadata())  # classic spelling, readable by datasets < 4


def test_quirks_are_kept():
    features = lca_features()
    assert "commited" in features["completion_lines"] and "committed" not in features["completion_lines"]
    assert list(features["completion_lines_raw"])[-1] == "other" and "random" not in features["completion_lines_raw"]
    schema = arrow_schema()
    assert str(schema.field("completion_lines").type.field("infile").type) == "list<item: int32>"
    assert str(schema.field("completion_lines_raw").type.field("infile").type) == "list<item: int64>"
    assert CATEGORY_IDS == {"commited": 0, "common": 1, "infile": 2, "inproject": 3, "non_informative": 4,
                            "random": 5, "other": 6}
