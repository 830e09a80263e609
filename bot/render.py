"""Markdown to Telegram's HTML subset, splitting at Telegram's limit, HTML to plain text, and
dates in words.

Telegram's HTML parse mode accepts only a handful of tags (b, i, u, s, a, code, pre, blockquote,
tg-spoiler) and needs ``& < >`` escaped. mistune parses the Markdown; :class:`TelegramRenderer`
maps each node onto that subset (headings become bold lines, lists become bullet lines, raw HTML is
shown as text).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter
from typing import Any

import mistune

TELEGRAM_LIMIT = 4096
ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"})
_TAG = re.compile(r"<(/?)([a-z-]+)([^>]*)>")


def day_in_words(day: dt.date) -> str:
    """A date as people write it: "4 January 2027"."""
    return f"{day.day} {day:%B %Y}"


def escape(text: str) -> str:
    """Escape text for Telegram HTML."""
    return html.escape(text, quote=False)


class TelegramRenderer(mistune.HTMLRenderer):
    """Renders mistune's tree with only the tags Telegram allows."""

    def __init__(self) -> None:
        super().__init__(escape=True)

    def text(self, text: str) -> str:
        return escape(text)

    def emphasis(self, text: str) -> str:
        return f"<i>{text}</i>"

    def strong(self, text: str) -> str:
        return f"<b>{text}</b>"

    def codespan(self, text: str) -> str:
        return f"<code>{escape(text)}</code>"

    def link(self, text: str, url: str, title: str | None = None) -> str:
        return f'<a href="{html.escape(url, quote=True)}">{text}</a>'

    def image(self, text: str, url: str, title: str | None = None) -> str:
        return self.link(text or url, url)

    def linebreak(self) -> str:
        return "\n"

    def softbreak(self) -> str:
        return " "

    def inline_html(self, html_text: str) -> str:
        return escape(html_text)

    def paragraph(self, text: str) -> str:
        return text.strip() + "\n\n"

    def heading(self, text: str, level: int, **attrs: Any) -> str:
        return f"<b>{text.strip()}</b>\n\n"

    def blank_line(self) -> str:
        return ""

    def thematic_break(self) -> str:
        return ""

    def block_text(self, text: str) -> str:
        return text

    def block_code(self, code: str, info: str | None = None) -> str:
        return f"<pre>{escape(code.rstrip())}</pre>\n\n"

    def block_quote(self, text: str) -> str:
        return f"<blockquote>{text.strip()}</blockquote>\n\n"

    def block_html(self, html_text: str) -> str:
        return escape(html_text.strip()) + "\n\n"

    def block_error(self, text: str) -> str:
        return escape(text)

    def list(self, text: str, ordered: bool, **attrs: Any) -> str:
        items = [item for item in text.split("\x00") if item.strip()]
        start = int(attrs.get("start") or 1)
        lines = [
            (f"{start + i}. " if ordered else "• ") + item.strip().replace("\n\n", "\n")
            for i, item in enumerate(items)
        ]
        depth = int(attrs.get("depth") or 0)
        indent = "   " * depth
        return "\n".join(indent + line for line in lines) + ("\n" if depth else "\n\n")

    def list_item(self, text: str) -> str:
        return "\x00" + text


_markdown = mistune.create_markdown(renderer=TelegramRenderer(), plugins=["strikethrough"])


def markdown_to_html(source: str) -> str:
    """Render entry Markdown as Telegram HTML with paragraphs separated by blank lines."""
    rendered = _markdown(source)
    assert isinstance(rendered, str)
    rendered = rendered.replace("<del>", "<s>").replace("</del>", "</s>")
    return re.sub(r"\n{3,}", "\n\n", rendered).strip()


# A grade written with stars: A*, D*, Distinction*, and runs such as A*A*A* or D*DD. In the
# source a star is escaped or a single "*" (a double one is bold, never a grade star).
_STAR = r"(?:\\\*|\*(?!\*))"
_GRADE_UNIT = r"(?:(?:Distinction|[AD]){star}?|[BCEMP])"
_SOURCE_GRADE = re.compile(r"(?<![\w\\])" + _GRADE_UNIT.format(star=_STAR) + r"+(?!\w)")
_SHOWN_GRADE = re.compile(r"(?<!\w)" + _GRADE_UNIT.format(star=r"\*") + r"+(?!\w)")


