"""Maintainers' edits reach the running bot; broken edits never replace the last good copy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import Settings
from bot.knowledge import KnowledgeError
from bot.services import Services, build_services
from tests.conftest import write_entry

NEW_QUESTION = "can i train to be a zookeeper in the holidays"


@pytest.fixture
def services(tmp_path: Path, copy_kb: Callable[[], Path]) -> Services:
    settings = Settings(_env_file=None, database_path=tmp_path / "bot.db",  # type: ignore[call-arg]
                        knowledge_dir=copy_kb(), reload_interval_s=0)
    return build_services(settings, with_maps=False)


def test_reload_picks_up_a_new_entry(services: Services) -> None:
    write_entry(services.settings.knowledge_dir, "zoo-holidays", "Zoo holiday training",
                [NEW_QUESTION, "zookeeper holiday course"])
    assert services.knowledge_changed()
    services.reload_knowledge()
    assert services.responder.reply(NEW_QUESTION).id == "zoo-holidays"
    assert not services.knowledge_changed()


def test_a_broken_file_leaves_the_old_knowledge_answering(services: Services) -> None:
    before = services.responder
    broken = services.settings.knowledge_dir / "entries" / "t-level-basics.md"
    broken.write_text("---\nid: t-level-basics\ntitle: [unclosed\n---\n")
    with pytest.raises(KnowledgeError, match="t-level-basics.md"):
        services.reload_knowledge()
    assert services.responder is before
    assert services.responder.reply("wot is a tlevel").id == "t-level-basics"
    assert not services.knowledge_changed()  # reported once, not at every check


async def test_the_running_bot_searches_a_map_version_stored_by_another_process(
        tmp_path: Path, copy_kb: Callable[[], Path]) -> None:
    from types import SimpleNamespace

    from bot.db import open_db
    from bot.maps.parse import load_bundled_map
    from bot.maps.store import save_version
    from jobs.knowledge_reload import reload_if_changed
    from telegram_io.context import BotData
    from tests.fake_maps_api import plant_changes

    settings = Settings(_env_file=None, database_path=tmp_path / "bot.db",  # type: ignore[call-arg]
                        knowledge_dir=copy_kb(), reload_interval_s=0)
    data = BotData()
    data.services = build_services(settings)
    assert data.services.responder.reply("power network craftsperson").kind != "occupation"
    other = open_db(tmp_path / "bot.db")  # `careers-bot refresh` in another process
    save_version(other, plant_changes(load_bundled_map()).modified, "cli")
    other.close()
    await reload_if_changed(SimpleNamespace(bot_data=data))  # type: ignore[arg-type]
    reply = data.services.responder.reply("power network craftsperson")
    assert (reply.kind, reply.id) == ("occupation", "OCC0156")
    assert data.services.maps_version == 2
