"""Built-in context composers, one small module each; registered lazily by name."""

from lca_core import hookimpl

_COMPOSERS = {
    "path_distance": ("path_distance:PathDistanceComposer",
                      "snapshot files by directory hops from the completion file, nearest last (the original's V1 default)"),
    "file_level": ("file_level:FileLevelComposer", "no repository context: the completion file alone"),
    "naive": ("naive:NaiveComposer", "every snapshot file in snapshot order"),
    "alphabetical": ("alphabetical:AlphabeticalComposer", "snapshot files sorted by path, last path nearest"),
    "file_length": ("file_length:FileLengthComposer", "longest file first, shortest nearest the completion"),
    "half_memory": ("half_memory:HalfMemoryComposer",
                    "path distance with each line dropped at random (seeded per datapoint)"),
    "imports_first": ("imports_first:ImportsFirstComposer", "files the completion file imports placed nearest"),
    "lines_iou": ("lines_iou:LinesIoUComposer",
                  "files ranked by line-set IoU with the completion file's prefix, best last"),
    "declarations_only": ("declarations_only:DeclarationsOnlyComposer",
                          ".py files reduced to class/function headers, by path distance"),
    "python_files": ("python_files:PythonFilesComposer", "path distance over .py files only"),
    "bm25": ("bm25:BM25Composer", "BM25 retrieval of code windows against the code before the completion point"),
    "chained": ("chained:ChainedComposer", "a chain of blocks named in the run file (filters, chunkers, rankers, ...)"),
}


@hookimpl
def lca_register_composers(register):
    for name, (target, description) in _COMPOSERS.items():
        register(name, f"lca_plugins.composers.{target}", description=description)
