"""Built-in preprocessors."""

from lca_core import hookimpl


@hookimpl
def lca_register_preprocessors(register):
    register("lm", "lca_plugins.preprocessors.lm:LMPreprocessor",
             description="V1 LMPreprocessor: full window, context gets at least context_tokens, loss on the last tokens")
    register("completion_loss", "lca_plugins.preprocessors.completion_loss:CompletionLossPreprocessor",
             description="newest default: loss on the completion's tail, padding to the batch's longest, optional SEP")
    register("file_level", "lca_plugins.preprocessors.file_level:FileLevelPreprocessor",
             description="no repository context: prompt + completion file, loss on the completion")
