"""Skills England's occupational maps as plain, frozen data, and the two formats they arrive in.

The bot compares maps pulled months apart, so everything here is immutable and canonical: an
:class:`OccupationMap` hashes the same however its source ordered occupations, products or job
titles (:meth:`OccupationMap.content_hash`), which is what lets an unchanged pull create nothing.

Formats
- JSONL snapshot (:func:`parse_snapshot_lines`): one occupation per line with ``id``, ``title``,
  ``overview``, ``level``, ``routeId``, ``routeName``, ``soc2020``, ``typicalJobTitles``,
  ``products`` (``id``/``title``/``level``/``type``/``status``), ``status``, ``statusName``,
  ``version``. This is the bundled snapshot's format (``knowledge/maps/``).
- Occupational Maps API route (:func:`parse_api_route`): ``GET /Routes/{id}?expand=…`` nests
  occupations under ``pathways[].clusterGroups[].clusters[].occupations[]`` with ``stdCode``,
  ``name``, ``level``, ``status``, ``statusName``, ``versionNo``, ``overview``, ``mapHierarchy``
  (``routeName``, ``pathwayName``, ``clusterName``…), ``typicalJobTitles[{name}]``,
  ``products[{productCode, name, level, typeName, statusName}]`` and ``soc``.

Parsing is defensive because the source changes without notice: unknown fields are ignored,
missing optional ones become ``None`` or empty, and a record without a required field (id, title,
level, route) stops the parse with an error naming the record, so a broken pull is refused rather
than stored. An occupation listed twice (the API can place one in two clusters) is merged: the
first occurrence wins and later ones only fill its blanks.

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
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
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
        )

    def canonical(self) -> dict[str, Any]:
        """:meth:`to_dict` with products and job titles sorted: the form that is hashed."""
        data = self.to_dict()
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


# --- parsing helpers -------------------------------------------------------------------------


def fold_text(text: str) -> str:
    """Whitespace collapsed and case folded: the form in which two spellings are "the same"."""
    return _SPACES.sub(" ", text).strip().casefold()


def _text(value: Any) -> str | None:
    """Trimmed text, or None for null/empty/non-scalar values."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    return text or None


