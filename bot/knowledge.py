"""The knowledge base: maintained Markdown entries with YAML front matter, loaded and validated.

Entries live in ``knowledge/entries/<id>.md``. Loading never half-succeeds: :func:`load_knowledge`
either returns a complete :class:`KnowledgeBase` or raises :class:`KnowledgeError` listing every
problem with its file, so a running bot can keep serving its last good copy after a broken edit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from bot.config import DEFAULT_KNOWLEDGE_DIR
from bot.knowledge_files import (
    DegreeRoute,
    Problem,
    check_exemplars,
    check_followups,
    check_occupation_phrases,
    check_safeguarding,
    check_smalltalk,
    check_word_lists,
    degree_routes_of,
    is_url,
    job_profiles_of,
)
from bot.render import swallowed_grade_stars
from bot.text import normalise

# libyaml's parser when PyYAML has it (about ten times faster at start-up); same results.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """YAML text as plain data (no tags that build objects), parsed by libyaml if available."""
    return yaml.load(text, Loader=_YAML_LOADER)

REQUIRED_KEYS = ("id", "title", "questions", "tags", "sources", "reviewed")
OPTIONAL_KEYS = ("related",)
KNOWN_TAGS = frozenset(
    {"apprenticeships", "t-levels", "cambridge-technicals", "occupational-maps", "careers", "service"}
)


@dataclass(frozen=True)
class Entry:
    """One maintained answer."""

    id: str
    title: str
    questions: tuple[str, ...]
    tags: tuple[str, ...]
    sources: tuple[str, ...]
    reviewed: dt.date
    body: str
    related: tuple[str, ...] = ()
    path: Path | None = None


class KnowledgeError(Exception):
    """The knowledge base did not validate; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class KnowledgeBase:
    """One consistent snapshot of everything in ``knowledge/``: the entries and the data files
    the bot's wording, matching, safeguarding and occupation search rely on. Loaded (and
    reloaded) as a whole, so a message is never answered from half of an edit."""

    entries: dict[str, Entry]
    messages: dict[str, Any] = field(default_factory=dict)
    matching: dict[str, Any] = field(default_factory=dict)
    safeguarding: dict[str, Any] = field(default_factory=dict)
    safeguarding_exemplars: dict[str, Any] = field(default_factory=dict)
    smalltalk: dict[str, Any] = field(default_factory=dict)
    occupation_phrases: dict[str, Any] = field(default_factory=dict)
    degree_routes: dict[str, DegreeRoute] = field(default_factory=dict)
    job_profiles: dict[str, str] = field(default_factory=dict)
    followups: dict[str, Any] = field(default_factory=dict)
    root: Path | None = None

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def question_count(self) -> int:
        return sum(len(e.questions) for e in self.entries.values())

    @cached_property
    def texts(self) -> Messages:
        """The wording in ``messages.yaml``."""
        return Messages(self.messages)

    def message(self, key: str, **values: object) -> str:
        """A UI message from ``messages.yaml``, with ``{placeholders}`` filled in."""
        return self.texts.message(key, **values)


@dataclass(frozen=True)
class Messages:
    """Everything the bot says that is not an entry (``knowledge/messages.yaml``)."""

    data: Mapping[str, Any]

    def message(self, key: str, **values: object) -> str:
        """One message, ``{placeholders}`` filled in (a block's final line break dropped)."""
        text = str(self.data[key]).strip("\n")
        return text.format(**values) if values else text

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def product_label(self, product_type: str | None) -> str:
        """What students call a product type ("TLevel" → "T Level")."""
        labels = self.data.get("product_labels") or {}
        if product_type and product_type in labels:
            return str(labels[product_type])
        return str(product_type or self.data.get("product_default", "Qualification"))


@cache
def bundled_messages() -> Messages:
    """The shipped ``messages.yaml`` (for code run without a loaded knowledge base)."""
    path = DEFAULT_KNOWLEDGE_DIR / "messages.yaml"
    return Messages(safe_load(path.read_text(encoding="utf-8")) or {})


def _str_list(meta: Mapping[str, Any], key: str, path: Path, problems: list[Problem]) -> tuple[str, ...]:
    value = meta.get(key)
    if not isinstance(value, list) or not value:
        problems.append(Problem(path, f"'{key}' must be a non-empty list"))
        return ()
    items = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            problems.append(Problem(path, f"'{key}' has an empty or non-text item: {item!r}"))
        else:
            items.append(item.strip())
    return tuple(items)


