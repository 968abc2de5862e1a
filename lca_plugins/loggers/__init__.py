"""Built-in loggers: local files, Weights & Biases, and a no-op."""

from lca_core import hookimpl


@hookimpl
def lca_register_loggers(register):
    register("local", "lca_plugins.loggers.local:LocalLogger",
             description="logs/train.csv, logs/valid.csv and JSON Lines stdout/stderr logs in the run directory")
    register("wandb", "lca_plugins.loggers.wandb_logger:WandbLogger",
             description="the local logger plus a Weights & Biases run (online, offline or disabled)")
    register("dummy", "lca_plugins.loggers.dummy:DummyLogger", description="logs nothing (for debugging)")
