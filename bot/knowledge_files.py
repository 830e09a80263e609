"""The knowledge base's data files beside the entries (matching words, safeguarding phrases and
exemplars, occupation phrases, degree routes, job profiles, small talk, follow-ups): each is
checked here on load, so a maintainer's typo is reported with its file instead of surfacing as
a wrong answer later. :mod:`bot.knowledge` loads them into one snapshot."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse


@dataclass(frozen=True)
class Problem:
    """A validation problem, reported as ``file: message``."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class DegreeRoute:
    """The university route into an occupation (``degree_routes.yaml``), in one sentence, with
    the official page that says so: the maps list apprenticeships and T Levels, not degrees."""

    degree: str
    source: str


def is_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return parsed.scheme in {"http", "https"} and bool(parsed.netloc)


def check_word_lists(path: Path, matching: Mapping[str, Any]) -> list[Problem]:
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


def text_list(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(
        isinstance(i, str) and i.strip() for i in value)


def check_safeguarding(path: Path, data: Mapping[str, Any]) -> list[Problem]:
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
        elif not text_list(spec.get("phrases")):
            found.append(Problem(path, f"category '{category}' needs a list of text 'phrases' "
                                       "(quote yes/no/on/off)"))
    return found


def check_exemplars(path: Path, data: Mapping[str, Any], categories: set[str]) -> list[Problem]:
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
            if not text_list(texts):
                found.append(Problem(path, f"category '{category}' needs a list of text examples"))
    if not text_list(data.get("not_safeguarding")):
        found.append(Problem(path, "'not_safeguarding' needs careers questions with alarming words"))
    return found


def check_occupation_phrases(path: Path, data: Mapping[str, Any]) -> list[Problem]:
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


def degree_routes_of(path: Path, data: Mapping[str, Any],
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
        elif not is_url(source):
            problems.append(Problem(path, f"{where}: 'source' must be an https address"))
        else:
            routes[str(occupation_id)] = DegreeRoute(degree, str(source))
    return routes


def job_profiles_of(path: Path, data: Mapping[str, Any], problems: list[Problem]) -> dict[str, str]:
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


def check_smalltalk(path: Path, data: Mapping[str, Any]) -> list[Problem]:
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


def check_followups(path: Path, data: Mapping[str, Any]) -> list[Problem]:
    """Every word list is a list of text (YAML reads a bare "no" or "on" as a boolean)."""
    found = []
    for key in ("pointers", "replaceable", "openers", "more", "subject_words", "occupation_card",
                "occupation_related"):
        items = data.get(key)
        if not isinstance(items, list) or not all(isinstance(w, str) for w in items):
            found.append(Problem(path, f"'{key}' must be a list of quoted words"))
    return found
