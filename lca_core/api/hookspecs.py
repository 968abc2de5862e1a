"""The pluggy hook specifications every lca plugin implements a subset of.

Registration hooks are called once per process, when the plugin manager loads; each receives a
``register(name, target, *, description=None)`` callback (``target`` is a class or a lazy
``"package.module:Class"`` string). Lifecycle hooks are called by the trainer with keyword
arguments; a hook implementation may accept any subset of them.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("lca")


# --- hooks for plugins -----------------------------------------------------------------------


@hookspec(historic=True)
def lca_addhooks(pluginmanager):
    """Called once for each plugin as it is registered: add hook specifications that other plugins may
    implement with ``pluginmanager.add_hookspecs(module_or_class)`` (``pluginmanager`` is pluggy's)."""


# --- registration -----------------------------------------------------------------------------


@hookspec
def lca_register_composers(register):
    """Register context composers: called once at start-up; call ``register(name, target)`` for each."""


@hookspec
def lca_register_blocks(register):
    """Register chained-composer blocks (filters, chunkers, rankers, ...): called once at start-up."""


@hookspec
def lca_register_preprocessors(register):
    """Register preprocessors (tokenize context + completion into training samples): called once at start-up."""


@hookspec
def lca_register_schedulers(register):
    """Register learning-rate schedulers (stateless functions of the iteration): called once at start-up."""


@hookspec
def lca_register_loggers(register):
    """Register loggers (where metrics and messages go): called once at start-up."""


# --- lifecycle --------------------------------------------------------------------------------


@hookspec
def lca_run_start(config, run_dir, start_iteration):
    """Called once before the first training step, after resume state is loaded; returns nothing."""


@hookspec
def lca_after_optimizer_step(iteration, metrics, learning_rate):
    """Called after every optimizer step with that step's training metrics (a dict); returns nothing."""


@hookspec
def lca_after_validation(iteration, metrics):
    """Called after each validation pass with the validation metrics (a dict); returns nothing."""


@hookspec
def lca_after_checkpoint(iteration, path, metrics):
    """Called after a checkpoint directory has been completely written; returns nothing."""


@hookspec
def lca_run_end(run_dir, status, iteration, error):
    """Called once when the run ends: ``status`` is "completed", "stopped" or "failed"; returns nothing."""
