"""Built-in components of lca-pipeline, registered through the ``lca`` entry-point group like any plugin."""
