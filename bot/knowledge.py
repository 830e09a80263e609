"""The knowledge base: maintained Markdown entries with YAML front matter, loaded and validated.

Entries live in ``knowledge/entries/<id>.md``. Loading never half-succeeds: :func:`load_knowledge`
either returns a complete :class:`KnowledgeBase` or raises :class:`KnowledgeError` listing every
problem with its file, so a running bot can keep serving its last good copy after a broken edit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import frontmatter
import yaml

from bot.config import DEFAULT_KNOWLEDGE_DIR
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


@dataclass(frozen=True)
class Problem:
    """A validation problem, reported as ``file: message``."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base did not validate; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class DegreeRoute:
    """The university route into an occupation (``degree_routes.yaml``), in one sentence, with
    the official page that says so: the maps list apprenticeships and T Levels, not degrees."""

    degree: str
    source: str


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


def _is_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in {"http", "https"} and bool(parsed.netloc)


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


def parse_entry(path: Path) -> tuple[Entry | None, list[Problem]]:
    """Parse one entry file; return the entry (if usable) and the problems found in it alone."""
    problems: list[Problem] = []
    try:
        post = frontmatter.load(str(path))
    except (yaml.YAMLError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return None, [Problem(path, f"broken YAML front matter: {reason}")]
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
        if not _is_url(source):
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
        problems.append(Problem(path, f"broken YAML: {str(exc).splitlines()[0]}"))
        return {}
    if not isinstance(data, dict):
        problems.append(Problem(path, "expected a mapping at the top level"))
        return {}
    return data


def _check_word_lists(path: Path, matching: Mapping[str, Any]) -> list[Problem]:
    """YAML reads bare yes/no/on as booleans: insist every word in matching.yaml is text."""
    found = []
    for key in ("stopwords", "greetings", "smalltalk", "key_terms"):
        for word in matching.get(key) or ():
            if not isinstance(word, str):
                found.append(Problem(path, f"'{key}' has a non-text item {word!r}: quote it"))
    for canonical, variants in (matching.get("replacements") or {}).items():
        for word in (canonical, *(variants or ())):
            if not isinstance(word, str):
                found.append(Problem(path, f"replacement {canonical!r} has a non-text item {word!r}: quote it"))
    return found


def _text_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(i, str) and i.strip() for i in value)


def _check_safeguarding(path: Path, data: Mapping[str, Any]) -> list[Problem]:
    """Every category needs a reply and phrases; who reviews the file must be said."""
    if not data:
        return []
    found = []
    if not data.get("reviewed_by") or not data.get("last_checked"):
        found.append(Problem(path, "say who reviews this file ('reviewed_by') and when "
                                   "('last_checked')"))
    categories = data.get("categories")
    if not isinstance(categories, dict) or not categories:
        return [*found, Problem(path, "'categories' must map each category to its reply and phrases")]
    for category, spec in categories.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("reply"), str) or not spec["reply"].strip():
            found.append(Problem(path, f"category '{category}' needs a 'reply'"))
        elif not _text_list(spec.get("phrases")):
            found.append(Problem(path, f"category '{category}' needs a list of text 'phrases' "
                                       "(quote yes/no/on/off)"))
    return found


def _check_exemplars(path: Path, data: Mapping[str, Any], categories: set[str]) -> list[Problem]:
    """Exemplars belong to known categories; the careers examples guard precision."""
    if not data:
        return []
    found = []
    exemplars = data.get("categories")
    if not isinstance(exemplars, dict) or not exemplars:
        found.append(Problem(path, "'categories' must map categories to example messages"))
    else:
        for category, texts in exemplars.items():
            if categories and category not in categories:
                found.append(Problem(path, f"category '{category}' is not in safeguarding.yaml"))
            if not _text_list(texts):
                found.append(Problem(path, f"category '{category}' needs a list of text examples"))
    if not _text_list(data.get("not_safeguarding")):
        found.append(Problem(path, "'not_safeguarding' needs careers questions with alarming words"))
    return found


def _check_occupation_phrases(path: Path, data: Mapping[str, Any]) -> list[Problem]:
    """Phrase lists must be text (YAML reads bare yes/no/on as booleans)."""
    found = []
    for key in ("intent_phrases", "filler_words", "job_intent_phrases", "interest_phrases"):
        bad = [w for w in data.get(key) or () if not isinstance(w, str)]
        if bad:
            found.append(Problem(path, f"'{key}' has non-text items {bad}: quote them"))
    return found


