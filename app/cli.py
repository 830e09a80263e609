"""`careers-bot`: run the bot, chat with it in a terminal, ask it, check and evaluate knowledge.

Each command imports what it needs inside its own function: ``careers-bot ask`` should not pay
for python-telegram-bot, nor ``kb check`` for the sentence encoder.

With no arguments it starts the terminal chat, which needs no token and stays on this machine.
Configuration problems end the command with one line naming the setting (exit code 2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from urllib.parse import urlparse

from bot.config import ConfigError, Settings, load_settings
from bot.db import open_db

if TYPE_CHECKING:  # the refresh (and httpx) is imported only by the commands that use it
    from bot.maps.refresh import RefreshReport

log = logging.getLogger("careers_bot")


class RedactSecrets(logging.Filter):
    """Replace secrets in any log line, however it got there (an exception text, a URL)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            for secret in self.secrets:
                message = message.replace(secret, "[redacted]")
            record.msg, record.args = message, None
        return True


class ShortNetworkErrors(logging.Filter):
    """A network failure is one line, not a traceback: the cause is the network, not the code
    (``careers-bot run`` says what it is doing about it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            names = {type(e).__name__ for e in (error, error.__cause__, error.__context__) if e}
            if names & {"NetworkError", "TimedOut", "ConnectError", "ConnectTimeout", "ReadTimeout"}:
                record.msg = f"{record.getMessage()} ({type(error).__name__}: {error})"
                record.args, record.exc_info, record.exc_text = None, None, None
        return True


def setup_logging(settings: Settings) -> None:
    """Log to stderr at the configured level; HTTP client request lines (which carry the token
    in their URLs) are kept at WARNING."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    secrets = [s.get_secret_value() for s in (settings.telegram_bot_token, settings.maps_api_key,
                                              settings.webhook_secret) if s is not None]
    handler.addFilter(ShortNetworkErrors())
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _services(settings: Settings):
    from bot.services import build_services

    return build_services(settings)


# --- commands ---------------------------------------------------------------------------------


