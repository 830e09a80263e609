"""Property tests: whatever a student sends, the answer path never raises and Telegram accepts it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answering.responder import Responder
from bot.knowledge import load_knowledge
from bot.maps.search import bundled_occupation_index
from bot.render import escape, split_message
from tests.conftest import REAL_KB
from tests.test_render import tags_balanced

EXAMPLES = 2000


@pytest.fixture(scope="module")
def responder() -> Responder:
    return Responder(load_knowledge(REAL_KB), occupations=bundled_occupation_index())


def assert_valid_for_telegram(html: str) -> None:
    assert tags_balanced(html)
    stripped = __import__("re").sub(r"<[^>]*>", "", html)
    assert "<" not in stripped and ">" not in stripped
    assert all(part.startswith(("amp;", "lt;", "gt;", "quot;", "#")) for part in stripped.split("&")[1:])


messages = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=6000),
    st.sampled_from(["", " ", "\x00\x01", "🙂🙂🙂", "<b>hi</b>", "a & b < c", "*_`[]()~>#+-=|{}.!",
                     "مرحبا كيف حالك", "\u202eevil", "t level" * 700, "/start@other_bot"]),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=messages)
def test_any_message_gets_a_valid_reply_under_the_limit(responder: Responder, text: str) -> None:
    reply = responder.reply(text)
    assert reply.kind in {"answer", "clarify", "fallback", "safeguarding", "occupation", "smalltalk"}
    for part in reply.messages:
        assert 0 < len(part) <= 4096
        assert_valid_for_telegram(part)
    for row in reply.buttons:
        for button in row:
            assert len(button.data.encode()) <= 64


@settings(max_examples=300, deadline=None)
@given(paragraphs=st.lists(st.tuples(st.sampled_from(["", "b", "i", "code"]), st.text(min_size=1, max_size=3000)),
                           min_size=1, max_size=8))
def test_long_html_splits_into_valid_messages_under_the_limit(paragraphs: list[tuple[str, str]]) -> None:
    html = "\n\n".join(f"<{tag}>{escape(text)}</{tag}>" if tag else escape(text) for tag, text in paragraphs)
    for part in split_message(html):
        assert len(part) <= 4096
        assert_valid_for_telegram(part)
