"""The fine-tuning loop: sampler, optimizer, metrics, checkpoints, resume."""
