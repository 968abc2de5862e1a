"""lca_core: the plugin framework of lca-pipeline (hook specs, registries, run files, the CLI)."""

import pluggy

from lca_core import _moved

__version__ = "0.1.0"

#: Marker for plugin hook implementations: ``@lca_core.hookimpl def lca_register_composers(register): ...``
hookimpl = pluggy.HookimplMarker("lca")

__all__ = ["__version__", "hookimpl"]

# Modules moved into lca_core.api / lca_core.composing stay importable by their old names.
_moved.install()
