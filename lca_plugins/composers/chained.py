"""``chained``: a composer assembled in the run file from blocks (filters, chunkers, rankers, ...)."""

from __future__ import annotations

from typing import Any

import attrs

from lca_core.api.components import Runtime, build_params, param, parameters, resolved_params
from lca_core.api.errors import ConfigError, ConfigProblem, LcaError, join_path
from lca_core.composing.blocks import BlockBase, HarvesterBlock, order_problem, run_chain
from lca_core.composing.composers import ComposerBase, ContextPiece, snapshot_files

#: The newest original's ``standard`` chain: exactly what ``path_distance`` composes.
STANDARD_CHAIN = (
    "file_grained_chunker",
    "negative_path_distance_ranker",
    "lexicographic_sorter",
    "path_comment_harvester",
)

#: Harvester parameters that default to the composer's own value when a block table leaves them out.
INHERITED = ("chunks_sep", "path_comment_template")


def build_blocks(tables: list[Any], inherited: dict[str, Any], *, manager=None) -> tuple[list[BlockBase], list[dict]]:
    """Blocks from their run-file tables, order-checked; returns (blocks, tables with defaults filled).

    Raises one `ConfigError` listing every problem, with paths like ``blocks[2].name``.
    """
    from lca_core.api.plugins import get_plugin_manager

    registry = (manager or get_plugin_manager()).registry("block")
    problems: list[ConfigProblem] = []
    blocks: list[BlockBase] = []
    names: list[str] = []
    resolved: list[dict] = []
    for index, table in enumerate(tables):
        where = join_path("blocks", index)
        if not isinstance(table, dict):
            problems.append(ConfigProblem(where, f"expected a table like {{name = \"file_grained_chunker\"}}, "
                                                 f"got {table!r}"))
            continue
        table = dict(table)
        name = table.pop("name", None)
        if not isinstance(name, str):
            problems.append(ConfigProblem(join_path(where, "name"),
                                          "missing block name (a string; `lca-run list blocks` shows them)"))
            continue
        try:
            cls = registry.load(name, path=join_path(where, "name"))
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        except LcaError as exc:  # a broken plugin's block
            problems.append(ConfigProblem(join_path(where, "name"), str(exc)))
            continue
        if issubclass(cls, HarvesterBlock):
            own = {p.name for p in parameters(cls)}
            table = {**{k: v for k, v in inherited.items() if k in own}, **table}
        block, block_problems = build_params(cls, table, where)
        if block_problems:
            problems.extend(block_problems)
            continue
        blocks.append(block)
        names.append(name)
        resolved.append({"name": name, **resolved_params(block)})
    if problems:
        raise ConfigError(problems)
    violation = order_problem(blocks, names)
    if violation is not None:
        index, message = violation
        raise ConfigError([ConfigProblem("blocks" if index < 0 else join_path("blocks", index, "name"), message)])
    return blocks, resolved


@attrs.define(kw_only=True)
class ChainedComposer(ComposerBase):
    """The newest original's ChainedComposer: the context is what a chain of blocks makes of the snapshot.

    ``blocks`` is a list of tables, each ``{name = "<block>", <its parameters>}``, run in order through
    seven stages: file filters and file preprocessors, one chunker, rankers, sorters, one harvester,
    context postprocessors. The order is checked when the run file is read. Harvesters that leave out
    ``chunks_sep`` or ``path_comment_template`` take the composer's. The default chain is the
    original's ``standard`` preset and composes exactly what ``path_distance`` does.
    """

    blocks: list[dict] = param(
        factory=lambda: [{"name": name} for name in STANDARD_CHAIN],
        doc="The chain, in order: a list of tables {name = \"<block>\", ...its parameters}; "
            "`lca-run list blocks` shows the blocks.",
    )
    _chain: list = attrs.field(factory=list, init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        inherited = {key: getattr(self, key) for key in INHERITED}
        self._chain, self.blocks = build_blocks(self.blocks, inherited)

    def setup(self, runtime: Runtime) -> None:
        for block in self._chain:
            block.setup(runtime)

    def compose_context(self, datapoint: dict) -> str:
        return self.compose_context_pieces(datapoint)[0]

    def compose_context_pieces(self, datapoint: dict) -> tuple[str, tuple[ContextPiece, ...]]:
        return run_chain(self._chain, snapshot_files(datapoint), datapoint)
