"""Built-in chained-composer blocks: the newest original's block set, plus a lines-IoU ranker and a mixed sorter."""

from lca_core import hookimpl

_BLOCKS = {
    # file filters
    "null_file_filter": ("filters:NullFileFilter", "drop every file (empty context)"),
    "inclusive_file_extension_filter": ("filters:InclusiveFileExtensionFilter", "keep files with a listed suffix"),
    "exclusive_file_extension_filter": ("filters:ExclusiveFileExtensionFilter", "drop files with a listed suffix"),
    "empty_file_filter": ("filters:EmptyFileFilter", "drop whitespace-only files"),
    "file_length_filter": ("filters:FileLengthFilter", "keep files of min_len..max_len characters"),
    "tokenized_file_length_filter": ("filters:TokenizedFileLengthFilter",
                                     "keep files of min_len..max_len tokens (run's tokenizer)"),
    "char_token_ratio_filter": ("filters:CharTokenRatioFilter",
                                "keep files whose chars/token on a seeded random window is in range"),
    # file preprocessors
    "empty_lines_removal_preprocessor": ("file_preprocessors:EmptyLinesRemovalPreprocessor", "remove blank lines"),
    "declaration_only_preprocessor": ("file_preprocessors:DeclarationOnlyPreprocessor",
                                      ".py files reduced to class/function headers"),
    # chunkers
    "file_grained_chunker": ("chunkers:FileGrainedChunker", "one chunk per file"),
    "code_segment_grained_chunker": ("chunkers:CodeSegmentGrainedChunker",
                                     ".py files cut into comment, docstring, import and code chunks"),
    # rankers
    "negative_path_distance_ranker": ("rankers:NegativePathDistanceRanker",
                                      "minus the directory hops to the completion file"),
    "function_call_ranker": ("rankers:FunctionCallRanker", "number of calls in a .py chunk (or per character)"),
    "file_extension_ranker": ("rankers:FileExtensionRanker", "index of the chunk's suffix group (later = nearer)"),
    "random_ranker": ("rankers:RandomRanker", "a random permutation, fixed per datapoint"),
    "lines_iou_ranker": ("rankers:LinesIoURanker", "line-set IoU with the completion file's prefix"),
    # sorters
    "lexicographic_sorter": ("sorters:LexicographicSorter", "stable ascending sort by the rank lists (best last)"),
    "mixed_sorter": ("sorters:MixedSorter", "round-robin over the rankers' best chunks (best last)"),
    # harvesters
    "joining_harvester": ("harvesters:JoiningHarvester", "join chunk contents with a separator"),
    "path_comment_harvester": ("harvesters:PathCommentHarvester", "render chunks under path comments, then join"),
    # context postprocessors
    "partial_memory_postprocessor": ("postprocessors:PartialMemoryPostprocessor",
                                     "drop each context line with probability dropout (seeded per datapoint)"),
    "line_length_postprocessor": ("postprocessors:LineLengthPostprocessor", "keep lines of min_len..max_len chars"),
    "line_strip_postprocessor": ("postprocessors:LineStripPostprocessor", "strip every context line"),
    "inverse_frequency_memory_postprocessor": ("postprocessors:InverseFrequencyMemoryPostprocessor",
                                               "no-op (never implemented in the original; kept for old chains)"),
}


@hookimpl
def lca_register_blocks(register):
    for name, (target, description) in _BLOCKS.items():
        register(name, f"lca_plugins.blocks.{target}", description=description)
