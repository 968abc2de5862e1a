"""lca_core: the plugin framework of lca-pipeline (hook specs, registries, run files, the CLI)."""

import pluggy

__version__ = "0.1.0"

#: Marker for plugin hook implementations: ``@lca_core.hookimpl def lca_register_composers(register): ...``
hookimpl = pluggy.HookimplMarker("lca")

__all__ = ["__version__", "hookimpl"]
