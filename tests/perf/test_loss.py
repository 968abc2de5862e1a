"""The chunked linear cross-entropy equals the plain full-logits path: loss, per-token CE, gradients, ranks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lca_core.training.loss import (
    default_chunk_size,
    linear_cross_entropy,
    logit_statistics,
    resolve_loss_impl,
    supports_hidden_state_loss,
)


def plain(hidden, weight, targets, weights):
    """The reference: full fp32 logits, F.cross_entropy, weighted sum."""
    logits = hidden @ weight.t()
    ce = F.cross_entropy(logits.reshape(-1, weight.shape[0]), targets.reshape(-1), reduction="none")
    return (ce * weights.reshape(-1)).sum(), ce.view(targets.shape), logits


def random_problem(seed, batch=2, length=75, dim=24, vocab=131, loss_fraction=0.4):
    gen = torch.Generator().manual_seed(seed)
    hidden = torch.randn(batch, length, dim, generator=gen, dtype=torch.float64).float()
    weight = torch.randn(vocab, dim, generator=gen) / dim**0.5
    targets = torch.randint(0, vocab, (batch, length), generator=gen)
    mask = torch.rand(batch, length, generator=gen) < loss_fraction
    return hidden, weight, targets, mask


@pytest.mark.parametrize("seed,chunk", [(0, 16), (1, 7), (2, 1000)])  # many chunks, a ragged last one, one chunk
@pytest.mark.parametrize("restrict", [False, True])
def test_loss_and_gradients_equal_the_full_logits_path(seed, chunk, restrict):
    hidden, weight, targets, mask = random_problem(seed)
    weights = mask.float() / mask.sum()
    h1, w1 = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    kwargs = {"loss_mask": mask, "loss_rows": int(mask.sum())} if restrict else {}
    loss, ce = linear_cross_entropy(h1, w1, targets, weights, chunk_size=chunk, **kwargs)
    (loss * 3.0).backward()  # a non-unit upstream gradient (the loss scaler's) must scale both gradients

    h2, w2 = hidden.clone().requires_grad_(), weight.clone().requires_grad_()
    ref_loss, ref_ce, _ = plain(h2, w2, targets, weights)
    (ref_loss * 3.0).backward()

    torch.testing.assert_close(loss, ref_loss, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(ce, ref_ce.detach(), rtol=1e-6, atol=1e-5)  # every position, masked or not
    torch.testing.assert_close(h1.grad, h2.grad, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(w1.grad, w2.grad, rtol=1e-5, atol=1e-7)
    assert not ce.requires_grad
    assert h1.grad[~mask].abs().max() == 0  # rows outside the loss mask get no gradient


def test_no_grad_gives_the_cross_entropy_only():
    hidden, weight, targets, mask = random_problem(3)
    with torch.no_grad():
        loss, ce = linear_cross_entropy(hidden, weight, targets, mask.float(), chunk_size=32)
    ref_loss, ref_ce, _ = plain(hidden, weight, targets, mask.float())
    torch.testing.assert_close(ce, ref_ce, rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-6, atol=1e-5)


def test_logit_statistics_give_cross_entropy_and_target_rank():
    hidden, weight, targets, _ = random_problem(4, vocab=53)
    targets[0, :5] = (hidden[0, :5] @ weight.t()).argmax(-1)  # some argmax hits: rank 0
    ce, rank = logit_statistics(hidden, weight, targets, chunk_size=16)
    _, ref_ce, logits = plain(hidden, weight, targets, torch.zeros_like(targets, dtype=torch.float))
    torch.testing.assert_close(ce, ref_ce, rtol=1e-6, atol=1e-5)
    assert torch.equal(rank, (logits > logits.gather(-1, targets.unsqueeze(-1))).sum(-1))
    assert (rank[0, :5] == 0).all() and rank.max() > 0


def test_chunk_size_keeps_chunk_logits_near_256_mib():
    assert default_chunk_size(32256) == 2048 and default_chunk_size(96640) == 512
    assert default_chunk_size(50) == 8192 and default_chunk_size(10**7) == 256


def test_auto_is_chunked_and_liger_falls_back_off_cuda():
    assert resolve_loss_impl("auto", "cuda") == "chunked"
    assert resolve_loss_impl("liger", "cpu") == "chunked"
    assert resolve_loss_impl("full", "cuda") == "full"


def test_models_that_rescale_logits_keep_the_full_path():
    from transformers import LlamaConfig, LlamaForCausalLM

    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1))
    assert supports_hidden_state_loss(model)
    model.config.final_logit_softcapping = 30.0
    assert not supports_hidden_state_loss(model)


def test_the_compiled_chunk_kernel_serves_every_chunk_size_with_one_graph():
    # The last chunk of a batch has as many rows as its loss tokens leave: a static-shape compile made every new
    # size a recompile (2 s each on an H200: file-level and packed training recompiled at nearly every step).
    import torch
    from torch._dynamo.testing import CompileCounter

    from lca_core.training import loss

    torch._dynamo.reset()
    counter = CompileCounter()
    kernel = loss.compiled_chunk_kernel(backend=counter)
    torch.manual_seed(0)
    for rows in (2048, 768, 1536, 1152, 2048, 7):
        logits = torch.randn(rows, 50)
        targets = torch.randint(0, 50, (rows,))
        weights = torch.rand(rows)
        ce, grad = kernel(logits, targets, weights)
        want_ce, want_grad = loss._chunk_ce_and_grad(logits, targets, weights)
        torch.testing.assert_close(ce, want_ce)
        torch.testing.assert_close(grad, want_grad)
    assert counter.frame_count == 1
