"""Keeping secrets out of everything the cockpit writes or shows.

Owns ``Redactor``: given the values of the environment variables a config names
in ``secrets``, it replaces each occurrence with ``***`` in text and, deeply, in
journal events. The journal, the step logs and the screens all pass through it.
"""

from __future__ import annotations

from typing import Any

MASK = "***"


class Redactor:
    """Replaces secret values with ``***``."""

    def __init__(self, values: list[str] | None = None):
        self.values = sorted({v for v in values or [] if v}, key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def deep(self, data: Any) -> Any:
        if not self.values:
            return data
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {k: self.deep(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.deep(v) for v in data]
        return data
