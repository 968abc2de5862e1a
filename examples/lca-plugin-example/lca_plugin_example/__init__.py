"""An example lca plugin: registers the ``identifier_overlap`` composer (kept import-light)."""

import lca_core


@lca_core.hookimpl
def lca_register_composers(register):
    register(
        "identifier_overlap",
        "lca_plugin_example.composer:IdentifierOverlapComposer",
        description="snapshot files ranked by identifiers shared with the completion file, best last",
    )