def _int(value: Any) -> int | None:
    """An integer from 3, 3.0, "3" or "Level 3"; None when there is none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    match = _DIGITS.search(str(value))
    return int(match.group()) if match else None


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _first(data: Mapping[str, Any], *keys: str) -> Any:
    """The first present, non-null value among alternative spellings of a field."""
    for key in keys:
        value = data.get(key)
        if value is not None and value != "":
            return value
    return None


def _job_titles(value: Any) -> tuple[str, ...]:
    """Job titles from strings or ``{"name": …}`` objects, deduplicated ignoring case/spaces."""
    seen: dict[str, str] = {}
    for item in _items(value):
        raw = _first(item, "name", "title") if isinstance(item, dict) else item
        text = _text(raw)
        if text:
            seen.setdefault(fold_text(text), text)
    return tuple(seen.values())


def _products(value: Any) -> tuple[Product, ...]:
    products: dict[tuple[str, str], Product] = {}
    for item in _items(value):
        if not isinstance(item, dict):
            continue
        code = _text(_first(item, "productCode", "id", "code", "larsCode"))
        title = _text(_first(item, "name", "title")) or code
        if not title:
            continue
        product = Product(
            code=code,
            title=title,
            level=_int(item.get("level")),
            type=_text(_first(item, "typeName", "type", "productType")),
            status=_text(_first(item, "statusName", "status")),
        )
        products.setdefault(product.key, product)
    return tuple(products.values())


def _soc_code(data: Mapping[str, Any]) -> str | None:
    """The SOC 2020 code from any of the shapes seen; 0 means "not available"."""
    candidates: list[Any] = []
    for key in ("soc2020", "soc"):
        value = data.get(key)
        candidates.extend(value if isinstance(value, list) else [value])
    for soc in candidates:
        if isinstance(soc, dict):
            version = str(_first(soc, "version", "socVersion", "type") or "")
            if "2010" in version:
                continue
            code = _first(soc, "soc2020Code", "code", "socCode")
        else:
            code = soc
        text = _text(code)
        if text and text != "0":
            return text
    return _text(_first(data, "socCode2020", "soc2020Code"))


def _required(record: str, name: str, value: Any) -> Any:
    if value is None or value == "":
        raise MissingFieldError(record, name)
    return value


def _occupation(
    data: Any,
    record: str,
    *,
    route_id: str | None = None,
    route_name: str | None = None,
    pathway: str | None = None,
    cluster: str | None = None,
) -> Occupation:
    """One occupation from either format; ``route_*``/``pathway``/``cluster`` are fallbacks."""
    if not isinstance(data, dict):
        raise RecordError(record, f"expected an object, got {type(data).__name__}")
    occupation_id = _text(_first(data, "id", "stdCode", "standardCode"))
    record = f"{record} ({occupation_id})" if occupation_id else record
    _required(record, "id", occupation_id)
    title = _required(record, "title", _text(_first(data, "title", "name")))
    raw_level = data.get("level")
    level = _int(raw_level)
    _required(record, "level", raw_level)
    if level is None or not 1 <= level <= 8:
        raise RecordError(record, f"level {raw_level!r} is not a level from 1 to 8")
    hierarchy = _first(data, "mapHierarchy", "maphierarchy") or {}
    if not isinstance(hierarchy, dict):
        hierarchy = {}

    def placed(key: str, fallback: str | None) -> str | None:
        """Where the occupation sits: its own field, then ``mapHierarchy``, then the nesting."""
        return _text(data.get(key)) or _text(hierarchy.get(key)) or fallback

    rid = placed("routeId", route_id)
    rname = placed("routeName", route_name)
    _required(record, "route", rid or rname)
    return Occupation(
        id=str(occupation_id),
        title=str(title),
        overview=_text(data.get("overview")) or "",
        level=level,
        route_id=rid,
        route_name=rname,
        pathway=placed("pathwayName", pathway),
        cluster=placed("clusterName", cluster),
        status=_int(data.get("status")),
        status_name=_text(data.get("statusName")),
        version=_text(_first(data, "version", "versionNo")),
        soc_code=_soc_code(data),
        typical_job_titles=_job_titles(_first(data, "typicalJobTitles", "typicaljobtitles")),
        products=_products(data.get("products")),
    )


def _merge(first: Occupation, later: Occupation) -> Occupation:
    """``first`` with its blank fields filled from a later listing of the same occupation."""
    updates: dict[str, Any] = {}
    for name in first.__dataclass_fields__:
        value = getattr(first, name)
        if value in (None, "", ()) and getattr(later, name) not in (None, "", ()):
            updates[name] = getattr(later, name)
    return replace(first, **updates) if updates else first


def _dedupe(occupations: Iterable[Occupation]) -> list[Occupation]:
    merged: dict[str, Occupation] = {}
    for occupation in occupations:
        previous = merged.get(occupation.id)
        merged[occupation.id] = occupation if previous is None else _merge(previous, occupation)
    return list(merged.values())


# --- the two formats -------------------------------------------------------------------------


def parse_snapshot_lines(
    lines: Iterable[str], routes: Iterable[Route] = (), retrieved_at: str | None = None
) -> OccupationMap:
    """A map from JSONL lines (blank lines skipped); a bad line raises naming its line number."""
    occupations: list[Occupation] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = f"line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordError(record, f"not valid JSON (truncated?): {exc.msg}") from None
        occupations.append(_occupation(data, record))
    if not occupations:
        raise EmptyMapError("the snapshot has no occupations")
    return OccupationMap.of(_dedupe(occupations), routes, retrieved_at)


def snapshot_lines(occupation_map: Iterable[Occupation] | OccupationMap) -> Iterator[str]:
    """The JSONL snapshot format for a map (what :func:`parse_snapshot_lines` reads back)."""
    values = (
        occupation_map.values() if isinstance(occupation_map, OccupationMap) else occupation_map
    )
    for o in values:
        record = {
            "id": o.id,
            "title": o.title,
            "overview": o.overview,
            "level": o.level,
            "routeId": o.route_id,
            "routeName": o.route_name,
            "pathwayName": o.pathway,
            "clusterName": o.cluster,
            "soc2020": {"code": o.soc_code} if o.soc_code else None,
            "typicalJobTitles": list(o.typical_job_titles),
            "products": [
                {
                    "id": p.code,
                    "title": p.title,
                    "level": p.level,
                    "type": p.type,
                    "status": p.status,
                }
                for p in o.products
            ],
            "status": o.status,
            "statusName": o.status_name,
            "version": o.version,
        }
        yield json.dumps(record, ensure_ascii=False)


def route_of(route_json: Mapping[str, Any]) -> Route:
    """The route itself from a ``/Routes`` or ``/Routes/{id}`` object."""
    rid = _text(_first(route_json, "id", "routeId", "routeCode"))
    name = _text(_first(route_json, "name", "routeName"))
    if not rid:
        raise MissingFieldError(f"route {name or '?'}", "id")
    links = route_json.get("links")
    url = _text(_first(links, "route", "publicUrl", "mapURL")) if isinstance(links, dict) else None
    return Route(rid, name or rid, url if url and url.startswith(PUBLIC_SITE) else None)


def parse_api_route(route_json: Any) -> list[Occupation]:
    """Occupations of one ``/Routes/{id}`` response, with pathway and cluster from the nesting."""
    if not isinstance(route_json, dict):
        raise RecordError("route", f"expected an object, got {type(route_json).__name__}")
    route = route_of(route_json)
    where = f"route {route.id}"
    found: list[Occupation] = []
    for pathway in _items(route_json.get("pathways")):
        if not isinstance(pathway, dict):
            continue
        pathway_name = _text(_first(pathway, "name", "pathwayName"))
        for group in _items(pathway.get("clusterGroups")):
            if not isinstance(group, dict):
                continue
            for cluster in _items(group.get("clusters")):
                if not isinstance(cluster, dict):
                    continue
                cluster_name = _text(_first(cluster, "name", "clusterName"))
                for index, data in enumerate(_items(cluster.get("occupations"))):
                    found.append(
                        _occupation(
                            data,
                            f"{where}, cluster {cluster_name or '?'}, occupation {index + 1}",
                            route_id=route.id,
                            route_name=route.name,
                            pathway=pathway_name,
                            cluster=cluster_name,
                        )
                    )
    return _dedupe(found)


def map_from_api_routes(
    route_jsons: Iterable[Any], retrieved_at: str | None = None
) -> OccupationMap:
    """One map from every route's ``/Routes/{id}`` response."""
    routes: list[Route] = []
    occupations: list[Occupation] = []
    for route_json in route_jsons:
        occupations.extend(parse_api_route(route_json))
        routes.append(route_of(route_json))
    if not occupations:
        raise EmptyMapError("the API returned no occupations")
    return OccupationMap.of(_dedupe(occupations), routes, retrieved_at)


