"""Markdown to Telegram HTML, and splitting long answers."""

from __future__ import annotations

import re

from bot.render import ALLOWED_TAGS, html_to_plain, markdown_to_html, split_message


def tags_balanced(html: str) -> bool:
    stack: list[str] = []
    for closing, name in re.findall(r"<(/?)([a-z-]+)[^>]*>", html):
        if name not in ALLOWED_TAGS:
            return False
        if closing:
            if not stack or stack.pop() != name:
                return False
        else:
            stack.append(name)
    return not stack


def test_bold_italic_and_links_use_telegram_tags() -> None:
    html = markdown_to_html("**Pay** is *hourly*: see [GOV.UK](https://www.gov.uk/a?b=1&c=2).")
    assert html == ('<b>Pay</b> is <i>hourly</i>: see '
                    '<a href="https://www.gov.uk/a?b=1&amp;c=2">GOV.UK</a>.')


def test_special_characters_and_raw_html_are_escaped() -> None:
    assert markdown_to_html("5 < 6 & <script>x</script>") == "5 &lt; 6 &amp; &lt;script&gt;x&lt;/script&gt;"


def test_headings_become_bold_lines_and_lists_become_bullets() -> None:
    html = markdown_to_html("# Levels\n\n- Level 2\n- Level 3\n\n1. first\n2. second")
    assert html == "<b>Levels</b>\n\n• Level 2\n• Level 3\n\n1. first\n2. second"


def test_short_text_is_one_message() -> None:
    assert split_message("hello") == ["hello"]


def test_long_text_splits_on_paragraphs_within_the_limit() -> None:
    paragraphs = [f"<b>Part {i}</b> " + "word " * 150 for i in range(12)]
    parts = split_message("\n\n".join(paragraphs), limit=2000)
    assert len(parts) > 1
    assert all(len(p) <= 2000 and tags_balanced(p) for p in parts)
    assert all(p.startswith("<b>Part") for p in parts)


def test_one_huge_paragraph_splits_with_tags_closed_and_reopened() -> None:
    parts = split_message("<b>" + "bold &amp; brave " * 800 + "</b>", limit=1000)
    assert all(len(p) <= 1000 and tags_balanced(p) for p in parts)
    assert all("&amp" not in p.replace("&amp;", "") for p in parts)


def test_plain_text_shows_links_with_their_address() -> None:
    assert html_to_plain('<b>Hi</b> <a href="https://x.org/a">X</a> &amp; y') == "Hi X (https://x.org/a) & y"