def yaml_error_text(exc: Exception, first_line: int = 1) -> str:
    """A YAML error as "line 12, column 7: expected ',' or ']' …", numbered as an editor
    shows the file (``first_line`` is the file line where the YAML text starts)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    reason = " ".join(str(part) for part in (context, problem) if part) or (
        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if mark is None:
        return reason
    return f"line {mark.line + first_line}, column {mark.column + 1}: {reason}"


def parse_entry(path: Path) -> tuple[Entry | None, list[Problem]]:
    """Parse one entry file; return the entry (if usable) and the problems found in it alone."""
    problems: list[Problem] = []
    try:
        post = frontmatter.load(str(path))
    except (yaml.YAMLError, ValueError) as exc:
        # The front matter text starts with the line break that ends the opening "---" line.
        return None, [Problem(path, f"broken YAML front matter at {yaml_error_text(exc, 1)}")]
    except UnicodeDecodeError:
        return None, [Problem(path, "file is not UTF-8 text")]
    meta = post.metadata
    if not meta:
        return None, [Problem(path, "no YAML front matter (expected '---' block at the top)")]
    unknown = sorted(set(meta) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        problems.append(Problem(path, f"unknown key(s): {', '.join(unknown)}"))
    for key in REQUIRED_KEYS:
        if key not in meta or meta[key] in (None, "", []):
            problems.append(Problem(path, f"missing or empty '{key}'"))
    if problems:
        return None, problems

    entry_id = meta["id"]
    if not isinstance(entry_id, str) or entry_id != path.stem:
        problems.append(Problem(path, f"id {entry_id!r} must match the file name '{path.stem}'"))
    title = meta["title"]
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem(path, "'title' must be text"))
    questions = _str_list(meta, "questions", path, problems)
    tags = _str_list(meta, "tags", path, problems)
    for tag in tags:
        if tag not in KNOWN_TAGS:
            problems.append(Problem(path, f"unknown tag '{tag}' (known: {', '.join(sorted(KNOWN_TAGS))})"))
    sources = _str_list(meta, "sources", path, problems)
    for source in sources:
        if not is_url(source):
            problems.append(Problem(path, f"source is not an http(s) URL: {source!r}"))
    reviewed = meta["reviewed"]
    if isinstance(reviewed, str):
        try:
            reviewed = dt.date.fromisoformat(reviewed)
        except ValueError:
            pass
    if not isinstance(reviewed, dt.date) or isinstance(reviewed, dt.datetime):
        problems.append(Problem(path, f"'reviewed' is not a date (YYYY-MM-DD): {meta['reviewed']!r}"))
    elif reviewed > dt.date.today():
        problems.append(Problem(path, f"'reviewed' is in the future: {reviewed}"))
    related: tuple[str, ...] = ()
    if "related" in meta:
        related = _str_list(meta, "related", path, problems)
    if not post.content.strip():
        problems.append(Problem(path, "the answer body is empty"))
    for grade in swallowed_grade_stars(post.content):
        escaped = grade.replace("*", "\\*")
        problems.append(Problem(path, f"Markdown reads the star(s) in {grade!r} as italics, so "
                                      f"students see that grade without them: write {escaped}"))
    if problems:
        return None, problems
    assert isinstance(entry_id, str) and isinstance(title, str) and isinstance(reviewed, dt.date)
    return (
        Entry(
            id=entry_id,
            title=title.strip(),
            questions=questions,
            tags=tags,
            sources=sources,
            reviewed=reviewed,
            body=post.content.strip(),
            related=related,
            path=path,
        ),
        [],
    )


def _modified(entry: Entry) -> float:
    try:
        return entry.path.stat().st_mtime if entry.path else 0.0
    except OSError:
        return 0.0


def check_entries(entries: Iterable[Entry]) -> list[Problem]:
    """Problems that only show across entries: duplicate ids and phrasings, dangling links."""
    problems: list[Problem] = []
    by_id: dict[str, Entry] = {}
    for entry in entries:
        assert entry.path is not None
        if entry.id in by_id:
            problems.append(Problem(entry.path, f"duplicate id '{entry.id}' (also in {by_id[entry.id].path})"))
        else:
            by_id[entry.id] = entry
    seen: dict[str, Entry] = {}
    for entry in by_id.values():
        assert entry.path is not None
        own: set[str] = set()
        for index, phrasing in enumerate((entry.title, *entry.questions)):
            key = normalise(phrasing)
            if key in own and index:  # (the title repeated as a question is harmless)
                if normalise(entry.title) != key:
                    problems.append(Problem(entry.path, f"question {phrasing!r} is listed twice"))
                continue
            own.add(key)
            other = seen.get(key)
            if other is not None and other.id != entry.id:
                # Name the file edited last: that is where the duplicate was just added.
                edited, kept = sorted((entry, other), key=_modified, reverse=True)
                assert edited.path is not None and kept.path is not None
                problems.append(Problem(edited.path, f"question {phrasing!r} is also in "
                                                     f"'{kept.id}' ({kept.path.name})"))
            seen.setdefault(key, entry)
        for rid in entry.related:
            if rid not in by_id:
                problems.append(Problem(entry.path, f"related id '{rid}' does not exist"))
            elif rid == entry.id:
                problems.append(Problem(entry.path, "an entry cannot be related to itself"))
    return problems


def _load_yaml(path: Path, problems: list[Problem]) -> dict[str, Any]:
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem(path, "file is missing"))
        return {}
    except yaml.YAMLError as exc:
        problems.append(Problem(path, f"broken YAML at {yaml_error_text(exc)}"))
        return {}
    if not isinstance(data, dict):
        problems.append(Problem(path, "expected a mapping at the top level"))
        return {}
    return data


REQUIRED_MESSAGES = (
    "welcome",
    "fallback",
    "did_you_mean",
    "none_of_these",
    "non_text",
    "button_expired",
    "error",
    "example_questions",
)


def load_knowledge(root: Path) -> KnowledgeBase:
    """Load and validate everything under ``root``; raise KnowledgeError listing all problems."""
    problems: list[Problem] = []
    entry_dir = root / "entries"
    paths = sorted(entry_dir.glob("*.md"))
    if not paths:
        problems.append(Problem(entry_dir, "no entries found"))
    entries: list[Entry] = []
    for path in paths:
        entry, found = parse_entry(path)
        problems.extend(found)
        if entry is not None:
            entries.append(entry)
    problems.extend(check_entries(entries))
    messages = _load_yaml(root / "messages.yaml", problems)
    for key in REQUIRED_MESSAGES:
        if messages and key not in messages:
            problems.append(Problem(root / "messages.yaml", f"missing message '{key}'"))
    matching = _load_yaml(root / "matching.yaml", problems)
    problems.extend(check_word_lists(root / "matching.yaml", matching))
    safeguarding = _load_yaml(root / "safeguarding.yaml", problems)
    problems.extend(check_safeguarding(root / "safeguarding.yaml", safeguarding))
    exemplars = _load_yaml(root / "safeguarding_exemplars.yaml", problems)
    problems.extend(check_exemplars(root / "safeguarding_exemplars.yaml", exemplars,
                                     set(safeguarding.get("categories") or ())))
    occupation_phrases = _load_yaml(root / "occupation_phrases.yaml", problems)
    problems.extend(check_occupation_phrases(root / "occupation_phrases.yaml", occupation_phrases))
    smalltalk = _load_yaml(root / "smalltalk.yaml", problems)
    problems.extend(check_smalltalk(root / "smalltalk.yaml", smalltalk))
    degree_routes = degree_routes_of(root / "degree_routes.yaml",
                                   _load_yaml(root / "degree_routes.yaml", problems), problems)
    job_profiles = job_profiles_of(root / "job_profiles.yaml",
                                 _load_yaml(root / "job_profiles.yaml", problems), problems)
    followups = _load_yaml(root / "followups.yaml", problems)
    problems.extend(check_followups(root / "followups.yaml", followups))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(
        entries={e.id: e for e in entries},
        messages=messages,
        matching=matching,
        safeguarding=safeguarding,
        safeguarding_exemplars=exemplars,
        smalltalk=smalltalk,
        occupation_phrases=occupation_phrases,
        degree_routes=degree_routes,
        job_profiles=job_profiles,
        followups=followups,
        root=root,
    )


def knowledge_fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    """A cheap signature of the files under ``root`` so the running bot can notice edits."""
    return tuple(
        sorted(
            (str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size)
            for p in root.rglob("*")
            if p.is_file() and p.suffix in {".md", ".yaml", ".yml"}
        )
    )
