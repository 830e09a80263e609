"""Property tests: whatever a student sends, the answer path never raises and Telegram accepts it."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answers import Responder
from bot.knowledge import load_knowledge
from tests.conftest import REAL_KB
from tests.test_render import tags_balanced

EXAMPLES = 400


@pytest.fixture(scope="module")
def responder() -> Responder:
    return Responder(load_knowledge(REAL_KB))


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
    assert reply.kind in {"answer", "clarify", "fallback", "safeguarding", "occupation"}
    for part in reply.messages:
        assert 0 < len(part) <= 4096
        assert_valid_for_telegram(part)
    for row in reply.buttons:
        for button in row:
            assert len(button.data.encode()) <= 64