OCCUPATION_ID = re.compile(r"^OCC\d{4}[A-Z]?$")
PROFILE_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_DEGREE_CHARS = 240


def _degree_routes(path: Path, data: Mapping[str, Any],
                   problems: list[Problem]) -> dict[str, DegreeRoute]:
    """``routes: {OCC id: {degree: sentence, source: https URL}}``."""
    routes: dict[str, DegreeRoute] = {}
    for occupation_id, spec in (data.get("routes") or {}).items():
        where = f"route '{occupation_id}'"
        if not OCCUPATION_ID.match(str(occupation_id)):
            problems.append(Problem(path, f"{where}: not an occupation id like OCC0995"))
            continue
        if not isinstance(spec, dict):
            problems.append(Problem(path, f"{where} needs 'degree' and 'source'"))
            continue
        degree, source = str(spec.get("degree") or "").strip(), spec.get("source")
        if not degree or len(degree) > MAX_DEGREE_CHARS:
            problems.append(Problem(path, f"{where}: 'degree' must be one sentence under "
                                          f"{MAX_DEGREE_CHARS} characters"))
        elif not _is_url(source):
            problems.append(Problem(path, f"{where}: 'source' must be an https address"))
        else:
            routes[str(occupation_id)] = DegreeRoute(degree, str(source))
    return routes


def _job_profiles(path: Path, data: Mapping[str, Any], problems: list[Problem]) -> dict[str, str]:
    """``profiles: {OCC id: National Careers Service profile slug}``."""
    profiles: dict[str, str] = {}
    for occupation_id, slug in (data.get("profiles") or {}).items():
        if not OCCUPATION_ID.match(str(occupation_id)):
            problems.append(Problem(path, f"'{occupation_id}' is not an occupation id like OCC0152"))
        elif not isinstance(slug, str) or not PROFILE_SLUG.match(slug):
            problems.append(Problem(path, f"{occupation_id}: profile {slug!r} must be lower-case "
                                          "words joined by hyphens, like 'electrician'"))
        else:
            profiles[str(occupation_id)] = slug
    return profiles


def _check_smalltalk(path: Path, data: Mapping[str, Any]) -> list[Problem]:
    """Every small-talk kind needs text examples and at least one reply."""
    kinds = data.get("kinds")
    if not data:
        return []
    if not isinstance(kinds, dict) or not kinds:
        return [Problem(path, "'kinds' must map each kind of small talk to examples and replies")]
    found = []
    for kind, spec in kinds.items():
        if not isinstance(spec, dict):
            found.append(Problem(path, f"kind '{kind}' must have 'examples' and 'replies'"))
            continue
        for key in ("examples", "replies"):
            items = spec.get(key)
            if not isinstance(items, list) or not items:
                found.append(Problem(path, f"kind '{kind}' needs a non-empty '{key}' list"))
            elif any(not isinstance(i, str) or not i.strip() for i in items):
                found.append(Problem(path, f"kind '{kind}' has a non-text item in '{key}': quote it"))
    return found


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
    problems.extend(_check_word_lists(root / "matching.yaml", matching))
    safeguarding = _load_yaml(root / "safeguarding.yaml", problems)
    problems.extend(_check_safeguarding(root / "safeguarding.yaml", safeguarding))
    exemplars = _load_yaml(root / "safeguarding_exemplars.yaml", problems)
    problems.extend(_check_exemplars(root / "safeguarding_exemplars.yaml", exemplars,
                                     set(safeguarding.get("categories") or ())))
    occupation_phrases = _load_yaml(root / "occupation_phrases.yaml", problems)
    problems.extend(_check_occupation_phrases(root / "occupation_phrases.yaml", occupation_phrases))
    smalltalk = _load_yaml(root / "smalltalk.yaml", problems)
    problems.extend(_check_smalltalk(root / "smalltalk.yaml", smalltalk))
    degree_routes = _degree_routes(root / "degree_routes.yaml",
                                   _load_yaml(root / "degree_routes.yaml", problems), problems)
    job_profiles = _job_profiles(root / "job_profiles.yaml",
                                 _load_yaml(root / "job_profiles.yaml", problems), problems)
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
