"""A corpus of broken run files and overrides: each must exit 2 with a message naming the dotted path."""

from __future__ import annotations

BASE = """\
[run]
seed = 7

[model]
name_or_path = "tiny-model"

[data]
path = "data.jsonl"

[composer]
name = "path_distance"

[preprocessor]
name = "lm"
max_seq_len = 128

[trainer]
max_iters = 4
learning_rate = 1e-3

[scheduler]
name = "cosine_warmup"
warmup_iters = 1

[checkpointing]
freq = 2

[logger]
name = "local"
"""

#: (case id, run-file text or None for BASE, overrides, text the error must contain)
CASES: list[tuple[str, str | None, list[str], str]] = [
    ("typo-in-fixed-key", BASE.replace("max_iters", "max_iter"), [], "trainer.max_iter"),
    ("typo-suggests", BASE.replace("max_iters", "max_iter"), [], "did you mean 'max_iters'"),
    ("typo-in-table", BASE.replace("[trainer]", "[trainr]"), [], "trainr: unknown table; did you mean 'trainer'"),
    ("wrong-type-int", BASE.replace("max_iters = 4", 'max_iters = "four"'), [], "trainer.max_iters: expected an integer"),
    ("wrong-type-float", BASE.replace("learning_rate = 1e-3", 'learning_rate = "fast"'), [], "trainer.learning_rate"),
    ("bool-for-int", BASE.replace("max_iters = 4", "max_iters = true"), [], "trainer.max_iters"),
    ("wrong-type-str", BASE.replace('name_or_path = "tiny-model"', "name_or_path = 3"), [], "model.name_or_path"),
    ("missing-model", BASE.replace('[model]\nname_or_path = "tiny-model"\n', ""), [], "model: missing table [model]"),
    ("missing-data", BASE.replace('[data]\npath = "data.jsonl"\n', ""), [], "data: missing table [data]"),
    ("missing-required-key", BASE.replace('name_or_path = "tiny-model"', 'tokenizer = "x"'), [], "model.name_or_path: missing"),
    ("bad-literal", BASE.replace('dtype = "auto"', "").replace("[model]", '[model]\ndtype = "fp8"'), [], "model.dtype: expected one of"),
    ("literal-did-you-mean", BASE.replace("[model]", '[model]\nattn_implementation = "sdp"'), [], "did you mean 'sdpa'"),
    ("unknown-composer", BASE.replace('name = "path_distance"', 'name = "path_distnce"'), [], "composer.name: unknown composer 'path_distnce'; did you mean 'path_distance'"),
    ("unknown-preprocessor", BASE.replace('name = "lm"', 'name = "lmm"'), [], "preprocessor.name: unknown preprocessor"),
    ("unknown-scheduler", BASE.replace('name = "cosine_warmup"', 'name = "cosine"'), [], "scheduler.name: unknown scheduler 'cosine'"),
    ("unknown-logger", BASE.replace('name = "local"', 'name = "tensorboard"'), [], "logger.name: unknown logger"),
    ("component-name-not-string", BASE.replace('name = "path_distance"', "name = 5"), [], "composer.name: expected a string"),
    ("component-table-not-table", BASE.replace('[composer]\nname = "path_distance"\n', "").replace("[run]", 'composer = "path_distance"\n[run]'), [], "composer: expected a table"),
    ("unknown-component-param", BASE.replace('name = "path_distance"', 'name = "path_distance"\nmax_tokns = 3'), [], "composer.max_tokns: unknown key"),
    ("scheduler-param-wrong-type", BASE.replace("warmup_iters = 1", 'warmup_iters = "one"'), [], "scheduler.warmup_iters: expected an integer"),
    ("scheduler-cross-check", BASE.replace("warmup_iters = 1", "warmup_iters = 10\nlr_decay_iters = 5"), [], "scheduler.lr_decay_iters: must be"),
    ("scheduler-negative", BASE.replace("warmup_iters = 1", "warmup_iters = -1"), [], "scheduler.warmup_iters: must be ≥ 0"),
    ("preprocessor-param-type", BASE.replace("max_seq_len = 128", 'max_seq_len = "long"'), [], "preprocessor.max_seq_len"),
    ("list-item-type", BASE + '\n[plugins]\nmodules = ["a.py", 3]\n', [], "plugins.modules[1]"),
    ("missing-local-plugin", BASE + '\n[plugins]\nmodules = ["no_such_plugin.py"]\n', [], "plugins.modules[0]: local plugin module"),
    ("broken-local-plugin", BASE + '\n[plugins]\nmodules = ["broken_plugin.py"]\n', [], "plugins.modules[0]: local plugin module"),
    ("bad-toml-syntax", BASE.replace("max_iters = 4", "max_iters = = 4"), [], "invalid TOML"),
    ("bad-toml-unclosed", BASE.replace('path = "data.jsonl"', 'path = "data.jsonl'), [], "invalid TOML"),
    ("duplicate-key", BASE.replace("max_iters = 4", "max_iters = 4\nmax_iters = 5"), [], "invalid TOML"),
    ("several-problems-at-once", BASE.replace("max_iters = 4", "max_iter = 4").replace('name = "lm"', 'name = "lmm"'), [], "trainer.max_iter"),
    ("override-typo", None, ["trainer.max_iter=3"], "trainer.max_iter: unknown key"),
    ("override-wrong-type", None, ["trainer.max_iters=many"], "trainer.max_iters: expected an integer"),
    ("override-no-equals", None, ["trainer.max_iters"], "not of the form key.path=value"),
    ("override-empty-part", None, ["trainer..max_iters=3"], "empty key part"),
    ("override-unknown-table", None, ["trainr.max_iters=3"], "trainr: unknown table"),
    ("override-switch-scheduler-revalidates", BASE.replace("warmup_iters = 1", "warmup_iters = 1\nlr_decay_iters = 3"), ["scheduler.name=wsd"], "scheduler.lr_decay_iters: unknown key"),
    ("override-unknown-composer", None, ["composer.name=nope"], "composer.name: unknown composer 'nope'"),
    ("override-into-scalar", None, ["run.seed.x=1"], "run.seed"),
]
