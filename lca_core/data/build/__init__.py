"""Building LCA-format datasets from local git repositories and plain directories (`lca-run dataset build`)."""
