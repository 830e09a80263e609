"""Configuration: one typed place, one clear line for a bad setting."""

from __future__ import annotations

import pytest

from app.cli import main
from bot.config import ConfigError, load_settings


def test_admin_ids_are_read_from_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREERS_BOT_ADMIN_IDS", "12, 34")
    assert load_settings().admin_ids == frozenset({12, 34})


def test_a_malformed_setting_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREERS_BOT_MATCH_THRESHOLD", "high")
    with pytest.raises(ConfigError, match="^CAREERS_BOT_MATCH_THRESHOLD is invalid"):
        load_settings()


def test_run_without_a_token_stops_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.chdir("/")  # no .env here
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("careers-bot: TELEGRAM_BOT_TOKEN is not set")
    assert len(err.splitlines()) == 1


def test_a_bad_setting_stops_any_command_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAREERS_BOT_WEBHOOK_PORT", "99999")
    assert main(["ask", "hi"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("careers-bot: CAREERS_BOT_WEBHOOK_PORT is invalid")
    assert len(err.splitlines()) == 1


def test_the_token_is_never_shown_in_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:SECRET-VALUE")
    settings = load_settings()
    assert "SECRET-VALUE" not in repr(settings) and "SECRET-VALUE" not in str(settings)


@pytest.mark.parametrize(("name", "value", "says"), [
    ("CAREERS_BOT_TIMEZONE", "Mars/Base", "'Mars/Base' is not a time zone name"),
    ("CAREERS_BOT_MAPS_CRON", "garbage", "'garbage' is not a crontab"),
    ("CAREERS_BOT_ADMIN_IDS", "abc", "must be Telegram user ids (numbers) separated by commas"),
    ("CAREERS_BOT_WEBHOOK_URL", "http://bot.example/hook", "must be an https:// URL"),
])
def test_a_bad_setting_reads_like_a_person_wrote_it(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str],
                                                     name: str, value: str, says: str) -> None:
    monkeypatch.setenv(name, value)
    assert main(["ask", "hi"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"careers-bot: {name} is invalid: {says}")
    assert len(err.splitlines()) == 1 and "Value error" not in err


def test_a_crontab_of_the_right_shape_that_cannot_run_is_caught_before_start(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAREERS_BOT_MAPS_CRON", "0 6 * jan mon#9")
    assert main(["kb", "check"]) == 2
    assert "CAREERS_BOT_MAPS_CRON is invalid" in capsys.readouterr().err


def test_kb_check_says_the_settings_are_fine_too(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check"]) == 0
    assert capsys.readouterr().out.strip().endswith("settings ok")
