"""`careers-bot kb check`, `kb misses`, `kb suggest`, `kb report` and `link`: checking the
knowledge base, the maintainers' loop from what students asked to better entries, and links
that open an answer directly."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli_help import REPORT_DESCRIPTION
from bot.config import ConfigError, Settings
from bot.kb_edit import add_phrasings
from bot.knowledge import Entry
from bot.misses import Suggestion, group_misses, phrasings_by_entry, suggest
from bot.usage import unanswered_questions

if TYPE_CHECKING:  # the services (and the sentence encoder) load only in the commands using them
    from bot.services import Services

TELEGRAM_LINK = "https://t.me/{username}?start={payload}"


def _suggestions(settings: Settings, limit: int) -> tuple[Services, list[Suggestion]]:
    """The services, and where each of the ``limit`` biggest groups of misses belongs."""
    from bot.services import build_services

    services = build_services(settings)
    groups = group_misses(unanswered_questions(services.db))[:limit]
    return services, suggest(groups, services.responder.nearest_entry)


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
    from jobs.refresh import check_schedule

    check_schedule(settings)
    print(f"ok: {len(kb)} entries, {kb.question_count} alternate questions, no problems; "
          "settings ok")
    if args.stale:
        return print_stale(kb.entries.values(), settings.timezone,
                           args.months or settings.review_max_age_months)
    return 0


def print_stale(entries: Iterable[Entry], timezone: str, months: int) -> int:
    """`kb check --stale`: what is due for review today, one line each; exit 1 if anything is."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from bot.review import last_change, report_lines, review_report

    today = dt.datetime.now(ZoneInfo(timezone)).date()
    report = review_report(entries, today, months)
    for line in report_lines(report):
        print(line)
    if report:
        with_figures = len({f.entry.id for f in report.stale_figures})
        print(f"{len(report.due_ids)} entries due for review: {len(report.old_reviews)} reviewed "
              f"before {report.review_before}, {with_figures} with {len(report.stale_figures)} "
              "figure(s) older than their yearly change", file=sys.stderr)
        return 1
    print(f"stale: nothing due (no entry reviewed before {report.review_before}; no money figure "
          f"dated before {last_change(today, 'money')} or course fact before "
          f"{last_change(today, 'course')})")
    return 0


def cmd_kb_report(settings: Settings, args: argparse.Namespace) -> int:
    """Write the maintainers' HTML report (reading the database only)."""
    from bot.db import open_db_readonly
    from bot.knowledge import load_knowledge
    from bot.report import collect, render_report

    try:
        db = open_db_readonly(settings.database_path)
    except FileNotFoundError:
        print(f"careers-bot: no database at {settings.database_path} yet: run the bot first "
              "(or set CAREERS_BOT_DATABASE_PATH)", file=sys.stderr)
        return 1
    try:
        data = collect(db, load_knowledge(settings.knowledge_dir), weeks=args.weeks,
                       review_after_months=args.review_after or settings.review_max_age_months)
    finally:
        db.close()
    page = render_report(data)
    if args.output == "-":
        sys.stdout.write(page)
        return 0
    Path(args.output).write_text(page, encoding="utf-8")
    print(f"wrote {args.output}: open it in a browser (no server needed)")
    for section, reason in (data.unavailable or {}).items():
        print(f"  {section}: not available ({reason})", file=sys.stderr)
    return 0


def _months(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of months, 1 or more: {value!r}")
    return int(value)


def cmd_kb_misses(settings: Settings, args: argparse.Namespace) -> int:
    """Unanswered questions grouped by wording, most frequent first, each with the entry that
    most likely answers it (nearest in meaning, with its score) or "new topic"."""
    _, suggestions = _suggestions(settings, args.limit)
    if not suggestions:
        print("No unanswered questions logged.")
        return 0
    for s in suggestions:
        group = s.group
        what = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in group.outcomes.most_common())
        target = f"→ {s.entry_id} ({s.score:.2f})" if s.entry_id else f"→ new topic (nearest {s.score:.2f})"
        print(f"{group.count:4d} × {group.example!r}  [{what}; last {group.last_asked[:10]}]  {target}")
        for other in sorted(set(group.questions) - {group.example})[:3]:
            print(f"       also: {other!r}")
    return 0


def cmd_kb_suggest(settings: Settings, args: argparse.Namespace) -> int:
    """Ready-to-paste phrasings per entry from the misses; `--apply ID N` adds the N-th
    suggestion for entry ID to its front matter and checks the knowledge base."""
    services, suggestions = _suggestions(settings, args.limit)
    by_entry = phrasings_by_entry(
        suggestions, {e.id: e.questions for e in services.kb.entries.values()})
    if args.apply is None:
        if not by_entry:
            print("No suggestions: no logged question is close to an entry.")
        for entry_id, phrasings in by_entry.items():
            print(f"{entry_id}:")
            for number, phrasing in enumerate(phrasings, 1):
                print(f"  {number}. - {phrasing}")
        return 0
    entry_id, number = args.apply
    phrasings = by_entry.get(entry_id, [])
    if entry_id not in services.kb.entries:
        print(f"careers-bot: no entry '{entry_id}'", file=sys.stderr)
        return 2
    if not number.isdigit() or not 1 <= int(number) <= len(phrasings):
        print(f"careers-bot: entry '{entry_id}' has {len(phrasings)} suggestion(s); "
              f"choose a number from `careers-bot kb suggest`", file=sys.stderr)
        return 2
    path = services.kb.entries[entry_id].path
    assert path is not None, "entries loaded from knowledge/ know their file"
    added = add_phrasings(path, [phrasings[int(number) - 1]])
    print(f"added to {path}: {added[0]!r}" if added else f"{path} already has that phrasing")
    return cmd_kb_check(settings, argparse.Namespace(path=None, stale=False, months=None))


