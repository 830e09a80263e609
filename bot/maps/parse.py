"""Reading occupational maps from the two formats they arrive in, and the bundled snapshot.

Formats
- JSONL snapshot (:func:`parse_snapshot_lines`): one occupation per line with ``id``, ``title``,
  ``overview``, ``level``, ``routeId``, ``routeName``, ``soc2020``, ``typicalJobTitles``,
  ``products`` (``id``/``title``/``level``/``type``/``status``), ``status``, ``statusName``,
  ``version``, ``statusLastUpdated``. This is the bundled snapshot's format (``knowledge/maps/``).
- Occupational Maps API route (:func:`parse_api_route`): ``GET /Routes/{id}?expand=…`` nests
  occupations under ``pathways[].clusterGroups[].clusters[].occupations[]`` with ``stdCode``,
  ``name``, ``level``, ``status``, ``statusName``, ``statusLastUpdated``, ``versionNo``,
  ``overview``, ``mapHierarchy`` (``routeName``, ``pathwayName``, ``clusterName``…),
  ``typicalJobTitles[{name}]``, ``products[{productCode, name, level, typeName, statusName}]``
  and ``soc``.

Parsing is defensive because the source changes without notice: unknown fields are ignored,
missing optional ones become ``None`` or empty, and a record without a required field (id, title,
level, route) stops the parse with an error naming the record, so a broken pull is refused rather
than stored. An occupation listed twice (the API can place one in two clusters) is merged: the
first occurrence wins and later ones only fill its blanks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.maps.model import (
    BUNDLED_DIR,
    PUBLIC_SITE,
    SNAPSHOT_GLOB,
    EmptyMapError,
    MissingFieldError,
    Occupation,
    OccupationMap,
    Product,
    RecordError,
    Route,
    fold_text,
)

_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


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
        status_updated=_text(data.get("statusLastUpdated")),
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
    names: dict[str, str] = {r.id: r.name for r in routes}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = f"line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordError(record, f"not valid JSON (truncated?): {exc.msg}") from None
        occupation = _occupation(data, record)
        # One route, one name: a row that disagrees would be reported as two routes later.
        if occupation.route_id and occupation.route_name:
            known = names.setdefault(occupation.route_id, occupation.route_name)
            if fold_text(known) != fold_text(occupation.route_name):
                raise RecordError(record, f"route {occupation.route_id} is called "
                                          f"'{occupation.route_name}' here but '{known}' elsewhere")
        occupations.append(occupation)
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
            "statusLastUpdated": o.status_updated,
        }
        yield json.dumps(record, ensure_ascii=False)


def route_of(route_json: Mapping[str, Any]) -> Route:
    """The route itself from a ``/Routes`` or ``/Routes/{id}`` object."""
    rid = _text(_first(route_json, "id", "routeId", "routeCode"))
    name = _text(_first(route_json, "name", "routeName"))
    if not rid:
        raise MissingFieldError(f"route {name or '?'}", "id")
    url = _route_link(route_json.get("links"))
    return Route(rid, name or rid, url if url and url.startswith(PUBLIC_SITE) else None)


def _route_link(links: Any) -> str | None:
    """The route's public map page from ``links``: the API sends an array of
    ``{rel, href, title}``; an older shape was an object keyed by name."""
    if isinstance(links, dict):
        return _text(_first(links, "route", "publicUrl", "mapURL"))
    for link in _items(links):
        if isinstance(link, dict) and str(link.get("rel", "")).casefold() in (
                "route", "self", "publicurl", "mapurl", "map"):
            href = _text(link.get("href"))
            if href and href.startswith(PUBLIC_SITE):
                return href
    return None


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


def bundled_routes(maps_dir: Path = BUNDLED_DIR) -> list[Route]:
    """The 15 routes shipped in ``knowledge/maps/routes.json``."""
    routes, _ = parse_routes_file(json.loads((maps_dir / "routes.json").read_text(encoding="utf-8")))
    return routes
