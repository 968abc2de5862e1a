"""FP8 matrix products for training ([model] float8): torchao's float8 training of the decoder layers' linears.

torchao casts each linear's input, weight and output gradient to float8 with a dynamic scale (per tensor
for ``tensorwise``, per row for ``rowwise``) and runs the three matrix products of a linear layer in FP8
on the tensor cores; weights, optimizer state and everything else stay as they were. Measured on one
H200 at 16k tokens (benchmarks/RESULTS.md): DSC-1.3B shape +4.5% tokens/s and −7 GiB with
``tensorwise``, OpenCoder-1.5B shape +4.3% and −7.8 GiB; ``rowwise`` was slower than bf16. The output
projection stays in bf16: the fused loss reads its weight directly, and the logits are the most
precision-sensitive product. Checkpoints hold the same bf16 weights as without FP8.

Imported lazily (it imports torchao).
"""

from __future__ import annotations

from typing import Any

#: FP8 matrix products need this compute capability (Ada, Hopper or newer)
MIN_CAPABILITY = (8, 9)
#: the FP8 matrix product needs both sizes of a weight to be multiples of this
FP8_MULTIPLE = 16


def convert_to_float8(model: Any, recipe: str) -> int:
    """Swap every decoder-layer linear whose sizes FP8 takes for torchao's ``Float8Linear`` (``recipe``:
    tensorwise | rowwise); returns how many were swapped. Call before the first forward (compiled layers
    trace at their first call, so compiling first is fine)."""
    from torchao.float8 import Float8LinearConfig, convert_to_float8_training

    from lca_core.models.compile import decoder_layers

    config = Float8LinearConfig.from_recipe_name(recipe)
    swapped = [0]

    def takes(module: Any, fqn: str) -> bool:
        ok = module.in_features % FP8_MULTIPLE == 0 and module.out_features % FP8_MULTIPLE == 0
        swapped[0] += ok
        return ok

    for layer in decoder_layers(model):
        convert_to_float8_training(layer, config=config, module_filter_fn=takes)
    return swapped[0]
