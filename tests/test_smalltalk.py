"""Small talk: "thanks", "bye", "hiya" get one friendly line, never the help text, an entry or a job."""

from __future__ import annotations

import pytest

from bot.answering.responder import Responder


@pytest.mark.parametrize(("message", "kind"), [
    ("ok thanks", "thanks"), ("cheers", "thanks"), ("bye", "bye"), ("goodbye", "bye"),
    ("hiya", "hello"), ("are you a bot", "bot"),
])
def test_small_talk_gets_its_own_short_reply(responder: Responder, message: str,
                                             kind: str) -> None:
    reply = responder.reply(message)
    assert (reply.kind, reply.id) == ("smalltalk", kind)
    assert len(reply.text.splitlines()) == 1 and not reply.buttons


@pytest.mark.parametrize("message", ["cheers", "lol", "whats the best football team"])
def test_small_talk_never_opens_a_job_card(responder: Responder, message: str) -> None:
    assert responder.reply(message).kind not in ("occupation", "answer")
