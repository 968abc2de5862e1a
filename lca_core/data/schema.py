"""The exact Long Code Arena datapoint schema: field names, `datasets.Features`, line-category ids.

The quirks of the public dataset are kept on purpose: the key ``commited`` (sic), the two line
structs listing their keys in different orders, ``completion_lines_raw`` with ``other`` instead of
``random``, the snapshot as a struct of two parallel lists, int32 sampled lines and int64 raw lines.
"""

from __future__ import annotations

from typing import Any

#: keys of ``completion_lines`` (sampled lines, int32), in the dataset's order
CATEGORIES: tuple[str, ...] = ("infile", "inproject", "common", "commited", "non_informative", "random")
#: keys of ``completion_lines_raw`` (every candidate line, int64), in the dataset's order
RAW_CATEGORIES: tuple[str, ...] = ("commited", "common", "infile", "inproject", "non_informative", "other")
#: category -> id in ``category_ids`` tensors; lines in no category are -1
CATEGORY_IDS: dict[str, int] = {
    "commited": 0,
    "common": 1,
    "infile": 2,
    "inproject": 3,
    "non_informative": 4,
    "random": 5,
    "other": 6,
}
UNDEFINED_CATEGORY_ID = -1
#: id -> category, the inverse of CATEGORY_IDS
CATEGORY_NAMES: dict[int, str] = {v: k for k, v in CATEGORY_IDS.items()}
#: top-level fields, in the dataset's order
FIELDS: tuple[str, ...] = (
    "repo", "commit_hash", "completion_file", "completion_lines", "repo_snapshot", "completion_lines_raw",
)

#: the public dataset card's ``dataset_info.features`` (the classic ``Sequence`` spelling)
FEATURES_YAML: list[dict[str, Any]] = [
    {"name": "repo", "dtype": "string"},
    {"name": "commit_hash", "dtype": "string"},
    {"name": "completion_file", "struct": [{"name": "filename", "dtype": "string"},
                                           {"name": "content", "dtype": "string"}]},
    {"name": "completion_lines", "struct": [{"name": key, "sequence": "int32"} for key in CATEGORIES]},
    {"name": "repo_snapshot", "sequence": [{"name": "filename", "dtype": "string"},
                                           {"name": "content", "dtype": "string"}]},
    {"name": "completion_lines_raw", "struct": [{"name": key, "sequence": "int64"} for key in RAW_CATEGORIES]},
]


def lca_features():
    """The exact LCA ``datasets.Features`` (imports `datasets` on first use)."""
    from datasets import Features, Sequence, Value

    return Features({
        "repo": Value("string"),
        "commit_hash": Value("string"),
        "completion_file": {"filename": Value("string"), "content": Value("string")},
        "completion_lines": {key: Sequence(Value("int32")) for key in CATEGORIES},
        # A Sequence of a dict is the classic spelling of "a struct of parallel lists".
        "repo_snapshot": Sequence({"filename": Value("string"), "content": Value("string")}),
        "completion_lines_raw": {key: Sequence(Value("int64")) for key in RAW_CATEGORIES},
    })


def _value(dtype: str) -> dict[str, str]:
    return {"dtype": dtype, "_type": "Value"}


def _sequence(feature: dict) -> dict:
    return {"feature": feature, "_type": "Sequence"}


def features_metadata() -> dict[str, Any]:
    """The ``huggingface`` parquet metadata of the public files (classic ``Sequence`` spelling, which every
    `datasets` version reads), built without importing `datasets`."""
    features = {
        "repo": _value("string"),
        "commit_hash": _value("string"),
        "completion_file": {"filename": _value("string"), "content": _value("string")},
        "completion_lines": {key: _sequence(_value("int32")) for key in CATEGORIES},
        "repo_snapshot": _sequence({"filename": _value("string"), "content": _value("string")}),
        "completion_lines_raw": {key: _sequence(_value("int64")) for key in RAW_CATEGORIES},
    }
    return {"info": {"features": features}}


def arrow_schema():
    """The exact LCA arrow schema with its ``huggingface`` metadata (pyarrow only: fast to import)."""
    import json

    import pyarrow as pa

    text = pa.string()
    return pa.schema([
        ("repo", text),
        ("commit_hash", text),
        ("completion_file", pa.struct([("filename", text), ("content", text)])),
        ("completion_lines", pa.struct([(key, pa.list_(pa.int32())) for key in CATEGORIES])),
        ("repo_snapshot", pa.struct([("filename", pa.list_(text)), ("content", pa.list_(text))])),
        ("completion_lines_raw", pa.struct([(key, pa.list_(pa.int64())) for key in RAW_CATEGORIES])),
    ], metadata={"huggingface": json.dumps(features_metadata())})
