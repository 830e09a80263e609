"""careers-bot: run the bot, chat with it in a terminal, ask it, check and evaluate knowledge.

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

from app.cli_help import (
    ASK_DESCRIPTION,
    CHANGES_DESCRIPTION,
    CHAT_DESCRIPTION,
    DESCRIPTION,
    EPILOG,
    EVAL_DESCRIPTION,
)
from app.kb_tools import add_parsers as add_kb_tools
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
    for noisy in ("httpx", "httpcore", "apscheduler", "aiohttp.access", "matplotlib"):
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
    from jobs.refresh import check_schedule

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


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """Talk to the bot in this terminal; nothing leaves the machine."""
    from app.terminal import CHAT_ID, chat_log_path, log_to_file, terminal_chat

    log_to_file(chat_log_path(settings))  # log lines never land on the you> prompt
    if getattr(args, "admin", False):
        settings = settings.model_copy(update={"admin_ids": settings.admin_ids | {CHAT_ID}})
    asyncio.run(terminal_chat(settings, _services(settings), admin=bool(getattr(args, "admin", False))))
    return 0


def cmd_changes(settings: Settings, args: argparse.Namespace) -> int:
    """The changes between two stored versions, as text or CSV."""
    from bot.alerts.export import NoSuchVersion, change_list, changes_csv, changes_text
    from bot.alerts.subscriptions import current_routes, find_route
    from bot.knowledge import load_knowledge

    db = open_db(settings.database_path)
    routes = None
    if args.route:
        route = find_route(current_routes(db), args.route)
        if route is None:
            names = ", ".join(f"{r.id} {r.name}" for r in current_routes(db))
            print(f"careers-bot: no route called {args.route!r}; the routes are: {names}",
                  file=sys.stderr)
            return 2
        routes = frozenset({route.id})
    try:
        changes, context = change_list(db, args.from_version, args.to_version)
    except NoSuchVersion as exc:
        print(f"careers-bot: {exc}", file=sys.stderr)
        return 1
    texts = load_knowledge(settings.knowledge_dir).texts
    if args.csv:
        text, _ = changes_csv(changes, context, texts, routes)
        sys.stdout.write(text)
    else:
        print(changes_text(changes, context, texts, routes, settings.timezone))
    return 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    """Answer one question (or one per stdin line with `-`)."""
    from bot.answering.followup import topic_of
    from bot.render import html_to_plain

    responder = _services(settings).responder
    questions = sys.stdin if args.question == "-" else [args.question]
    topic = None
    for question in questions:
        question = question.rstrip("\n")
        if args.question == "-" and not question.strip():
            continue
        reply = responder.reply(question, topic if args.conversation else None)
        topic = topic_of(reply) or topic
        if args.json:
            print(json.dumps(reply.as_json(), ensure_ascii=False), flush=True)
        else:
            print(html_to_plain(reply.text))
            for row in reply.buttons:
                for button in row:
                    print(f"  [{button.label}]")
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


def package_version() -> str:
    """The installed careers-bot version (pyproject.toml's when running from a checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("careers-bot")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="careers-bot", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"careers-bot {package_version()}")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    def command(name: str, summary: str, description: str | None = None) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=summary, description=description or summary,
                              formatter_class=formatter)

    chat = command("chat", "talk to the bot in this terminal (the default; no token needed)",
                   CHAT_DESCRIPTION)
    chat.add_argument("--admin", action="store_true",
                      help="treat you as an admin, to try /stats, /reload, /refresh, /broadcast "
                           "and /testnotice locally")
    chat.set_defaults(func=cmd_chat)

    run = command("run", "run the bot on Telegram (needs TELEGRAM_BOT_TOKEN)",
                  "Run the bot on Telegram with long polling (or a webhook). Needs "
                  "TELEGRAM_BOT_TOKEN. It also refreshes the occupational maps on the "
                  "CAREERS_BOT_MAPS_CRON schedule and sends adviser alerts.")
    run.add_argument("--webhook", action="store_true",
                     help="receive updates on a webhook at CAREERS_BOT_WEBHOOK_URL instead of "
                          "long polling")
    run.set_defaults(func=cmd_run)

    ask = command("ask", "answer one question; - reads one question per line from stdin",
                  ASK_DESCRIPTION)
    ask.add_argument("question", metavar="QUESTION",
                     help="the question, in quotes; or - to read one question per line from "
                          "standard input")
    ask.add_argument("--json", action="store_true",
                     help="print one JSON object per question (kind, id, score, candidates, text)")
    ask.add_argument("--conversation", action="store_true",
                     help="with -: read the lines as one conversation, each a possible follow-up "
                          "of the answer before it")
    ask.set_defaults(func=cmd_ask)

    kb_parser = command("kb", "knowledge base tools: check, misses, suggest, report",
                        "Knowledge base tools for maintainers.")
    kb = kb_parser.add_subparsers(dest="kb_command", required=True, title="commands",
                                  metavar="COMMAND")
    add_kb_tools(sub, kb)

    ev = command("eval", "score answers on JSON Lines files of labelled questions",
                 EVAL_DESCRIPTION)
    ev.add_argument("files", nargs="+", metavar="FILE",
                    help="a JSON Lines file of labelled questions (format above); give several "
                         "to score each")
    ev.add_argument("--min-topic", type=float, metavar="RATE",
                    help="exit 1 if topic top-1 accuracy is below RATE (0 to 1) on any file")
    ev.add_argument("--min-none", type=float, metavar="RATE",
                    help="exit 1 if abstention on none is below RATE (0 to 1) on any file")
    ev.add_argument("--quiet", action="store_true", help="print the summary lines only, no misses")
    ev.set_defaults(func=cmd_eval)

    refresh = command("refresh", "refresh the occupational maps now",
                      "Fetch the occupational maps now, compare them with the stored version and "
                      "store them if they changed (the bot then sends the adviser digests). "
                      "Exit 0 stored or unchanged, 1 failed, 2 held back as an unusually large "
                      "change (look, then use --force).")
    refresh.add_argument("--source", metavar="FILE_OR_URL",
                         help="a JSONL snapshot file or an API URL (default: CAREERS_BOT_MAPS_SOURCE)")
    refresh.add_argument("--dry-run", action="store_true",
                         help="fetch and compare, but store nothing and send nothing")
    refresh.add_argument("--json", action="store_true", help="print the report and changes as JSON")
    refresh.add_argument("--force", action="store_true",
                         help="store an unusually large change set that would be held back")
    refresh.set_defaults(func=cmd_refresh)

    changes = command("changes", "print or export the changes between two maps versions",
                      CHANGES_DESCRIPTION)
    changes.add_argument("--from", dest="from_version", type=int, metavar="V",
                         help="the older version (default: the one before --to)")
    changes.add_argument("--to", dest="to_version", type=int, metavar="V",
                         help="the newer version (default: the newest version that changed)")
    changes.add_argument("--route", metavar="ROUTE",
                         help="one route only, by number or name (for example: digital)")
    changes.add_argument("--csv", action="store_true",
                         help="print CSV instead of text (redirect it to a file: > changes.csv)")
    changes.set_defaults(func=cmd_changes)
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
