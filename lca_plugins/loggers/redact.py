"""Keep secrets out of logs: values of secret-looking environment variables are replaced by ``***``."""

from __future__ import annotations

import os
import re
from typing import Any

# WANDB_API_KEY, HF_TOKEN, HUGGING_FACE_HUB_TOKEN, AWS_SECRET_ACCESS_KEY, OPENAI_API_KEY, ...
_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)
_MIN_LENGTH = 8  # shorter values ("1", "true") would redact ordinary text


def secret_values() -> list[str]:
    """The values of the environment variables whose names say they hold a secret, longest first."""
    values = {v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= _MIN_LENGTH}
    return sorted(values, key=len, reverse=True)


def redact(value: Any, secrets: list[str] | None = None) -> Any:
    """``value`` with every secret found in its strings (keys included, recursively) replaced by ``***``."""
    secrets = secret_values() if secrets is None else secrets
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v, secrets) for v in value)
    return value
