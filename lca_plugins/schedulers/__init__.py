"""Built-in learning-rate schedulers."""

from lca_core import hookimpl


@hookimpl
def lca_register_schedulers(register):
    module = "lca_plugins.schedulers.schedules"
    register("cosine_warmup", f"{module}:CosineWarmup",
             description="linear warmup (it+1)/W, cosine to min_lr at lr_decay_iters, then flat (the original's)")
    register("constant", f"{module}:Constant", description="the peak learning rate at every iteration")
    register("linear", f"{module}:Linear", description="linear warmup, then linear decay to min_lr")
    register("wsd", f"{module}:WarmupStableDecay", description="warmup, stable plateau, then linear decay (WSD)")
