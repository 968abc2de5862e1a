"""What a plugin author imports: hook specs, the plugin manager, registries, components, errors,
the logger and scheduler bases. (Composer, block and preprocessor bases and the composer contract
tests are in `lca_core.composing`, beside the pipeline they feed; ``hookimpl`` is ``lca_core.hookimpl``.)"""
