"""Metrics: token-weighted cross-entropy per mask and category, top-k accuracy, teacher-forced line exact match."""

from __future__ import annotations

import math

import torch

from lca_core.training.metrics import MetricAccumulator, flops_per_token, token_cross_entropy

NEWLINE = 9


def batch_and_logits():
    # one sample, 6 targets: "a b \n" "c \n" "d"; completion = the last 5 targets, loss = the last 3
    targets = torch.tensor([[1, 2, 3, NEWLINE, 4, NEWLINE]])
    predicted = torch.tensor([[1, 2, 3, NEWLINE, 5, NEWLINE]])  # the second line has one wrong token
    logits = torch.full((1, 6, 10), -5.0)
    logits.scatter_(-1, predicted.unsqueeze(-1), 5.0)
    logits[0, 4, 4] = 4.0  # the right token is second best where the argmax is wrong
    batch = {"target_ids": targets, "loss_mask": torch.tensor([[0, 0, 0, 1, 1, 1]], dtype=torch.bool),
             "completion_mask": torch.tensor([[0, 1, 1, 1, 1, 1]], dtype=torch.bool),
             "category_ids": torch.tensor([[-1, 3, 3, 3, 2, 2]])}
    return batch, logits


def test_cross_entropy_is_token_weighted_over_micro_batches():
    batch, logits = batch_and_logits()
    ce = token_cross_entropy(logits, batch["target_ids"])
    metrics = MetricAccumulator()
    metrics.update(ce, batch)
    half = {k: v[:, 3:] for k, v in batch.items()}  # a second micro-batch with fewer tokens
    metrics.update(ce[:, 3:], half)
    result = metrics.compute()
    loss = batch["loss_mask"]
    expected = (ce[loss].sum() * 2) / (loss.sum() * 2)
    assert math.isclose(result["cross_entropy"], expected.item(), rel_tol=1e-6)
    full = torch.cat([ce.flatten(), ce[:, 3:].flatten()])
    assert math.isclose(result["full_cross_entropy"], full.mean().item(), rel_tol=1e-6)
    assert math.isclose(result["detached_cross_entropy"], ce[0, :3].mean().item(), rel_tol=1e-6)
    assert math.isclose(result["infile_cross_entropy"], ce[0, 4:].mean().item(), rel_tol=1e-6)
    assert math.isnan(result["random_cross_entropy"])  # no token of that category


def test_top_k_and_line_exact_match():
    batch, logits = batch_and_logits()
    newline = torch.zeros(10, dtype=torch.bool)
    newline[NEWLINE] = True
    metrics = MetricAccumulator(newline_ids=newline)
    metrics.update(token_cross_entropy(logits, batch["target_ids"]), batch, logits=logits)
    result = metrics.compute()
    assert math.isclose(result["top_1_accuracy"], 2 / 3) and result["top_3_accuracy"] == 1.0
    # completion lines: [2, 3, \n] all right; [4, \n] has a wrong token
    assert result["completion_exact_match"] == 0.5
    assert result["inproject_exact_match"] == 1.0 and result["infile_exact_match"] == 0.0


def test_flops_per_token_counts_causal_attention():
    assert flops_per_token(1_000, 2, 8, 16) == 6 * 1_000 + 6 * 2 * 8 * 16
