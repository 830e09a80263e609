"""The longer help texts of careers-bot and its commands (plain text: no markup, no backticks)."""

DESCRIPTION = """\
careers-bot: a Telegram bot with sourced answers about apprenticeships, T Levels and Cambridge
Technicals, and occupational maps change alerts for careers advisers.

Run it on Telegram, talk to it in this terminal, ask it questions, check and report on its
knowledge base, refresh the occupational maps and export what changed."""

EPILOG = """\
With no command, careers-bot starts the terminal chat (the same as careers-bot chat).
Settings come from environment variables and a .env file (see .env.example).
Run careers-bot COMMAND --help for the arguments of a command."""

ASK_DESCRIPTION = """\
Answer one question as the bot would on Telegram, as plain text (buttons in brackets) or JSON.
Give - instead of a question to read one question per line from standard input (blank lines
are skipped), for example: careers-bot ask --json - < questions.txt"""

EVAL_DESCRIPTION = """\
Score the bot on files of labelled questions and print accuracy per group.

File format (JSON Lines): one JSON object per line, {"q": QUESTION, "expect": LABEL}.
LABEL is what a right reply is:
  an entry id                 the answer is that entry (several ids joined by | all count)
  none                        the bot should say it does not know
  none|ID                     either "I don't know" or entry ID is fine
  safeguarding[:CATEGORY]     a safeguarding reply (of that category)
  not:safeguarding            anything but a safeguarding reply
  occupation:OCC1|OCC2        an occupation card for one of these occupations
An optional "previous" key holds the question asked just before, for a follow-up read in the
context of its answer. Other keys (such as "src") are ignored.
Example line: {"q": "how much do apprentices get paid", "expect": "apprenticeship-pay"}"""

CHANGES_DESCRIPTION = """\
Print the changes to the occupational maps between two stored versions: readable text, or CSV
(one row per occupation and route, the columns /changes csv sends) for a school's records.
By default: the latest change list, from the version before the newest one that changed."""

CHAT_DESCRIPTION = """\
Talk to the bot in this terminal; this is the default command. It runs the real bot against a
local stand-in for Telegram, so no token is needed and nothing leaves this machine.
Type a question, a number to press a button, quit (or Ctrl-D) to leave. Arrow keys edit the
line and bring back earlier ones. Log lines go to a file next to the database, not over the
conversation."""

REPORT_DESCRIPTION = """\
Write one self-contained HTML page for maintainers, to open in a browser with no server:
replies per week (answers, clarifications, fallbacks, occupation cards), the top unanswered
question groups, the helpful ratio per entry, entries never shown and entries due for review.
Charts are inline SVG. The database is only read."""
