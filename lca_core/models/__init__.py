"""Model and tokenizer loading, and the hardware choices made for what the run file leaves "auto"."""