def parse_routes_file(data: Mapping[str, Any]) -> tuple[list[Route], str | None]:
    """Routes and retrieval time from the bundled ``routes.json``."""
    routes = [
        Route(str(r["id"]), str(r["name"]), _text(r.get("sourceUrl")))
        for r in _items(data.get("routes"))
        if isinstance(r, dict) and r.get("id") and r.get("name")
    ]
    return routes, _text(data.get("retrievedAt"))


def bundled_snapshot_path(maps_dir: Path = BUNDLED_DIR) -> Path:
    """The newest bundled JSONL snapshot (names carry the date, so the last sorts newest)."""
    paths = sorted(maps_dir.glob(SNAPSHOT_GLOB))
    if not paths:
        raise EmptyMapError(f"no {SNAPSHOT_GLOB} in {maps_dir}")
    return paths[-1]


def load_bundled_map(maps_dir: Path = BUNDLED_DIR) -> OccupationMap:
    """The snapshot shipped in ``knowledge/maps/``, with route URLs and its retrieval date."""
    routes: list[Route] = []
    retrieved_at: str | None = None
    routes_path = maps_dir / "routes.json"
    if routes_path.exists():
        routes, retrieved_at = parse_routes_file(
            json.loads(routes_path.read_text(encoding="utf-8"))
        )
    with bundled_snapshot_path(maps_dir).open(encoding="utf-8") as lines:
        return parse_snapshot_lines(lines, routes, retrieved_at)
