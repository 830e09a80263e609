"""Skills England's occupational maps as plain, frozen data, and the two formats they arrive in.

The bot compares maps pulled months apart, so everything here is immutable and canonical: an
:class:`OccupationMap` hashes the same however its source ordered occupations, products or job
titles (:meth:`OccupationMap.content_hash`), which is what lets an unchanged pull create nothing.

Errors (all importable from here)::

    MapsError                       anything that stops the bot getting a usable map
    ├── MapsDataError               the data arrived but cannot be used as a map
    │   ├── RecordError             one record is unusable; the message names it (line/route/id)
    │   │   └── MissingFieldError   …because a required field is missing or empty
    │   └── EmptyMapError           nothing usable in it (empty file, empty route list)
    └── MapsSourceError             the data could not be fetched (network, HTTP status, size)
        └── MissingApiKeyError      no API key configured; says how to request one
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from bot.config import DEFAULT_KNOWLEDGE_DIR

BUNDLED_DIR = DEFAULT_KNOWLEDGE_DIR / "maps"
SNAPSHOT_GLOB = "occupational-maps-*.jsonl"
PUBLIC_SITE = "https://occupational-maps.skillsengland.education.gov.uk"
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0. "
    "© Skills England."
)
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


# --- errors ---------------------------------------------------------------------------------


class MapsError(Exception):
    """Base for everything that stops the bot getting a usable occupational map."""


class MapsDataError(MapsError):
    """The data arrived but is not a usable map; a refresh refuses it and keeps the current one."""


class RecordError(MapsDataError):
    """One record cannot be used; ``record`` says where it is (line number, route, id)."""

    def __init__(self, record: str, problem: str) -> None:
        super().__init__(f"{record}: {problem}")
        self.record = record
        self.problem = problem


class MissingFieldError(RecordError):
    """A required field (id, title, level or route) is missing or empty."""

    def __init__(self, record: str, field_name: str) -> None:
        super().__init__(record, f"missing required field '{field_name}'")
        self.field_name = field_name


class EmptyMapError(MapsDataError):
    """The data parsed but held no occupations (an empty file or route list)."""


class MapsSourceError(MapsError):
    """The map could not be fetched; the message says what to do about it."""


class MissingApiKeyError(MapsSourceError):
    """No Skills England API key is configured."""


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """What you can study for an occupation: an apprenticeship (ST…), T Level (TL…), HTQ, TQ."""

    code: str | None
    title: str
    level: int | None = None
    type: str | None = None
    status: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """Products are the same product when code (or title, if uncoded) and type match."""
        return (fold_text(self.code or self.title), fold_text(self.type or ""))


@dataclass(frozen=True)
class Occupation:
    """One occupation on the maps, as of one pull."""

    id: str
    title: str
    overview: str
    level: int
    route_id: str | None
    route_name: str | None
    pathway: str | None = None
    cluster: str | None = None
    status: int | None = None
    status_name: str | None = None
    version: str | None = None
    soc_code: str | None = None
    typical_job_titles: tuple[str, ...] = ()
    products: tuple[Product, ...] = ()
    # When the source last changed the status (``statusLastUpdated``), if it says. Bookkeeping,
    # not content: left out of equality and of the content hash, so a new date alone is no change.
    status_updated: str | None = field(default=None, compare=False)

    @property
    def standard(self) -> str:
        """The standard's name: the title before " - Option" ("Plumbing and domestic heating
        technician" for each of its options)."""
        return self.title.partition(" - ")[0]

    @property
    def option(self) -> str:
        """The option after " - " in the title ("Non-domestic plumbing technician"), or ""."""
        return self.title.partition(" - ")[2]

    @property
    def url(self) -> str:
        """The occupation's public page on the maps (cards link here)."""
        return f"{PUBLIC_SITE}/maps/occupation/{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict in this module's own field names (what the store keeps)."""
        return {
            "id": self.id,
            "title": self.title,
            "overview": self.overview,
            "level": self.level,
            "route_id": self.route_id,
            "route_name": self.route_name,
            "pathway": self.pathway,
            "cluster": self.cluster,
            "status": self.status,
            "status_name": self.status_name,
            "version": self.version,
            "soc_code": self.soc_code,
            "typical_job_titles": list(self.typical_job_titles),
            "products": [
                {
                    "code": p.code,
                    "title": p.title,
                    "level": p.level,
                    "type": p.type,
                    "status": p.status,
                }
                for p in self.products
            ],
            "status_updated": self.status_updated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Occupation:
        """The inverse of :meth:`to_dict` (trusted input: the store wrote it)."""
        return cls(
            id=data["id"],
            title=data["title"],
            overview=data.get("overview") or "",
            level=int(data["level"]),
            route_id=data.get("route_id"),
            route_name=data.get("route_name"),
            pathway=data.get("pathway"),
            cluster=data.get("cluster"),
            status=data.get("status"),
            status_name=data.get("status_name"),
            version=data.get("version"),
            soc_code=data.get("soc_code"),
            typical_job_titles=tuple(data.get("typical_job_titles") or ()),
            products=tuple(Product(**p) for p in data.get("products") or ()),
            status_updated=data.get("status_updated"),
        )

    def canonical(self) -> dict[str, Any]:
        """:meth:`to_dict` with products and job titles sorted: the form that is hashed."""
        data = self.to_dict()
        del data["status_updated"]
        data["typical_job_titles"] = sorted(self.typical_job_titles)
        data["products"] = sorted(data["products"], key=lambda p: json.dumps(p, sort_keys=True))
        return data


@dataclass(frozen=True)
class Route:
    """One of the 15 routes; ``url`` is its public map page when known."""

    id: str
    name: str
    url: str | None = None


def _route_sort_key(route: Route) -> tuple[int, str]:
    return (int(route.id) if route.id.isdigit() else 10_000, route.name)


@dataclass(frozen=True)
class OccupationMap(Mapping[str, Occupation]):
    """All occupations of one pull, by id, plus the routes they sit on.

    Build with :meth:`of`; ``retrieved_at`` is when the source published or served the data, when
    known (ISO 8601).
    """

    occupations: Mapping[str, Occupation]
    routes: tuple[Route, ...] = ()
    retrieved_at: str | None = None

    @classmethod
    def of(
        cls,
        occupations: Iterable[Occupation],
        routes: Iterable[Route] = (),
        retrieved_at: str | None = None,
    ) -> OccupationMap:
        """A map from occupations (ids must be unique) and routes; missing routes are derived."""
        by_id: dict[str, Occupation] = {}
        for occupation in occupations:
            if occupation.id in by_id:
                raise RecordError(occupation.id, "occupation listed twice")
            by_id[occupation.id] = occupation
        known = {r.id: r for r in routes}
        for occupation in by_id.values():
            rid = occupation.route_id or occupation.route_name
            if rid and rid not in known:
                known[rid] = Route(rid, occupation.route_name or rid)
        ordered = dict(sorted(by_id.items()))
        return cls(ordered, tuple(sorted(known.values(), key=_route_sort_key)), retrieved_at)

    def __getitem__(self, key: str) -> Occupation:
        return self.occupations[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.occupations)

    def __len__(self) -> int:
        return len(self.occupations)

    def route(self, route_id: str) -> Route | None:
        """The route with this id, if the map has it."""
        return next((r for r in self.routes if r.id == route_id), None)

    def content_hash(self) -> str:
        """SHA-256 of the occupations in canonical order: equal for equal content, however sent.

        Routes are left out on purpose: their URLs are known for the bundled snapshot but not for
        every source, and a route's name already shows in each of its occupations.
        """
        return self._content_hash

    @cached_property
    def _content_hash(self) -> str:
        digest = hashlib.sha256()
        for occupation_id in sorted(self.occupations):
            canonical = self.occupations[occupation_id].canonical()
            digest.update(json.dumps(canonical, sort_keys=True, ensure_ascii=False).encode())
            digest.update(b"\n")
        return digest.hexdigest()

    def with_route_urls(self, routes: Iterable[Route]) -> OccupationMap:
        """This map with blank route URLs filled in from another map's routes (same ids)."""
        urls = {r.id: r.url for r in routes if r.url}
        filled = tuple(
            r if r.url or r.id not in urls else replace(r, url=urls[r.id]) for r in self.routes
        )
        return OccupationMap(self.occupations, filled, self.retrieved_at)


def fold_text(text: str) -> str:
    """Whitespace collapsed and case folded: the form in which two spellings are "the same"."""
    return _SPACES.sub(" ", text).strip().casefold()
