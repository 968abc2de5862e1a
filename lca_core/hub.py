"""One answer to "may we contact the Hugging Face hub?", shared by datasets, tokenizers and models.

Without network, `huggingface_hub` retries each request for about a minute before it gives up. So
before anything is loaded by hub name, the hub is checked once per process (an offline switch, or a
TCP handshake with a short timeout); when it cannot be used, every library is switched to its local
cache, so a missing file fails in seconds with a message that says what to do.
"""

from __future__ import annotations

import functools
import os
import socket
from urllib.parse import urlparse

#: seconds to wait for the hub's TCP handshake before treating it as unreachable
HUB_TIMEOUT = 3.0
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")


def _hub_host() -> tuple[str, int]:
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    return url.hostname or "huggingface.co", url.port or (443 if url.scheme != "http" else 80)


def _switched_off() -> str:
    for var in OFFLINE_VARIABLES:
        if os.environ.get(var, "").lower() in ("1", "true", "yes", "on"):
            return f"{var}={os.environ[var]} is set"
    return ""


@functools.lru_cache(maxsize=1)
def _unreachable() -> str:
    host, port = _hub_host()
    try:
        socket.create_connection((host, port), timeout=HUB_TIMEOUT).close()
    except OSError as exc:
        return f"{host}:{port} cannot be reached ({exc.strerror or exc})"
    return ""


#: the reason check_hub() switched this process offline (its own switch must not hide the cause)
_went_offline_because = ""


def hub_offline_reason() -> str:
    """Why the hub must not be contacted ('' when it may be): an offline switch, or no route to it.

    The network probe runs once per process; the environment switches are read every time.
    """
    return _went_offline_because or _switched_off() or _unreachable()


def go_offline() -> None:
    """Switch `huggingface_hub`, `transformers` and `datasets` (if imported) to their local caches."""
    import sys

    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):  # also for worker processes started later
        os.environ[var] = "1"
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_OFFLINE = True
    if "datasets" in sys.modules:
        import datasets.config

        datasets.config.HF_HUB_OFFLINE = True
        if hasattr(datasets.config, "HF_DATASETS_OFFLINE"):
            datasets.config.HF_DATASETS_OFFLINE = True


def check_hub() -> str:
    """Check the hub once; if it cannot be used, go offline. Returns the reason ('' when online)."""
    global _went_offline_because
    reason = hub_offline_reason()
    if reason and not _went_offline_because:
        _went_offline_because = reason
        go_offline()
    return reason