START_RETRY_S = 5.0
START_RETRY_MAX_S = 300.0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the bot against Telegram: long polling, or a webhook with --webhook.

    If the Bot API cannot be reached at start (no network, Telegram down), say so in one line
    and try again with a growing pause, until it works or the process is stopped.
    """
    from telegram.error import InvalidToken, NetworkError

    from app.application import build_application

    token = settings.require_token()
    webhook_url = settings.webhook_url or ""
    if args.webhook and not webhook_url:
        raise ConfigError("CAREERS_BOT_WEBHOOK_URL is not set: --webhook needs the public HTTPS URL")
    check_schedule(settings)
    delay = START_RETRY_S
    while True:
        application = build_application(settings, _services(settings), token=token, maps_refresh=True)
        try:
            if args.webhook:
                secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
                application.run_webhook(listen=settings.webhook_listen, port=settings.webhook_port,
                                        url_path=urlparse(webhook_url).path.lstrip("/"),
                                        webhook_url=webhook_url, secret_token=secret, close_loop=False)
            else:
                application.run_polling(close_loop=False)
            return 0
        except InvalidToken:
            raise ConfigError("TELEGRAM_BOT_TOKEN was refused by Telegram: check it with "
                              "@BotFather") from None
        except NetworkError as exc:
            print(f"careers-bot: cannot reach the Telegram Bot API at {settings.telegram_base_url} "
                  f"({exc.message}); trying again in {delay:.0f} s", file=sys.stderr, flush=True)
            time.sleep(delay)
            delay = min(delay * 2, START_RETRY_MAX_S)


def check_schedule(settings: Settings) -> None:
    """The refresh schedule must parse (the settings check only looks at its shape)."""
    from jobs.refresh import refresh_trigger

    try:
        refresh_trigger(settings.maps_cron, settings.timezone)
    except ValueError as exc:
        raise ConfigError(f"CAREERS_BOT_MAPS_CRON is invalid: {exc}") from None


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """Talk to the bot in this terminal; nothing leaves the machine."""
    from app.terminal import terminal_chat

    if settings.log_level == "INFO":
        logging.getLogger().setLevel(logging.WARNING)  # keep the conversation readable
    asyncio.run(terminal_chat(settings, _services(settings)))
    return 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    """Answer one question (or one per stdin line with `-`)."""
    from bot.render import html_to_plain

    responder = _services(settings).responder
    questions = sys.stdin if args.question == "-" else [args.question]
    for question in questions:
        question = question.rstrip("\n")
        if args.question == "-" and not question.strip():
            continue
        reply = responder.reply(question)
        if args.json:
            print(json.dumps(reply.as_json(), ensure_ascii=False), flush=True)
        else:
            print(html_to_plain(reply.text))
            for row in reply.buttons:
                for button in row:
                    print(f"  [{button.label}]")
    return 0


def cmd_kb_check(settings: Settings, args: argparse.Namespace) -> int:
    """Validate knowledge/: every problem with its file; exit 1 if any."""
    from bot.knowledge import KnowledgeError, load_knowledge

    root = Path(args.path) if args.path else settings.knowledge_dir
    try:
        kb = load_knowledge(root)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return 1
    check_schedule(settings)
    print(f"ok: {len(kb)} entries, {kb.question_count} alternate questions, no problems; "
          "settings ok")
    return 0


def cmd_kb_misses(settings: Settings, args: argparse.Namespace) -> int:
    """Questions the bot could not answer, grouped by similar wording, most frequent first."""
    from bot.db import open_db
    from bot.misses import group_misses
    from bot.usage import unanswered_questions

    groups = group_misses(unanswered_questions(open_db(settings.database_path)))
    if not groups:
        print("No unanswered questions logged.")
        return 0
    for group in groups[: args.limit]:
        print(f"{group.count:4d} × {group.example!r}  (last asked {group.last_asked[:10]})")
        for other in sorted(set(group.questions) - {group.example})[:3]:
            print(f"       also: {other!r}")
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    """Score the bot on JSONL files of labelled questions; exit 1 when a floor is missed."""
    from bot.answering.evaluation import EvalFileError, evaluate, read_cases

    try:
        sets = [(Path(name), read_cases(Path(name))) for name in args.files]
    except EvalFileError as exc:
        print(f"careers-bot: {exc}", file=sys.stderr)
        return 2
    responder = _services(settings).responder
    failed = []
    for path, cases in sets:
        report = evaluate(responder, cases)
        print(f"== {path} ({len(cases)} questions)")
        misses = [m for r in report.groups.values() for m in r.misses]
        if misses and not args.quiet:
            print("misses:")
            for case, reply in misses:
                got = reply.id or ",".join(reply.candidates[:3]) or "-"
                print(f"  {case.question!r}: expected {case.expect}, got {reply.kind} {got} "
                      f"({reply.score:.0f})")
        if report.unknown_ids:
            print(f"expected ids with no entry: {', '.join(report.unknown_ids)}")
        for line in report.summary_lines():
            print(line)
        for group, floor in (("topic", args.min_topic), ("none", args.min_none)):
            result = report.result(group)
            if floor is not None and result.total and result.rate < floor:
                failed.append(f"{path}: {group} {result.rate:.1%} is below the floor {floor:.0%}")
    for line in failed:
        print(f"FLOOR MISSED {line}", file=sys.stderr)
    return 1 if failed else 0


EXIT_CODES = {"accepted": 0, "unchanged": 0, "dry_run": 0, "held": 2}


def exit_code(report: RefreshReport) -> int:
    """Exit status of a refresh: 0 accepted/unchanged/dry run, 1 failed/refused/busy, 2 held
    (a person should look, then use ``--force``)."""
    return EXIT_CODES.get(report.status, 1)


async def run_refresh(settings: Settings, source: str | None = None, *, dry_run: bool = False,
                      force: bool = False) -> RefreshReport:
    """One refresh on the database file, with a connection of its own."""
    from bot.maps.refresh import refresh_from_settings

    db = open_db(settings.database_path)
    try:
        return await refresh_from_settings(db, settings, source, dry_run=dry_run, force=force)
    finally:
        db.close()


async def refresh_command(settings: Settings, source: str | None, dry_run: bool, as_json: bool,
                          force: bool, *, out: TextIO | None = None) -> int:
    """Run a refresh, print its report (JSON or readable) and return the exit code."""
    from bot.maps.refresh import summary_text

    report = await run_refresh(settings, source, dry_run=dry_run, force=force)
    stream = out or sys.stdout
    if as_json:
        stream.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        stream.write(summary_text(report) + "\n")
    return exit_code(report)


def cmd_refresh(settings: Settings, args: argparse.Namespace) -> int:
    """Refresh the occupational maps now (see `careers-bot refresh --help`)."""
    return asyncio.run(refresh_command(settings, args.source, dry_run=args.dry_run,
                                       as_json=args.json, force=args.force))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="careers-bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run the bot on Telegram (needs TELEGRAM_BOT_TOKEN)")
    run.add_argument("--webhook", action="store_true", help="use a webhook instead of long polling")
    run.set_defaults(func=cmd_run)

    sub.add_parser("chat", help="talk to the bot in this terminal (no token needed)").set_defaults(
        func=cmd_chat)

    ask = sub.add_parser("ask", help="answer one question; '-' reads one per line from stdin")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.set_defaults(func=cmd_ask)

    kb = sub.add_parser("kb", help="knowledge base tools").add_subparsers(dest="kb_command",
                                                                          required=True)
    check = kb.add_parser("check", help="validate knowledge/ (exit 1 on problems)")
    check.add_argument("path", nargs="?", help="knowledge folder (default: the configured one)")
    check.set_defaults(func=cmd_kb_check)
    misses = kb.add_parser("misses", help="questions the bot could not answer, grouped")
    misses.add_argument("--limit", type=int, default=30)
    misses.set_defaults(func=cmd_kb_misses)

    ev = sub.add_parser(
        "eval", help="score answers on JSONL files of labelled questions",
        description="Score the bot on JSONL files, one {\"q\": question, \"expect\": label} "
                    "per line. Labels: an entry id (several joined by |), none, none|id, "
                    "safeguarding[:category], not:safeguarding, occupation:OCC1|OCC2.")
    ev.add_argument("files", nargs="+", metavar="FILE")
    ev.add_argument("--min-topic", type=float, metavar="RATE",
                    help="exit 1 if topic top-1 is below RATE (0-1) on any file")
    ev.add_argument("--min-none", type=float, metavar="RATE",
                    help="exit 1 if abstention on none is below RATE (0-1) on any file")
    ev.add_argument("--quiet", action="store_true", help="print the summary lines only")
    ev.set_defaults(func=cmd_eval)

    refresh = sub.add_parser("refresh", help="refresh the occupational maps now")
    refresh.add_argument("--source", help="snapshot file or URL (default: configured source)")
    refresh.add_argument("--dry-run", action="store_true", help="store nothing, send nothing")
    refresh.add_argument("--json", action="store_true", help="print the change list as JSON")
    refresh.add_argument("--force", action="store_true", help="accept an unusually large change set")
    refresh.set_defaults(func=cmd_refresh)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # PTB 22 reports RetryAfter.retry_after as a timedelta with this set, and warns without it.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        args = parser.parse_args(["chat"])
    try:
        settings = load_settings()
        setup_logging(settings)
        return int(args.func(settings, args) or 0)
    except ConfigError as exc:
        print(f"careers-bot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from bot.knowledge import KnowledgeError

        if isinstance(exc, KnowledgeError):
            print(f"careers-bot: the knowledge base has problems (run `careers-bot kb check`):\n{exc}",
                  file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