def shown_text(source: str) -> str:
    """The words a student reads in a rendered entry: its HTML with the tags (and link URLs) gone."""
    return html.unescape(re.sub(r"</?[a-z-]+[^>]*>", "", markdown_to_html(source)))


def swallowed_grade_stars(source: str) -> list[str]:
    """Grades with stars in ``source`` that the rendered answer no longer shows.

    Markdown pairs a star after a grade letter with the next one as italics, so "A*A*A*" reaches
    students as "AAA*". Compared on the text students see, so escaped stars (``A\\*``) and bold
    around a grade (``**A**``) pass; a star that really opens or closes emphasis next to a grade
    letter ("*Plan A*") is reported too: this check cannot tell it from a grade star.
    """
    wanted = [t.replace("\\", "") for t in _SOURCE_GRADE.findall(source) if "*" in t]
    if not wanted:
        return []
    shown = Counter(t for t in _SHOWN_GRADE.findall(shown_text(source)) if "*" in t)
    lost = []
    for grade in wanted:  # in the order the maintainer wrote them
        if shown[grade]:
            shown[grade] -= 1
        else:
            lost.append(grade)
    return lost


def _tokens(text: str) -> list[str]:
    """Split HTML into tags and text runs."""
    parts: list[str] = []
    last = 0
    for m in _TAG.finditer(text):
        if m.start() > last:
            parts.append(text[last : m.start()])
        parts.append(m.group(0))
        last = m.end()
    if last < len(text):
        parts.append(text[last:])
    return parts


def _split_long(block: str, limit: int) -> list[str]:
    """Split one over-long block at spaces, closing and reopening tags around each cut."""
    chunks: list[str] = []
    current = ""
    stack: list[tuple[str, str]] = []  # (name, opening tag)

    def closing() -> str:
        return "".join(f"</{name}>" for name, _ in reversed(stack))

    for part in _tokens(block):
        m = _TAG.fullmatch(part)
        pieces = [part] if m else re.findall(r"\S+\s*|\s+", part)
        for piece in pieces:
            while len(current) + len(piece) + len(closing()) > limit:
                if current.strip() and current != "".join(t for _, t in stack):
                    chunks.append(current + closing())
                    current = "".join(t for _, t in stack)
                    continue
                # A single word longer than the limit: cut it (entities stay whole).
                room = max(limit - len(current) - len(closing()), 1)
                cut = room
                amp = piece.rfind("&", 0, cut)
                if amp != -1 and ";" not in piece[amp:cut]:
                    cut = max(amp, 1)
                chunks.append(current + piece[:cut] + closing())
                current = "".join(t for _, t in stack)
                piece = piece[cut:]
            current += piece
            if m:
                name = m.group(2)
                if m.group(1):
                    if stack and stack[-1][0] == name:
                        stack.pop()
                else:
                    stack.append((name, part))
    if current.strip():
        chunks.append(current + closing())
    return chunks


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split HTML into messages of at most ``limit`` characters, on paragraph boundaries if possible."""
    if len(text) <= limit:
        return [text]
    messages: list[str] = []
    current = ""
    for block in text.split("\n\n"):
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            messages.append(current)
        if len(block) <= limit:
            current = block
        else:
            *done, current = _split_long(block, limit)
            messages.extend(done)
    if current.strip():
        messages.append(current)
    return messages


def html_to_plain(text: str) -> str:
    """Telegram HTML as terminal text: links become "text (url)", other tags vanish."""

    def link(m: re.Match[str]) -> str:
        label, url = html.unescape(m.group(2)), html.unescape(m.group(1))
        return label if label == url or url.endswith(label) else f"{label} ({url})"

    text = re.sub(r'<a href="([^"]*)">(.*?)</a>', link, text, flags=re.S)
    text = re.sub(r"</?[a-z-]+[^>]*>", "", text)
    return html.unescape(text)
