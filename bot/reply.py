"""What the bot says, as plain data: text plus buttons, with the facts behind it.

A :class:`Reply` knows nothing about Telegram: :mod:`telegram_io.send` turns it into messages,
the terminal chat prints it, ``careers-bot ask --json`` and ``careers-bot eval`` read its kind,
id and candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bot.render import split_message

ReplyKind = Literal["answer", "clarify", "fallback", "safeguarding", "occupation", "smalltalk"]
CALLBACK_LIMIT = 64


@dataclass(frozen=True)
class Button:
    """An inline button: what it says and the short, stable callback data it sends back."""

    label: str
    data: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > CALLBACK_LIMIT:
            raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {self.data!r}")


@dataclass(frozen=True)
class Reply:
    """What the bot says: Telegram HTML plus buttons, and the facts behind it for JSON and eval."""

    kind: ReplyKind
    text: str
    id: str | None = None
    score: float = 0.0
    candidates: tuple[str, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = field(default_factory=tuple)
    # A paged list's whole ranking (occupation ids only), kept by the chat for "More".
    listing: tuple[str, ...] = ()

    @property
    def messages(self) -> list[str]:
        """The text split to fit Telegram's message limit (buttons go on the last one)."""
        return split_message(self.text)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "score": round(self.score, 1),
            "candidates": list(self.candidates),
            "text": self.text,
        }