def cmd_link(settings: Settings, args: argparse.Namespace) -> int:
    """The t.me link that opens an answer (an entry id, or an OCC id for a job's card)."""
    if not settings.bot_username:
        raise ConfigError("CAREERS_BOT_BOT_USERNAME is not set: links need the bot's @username")
    from bot.knowledge import load_knowledge

    target = args.id
    payload = f"occ-{target}" if target.upper().startswith("OCC") else target
    if payload == target and target not in load_knowledge(settings.knowledge_dir).entries:
        print(f"careers-bot: no entry '{target}' (give an entry id or an OCC id)", file=sys.stderr)
        return 2
    if payload != target:
        from bot.maps.search import bundled_occupation_index

        if bundled_occupation_index().get(target.upper()) is None:
            print(f"careers-bot: no occupation '{target}' on the maps", file=sys.stderr)
            return 2
        payload = f"occ-{target.upper()}"
    print(TELEGRAM_LINK.format(username=settings.bot_username, payload=payload))
    return 0


def add_parsers(sub: argparse._SubParsersAction, kb: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `kb check`, `kb misses`, `kb suggest`, `kb report` and `link` subcommands."""
    check = kb.add_parser("check", help="validate knowledge/ (exit 1 on problems)",
                          description="Validate every entry and data file in the knowledge "
                                      "folder and the settings; print each problem with its "
                                      "file (and line and column for YAML errors). Exit 1 if "
                                      "there are problems.")
    check.add_argument("path", nargs="?", metavar="FOLDER",
                       help="knowledge folder to check (default: CAREERS_BOT_KNOWLEDGE_DIR)")
    check.add_argument("--stale", action="store_true",
                       help="also list entries due for review: reviewed too long ago, or with a "
                            "money figure from before the last 1 April or a course fact from "
                            "before the last 1 September (exit 1 if any)")
    check.add_argument("--months", type=_months, metavar="N",
                       help="with --stale: review age in months (default: "
                            "CAREERS_BOT_REVIEW_MAX_AGE_MONTHS, 6)")
    check.set_defaults(func=cmd_kb_check)
    report = kb.add_parser("report", help="write an HTML report for maintainers",
                           description=REPORT_DESCRIPTION,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    report.add_argument("--output", "-o", metavar="FILE", default="careers-bot-report.html",
                        help="where to write the page (default: careers-bot-report.html; - for "
                             "standard output)")
    report.add_argument("--weeks", type=int, default=26, metavar="N",
                        help="how many recent weeks of replies to chart (default: 26)")
    report.add_argument("--review-after", type=int, metavar="MONTHS",
                        help="an entry is due for review this many months after its reviewed "
                             "date (default: CAREERS_BOT_REVIEW_MAX_AGE_MONTHS, 6, as in /stats "
                             "and kb check --stale)")
    report.set_defaults(func=cmd_kb_report)

    misses = kb.add_parser("misses", help="questions the bot could not answer, grouped, with the "
                           "entry each group most likely belongs to",
                           description="Questions the bot could not answer (or answered "
                                       "unhelpfully), grouped by similar wording, most frequent "
                                       "first: what happened, when each was last asked, and the "
                                       "entry that most likely answers it or new topic. "
                                       "Questions are kept without any chat id.")
    misses.add_argument("--limit", type=int, default=30, metavar="N",
                        help="show at most N groups (default: 30)")
    misses.set_defaults(func=cmd_kb_misses)
    suggest_cmd = kb.add_parser("suggest", help="phrasings to add to entries, from the misses",
                                description="Ready-to-paste alternate questions for entries, "
                                            "taken from the unanswered questions nearest to "
                                            "each entry, numbered per entry.")
    suggest_cmd.add_argument("--apply", nargs=2, metavar=("ID", "N"),
                             help="add suggestion N of entry ID to its front matter, then check "
                                  "the knowledge base")
    suggest_cmd.add_argument("--limit", type=int, default=100, metavar="N",
                             help="read at most N groups of misses (default: 100)")
    suggest_cmd.set_defaults(func=cmd_kb_suggest)
    link = sub.add_parser("link", help="print the t.me link that opens an answer or a job's card "
                          "(needs CAREERS_BOT_BOT_USERNAME)",
                          description="Print the t.me link (for a poster or a QR code) that "
                                      "opens the bot on one answer or one job's card. Needs "
                                      "CAREERS_BOT_BOT_USERNAME.")
    link.add_argument("id", metavar="ID",
                      help="an entry id (apprenticeship-pay) or an occupation id (OCC0152)")
    link.set_defaults(func=cmd_link)
