"""Datapoint → context → tokens: composer and block bases, the preprocessor base, pre-truncation,
and the pipeline that applies them per batch or once over a dataset."""
