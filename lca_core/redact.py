"""Keep secrets out of logs and the terminal: values of secret-looking environment variables, and Hugging Face
access tokens wherever they come from, are replaced by ``***``.

Used by the loggers for every file they write and by the CLI for every warning and error it prints
(a plugin's message may quote a token).
"""

from __future__ import annotations

import os
import re
from typing import Any

# WANDB_API_KEY, HF_TOKEN, HUGGING_FACE_HUB_TOKEN, AWS_SECRET_ACCESS_KEY, OPENAI_API_KEY, ...
_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
_MIN_LENGTH = 8  # shorter values ("1", "true") would redact ordinary text
#: Hugging Face user access tokens: "hf_" and 34 letters (older ones: "api_..."), even when not in the environment
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")


def secret_values() -> list[str]:
    """The values of the environment variables whose names say they hold a secret, longest first."""
    values = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_LENGTH}
    return sorted(values, key=len, reverse=True)


def redact(value: Any, secrets: list[str] | None = None) -> Any:
    """``value`` with every secret found in its strings (keys included, recursively) replaced by ``***``."""
    secrets = secret_values() if secrets is None else secrets
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return _HF_TOKEN.sub("***", value) if "hf_" in value else value
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v, secrets) for v in value)
    return value
