"""The fixed tables of a run file that are not components: [run] and [plugins].

The other fixed tables have a module each here: [model] in `lca_core.config.model`, [data]/[split]
in `lca_core.config.data`, [trainer]/[checkpointing] in `lca_core.config.training`; so config/ imports
no package but api/, and the packages that read these tables import config/.
Rule for every table: a field never takes None unless its default is None (TOML has no null, so a
resolved file could not write such a value back); "off" is spelled 0 or "".
"""

from __future__ import annotations

import attrs

from lca_core.api.components import param
from lca_core.api import checks


@attrs.define(kw_only=True)
class RunSection:
    """[run]: the run's name, its directory and the global seed."""

    name: str = param("", doc="Run name; default: the run file's stem, or its folder's name for a file called run.toml.",
                      validator=checks.run_name)
    dir: str = param(
        "",
        doc="Run directory; default: the run file's folder for run.toml (as `lca-run init` makes it), "
        "else runs/<name> under the current directory. Relative paths are relative to the run file.",
        validator=checks.path_text,
    )
    seed: int = param(1337, doc="Global seed (model init, sampler, composers that draw random numbers).",
                      validator=checks.seed)


@attrs.define(kw_only=True)
class PluginsSection:
    """[plugins]: local plugin modules, loaded like installed plugins."""

    modules: list[str] = param(factory=list, doc="Python files (relative to the run file) holding hook implementations.")
