"""The example plugin's own tests: the composer's ranking and the lca composer contract."""

from lca_core.composing.testing import check_composer_contract
from lca_plugin_example.composer import IdentifierOverlapComposer


def datapoint():
    return {
        "repo": "me__demo",
        "commit_hash": "0" * 40,
        "completion_file": {"filename": "app/main.py", "content": "from app.db import connect_database\nconnect_database()\n"},
        "completion_lines": {"infile": [], "inproject": [1], "common": [], "commited": [], "non_informative": [0], "random": []},
        "repo_snapshot": {"filename": ["app/db.py", "README.md", "app/util.py"],
                          "content": ["def connect_database():\n    pass\n", "# Demo\n", "def other():\n    pass\n"]},
        "completion_lines_raw": {"commited": [], "common": [], "infile": [], "inproject": [1], "non_informative": [0], "other": []},
    }


def test_most_overlapping_file_is_last():
    context = IdentifierOverlapComposer().compose_context(datapoint())
    assert context.rstrip().endswith("def connect_database():\n    pass")


def test_max_files_keeps_only_the_best():
    context = IdentifierOverlapComposer(max_files=1).compose_context(datapoint())
    assert context.startswith("# app/db.py") and "README" not in context


def test_contract():
    check_composer_contract(IdentifierOverlapComposer(), [datapoint()])
