"""Run files: schema, strict structuring, command-line overrides, the resolved snapshot."""
