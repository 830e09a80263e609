"""Entries due for review: `careers-bot kb check --stale` and the monthly reminder to admins."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from telegram.ext import Application

from app.application import build_application, start_local, stop_local
from app.cli import main
from app.local_api import LocalBotApi
from bot.knowledge import Entry, load_knowledge
from bot.review import last_change, months_before, review_report, stale_figures
from bot.services import build_services
from tests.conftest import REAL_KB, TOKEN, make_settings, write_entry

TODAY = dt.date(2026, 11, 26)


def entry(kb_dir: Path, body: str, reviewed: str = "2026-11-24") -> Entry:
    path = write_entry(kb_dir, "dated", "Dated facts", ["a question about dated facts"], body=body)
    path.write_text(path.read_text().replace("reviewed: 2026-11-24", f"reviewed: {reviewed}"))
    return load_knowledge(kb_dir).entries["dated"]


def test_a_month_back_from_the_31st_is_the_last_day_of_the_shorter_month() -> None:
    assert months_before(dt.date(2027, 3, 31), 1) == dt.date(2027, 2, 28)
    assert months_before(dt.date(2026, 11, 26), 6) == dt.date(2026, 5, 26)


def test_money_changes_on_1_april_and_courses_on_1_september() -> None:
    assert last_change(dt.date(2026, 11, 26), "money") == dt.date(2026, 4, 1)
    assert last_change(dt.date(2027, 3, 31), "money") == dt.date(2026, 4, 1)
    assert last_change(dt.date(2026, 8, 31), "course") == dt.date(2025, 9, 1)


def test_an_entry_reviewed_longer_ago_than_the_limit_is_due(kb_dir: Path) -> None:
    old = entry(kb_dir, "Nothing dated here.", reviewed="2026-05-25")
    assert review_report([old], TODAY, 6).old_reviews == [old]
    assert not review_report([old], TODAY, 7)


def test_a_pay_rate_stated_before_the_last_april_is_stale(kb_dir: Path) -> None:
    [figure] = stale_figures(entry(kb_dir, "As of November 2025, the rate is £7.55 an hour."), TODAY)
    assert (figure.figure, figure.kind, figure.changed) == ("£7.55", "money", dt.date(2026, 4, 1))


def test_a_pay_rate_stated_since_the_last_april_is_current(kb_dir: Path) -> None:
    assert not stale_figures(entry(kb_dir, "As of November 2026, the rate is £8.00 an hour."), TODAY)


def test_money_with_no_date_of_its_own_is_dated_by_the_review(kb_dir: Path) -> None:
    current = entry(kb_dir, "The allowance is £15,000.", reviewed="2026-11-24")
    assert not stale_figures(current, TODAY)
    assert [f.figure for f in stale_figures(current, dt.date(2027, 4, 1))] == ["£15,000"]


def test_a_course_fact_as_of_before_the_last_september_is_stale(kb_dir: Path) -> None:
    [figure] = stale_figures(entry(kb_dir, "Subjects open as of June 2026: digital."), TODAY)
    assert (figure.figure, figure.kind) == ("as of June 2026", "course")
    assert not stale_figures(entry(kb_dir, "Subjects open as of October 2026: digital."), TODAY)


def test_quoted_money_and_announced_future_dates_do_not_date_a_figure(kb_dir: Path) -> None:
    body = 'Say "we raised £200" in an interview. From April 2027 the levy is £16,000.'
    assert not stale_figures(entry(kb_dir, body), TODAY)


def test_the_real_knowledge_base_is_due_for_its_pay_rates_after_april() -> None:
    entries = load_knowledge(REAL_KB).entries.values()
    assert not review_report(entries, TODAY, 6)
    after_april = review_report(entries, dt.date(2027, 4, 2), 6)
    assert "apprenticeship-pay" in after_april.due_ids


def test_kb_check_stale_names_the_file_line_and_figure(
        kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entry(kb_dir, "Intro.\n\nAs of May 2024 apprentices got £6.40 an hour.", reviewed="2024-06-01")
    assert main(["kb", "check", str(kb_dir), "--stale"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"dated\.md: reviewed 2024-06-01, more than 6 months ago", out)
    assert re.search(r"dated\.md:\d+: £6\.40, dated 'As of May 2024'", out)


def test_kb_check_stale_takes_the_review_age_in_months(
        kb_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "check", str(kb_dir), "--stale", "--months", "120"]) == 0
    assert "stale: nothing due" in capsys.readouterr().out


@pytest.fixture
async def stale_bot(tmp_path: Path, kb_dir: Path, local_api: LocalBotApi) -> AsyncIterator[Application]:
    """The bot with admin 999 and one entry last reviewed in 2024."""
    entry(kb_dir, "Pay was £6.40 an hour.", reviewed="2024-06-01")
    settings = make_settings(tmp_path, kb_dir)
    application = build_application(settings, build_services(settings), token=TOKEN,
                                    base_url=local_api.base_url)
    async with application:
        await start_local(application, poll_timeout=1)
        yield application
        await stop_local(application)


def test_the_reminder_is_scheduled_monthly_when_there_are_admins(stale_bot: Application) -> None:
    assert stale_bot.job_queue is not None
    assert stale_bot.job_queue.get_jobs_by_name("review-reminder")


async def test_admins_are_told_which_entries_are_due_and_why(
        stale_bot: Application, local_api: LocalBotApi) -> None:
    from jobs.review_reminder import send_review_reminder

    await send_review_reminder(SimpleNamespace(bot_data=stale_bot.bot_data, bot=stale_bot.bot))
    [reminder] = local_api.sent_to(999)
    assert "Knowledge base entries due for review: 1" in reminder.text
    assert "dated: last reviewed 1 June 2024; check £6.40" in reminder.text


async def test_nothing_due_sends_nothing(bot: Application, local_api: LocalBotApi) -> None:
    from jobs.review_reminder import send_review_reminder

    services = bot.bot_data.services
    services.settings = services.settings.model_copy(update={"review_max_age_months": 120})
    if review_report(services.kb.entries.values(), dt.date.today(), 120):
        pytest.skip("the real knowledge base has figures due today: see kb check --stale")
    await send_review_reminder(SimpleNamespace(bot_data=bot.bot_data, bot=bot.bot))
    assert local_api.sent_to(999) == []
