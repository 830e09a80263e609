"""A local stand-in for the Skills England Occupational Maps API, plus realistic planted changes.

:class:`FakeMapsApi` is an aiohttp server on 127.0.0.1 (ephemeral port) serving ``/api/v1/Routes``
and ``/api/v1/Routes/{id}`` in the API's nested shape (pathways → clusterGroups → clusters →
occupations), built from any :class:`~bot.maps.model.OccupationMap`. Tests switch what it serves
(:meth:`FakeMapsApi.serve`) and how it fails (:attr:`FakeMapsApi.mode`). Use it as an async
context manager::

    async with FakeMapsApi(load_bundled_map()) as api:
        occupation_map = await fetch_api_map(client, api.base_url, api.api_key, 0)

:func:`plant_changes` makes the "modified copy": changes taken from the project's older public
data (IfATE's 2018 standards export, the DfE T Level tables) applied to the bundled snapshot,
with the change list a correct diff must report and some noise it must ignore.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Self

from aiohttp import web

from bot.maps.model import Occupation, OccupationMap, Product, Route
from bot.maps.parse import snapshot_lines

Mode = Literal[
    "ok", "unauthorized", "rate_limited", "server_error", "slow", "truncated", "empty_routes",
    "empty_route", "missing_route",
]
TECHNICAL_GROUPS = {2: "Technical", 3: "Technical", 4: "Higher technical", 5: "Higher technical"}


# --- the API's JSON shape --------------------------------------------------------------------


def api_occupation(o: Occupation, pathway: str, cluster: str, route: Route) -> dict[str, Any]:
    """One occupation as ``/Routes/{id}?expand=…`` nests it (with a few fields we must ignore)."""
    return {
        "stdCode": o.id,
        "name": o.title,
        "level": o.level,
        "status": o.status,
        "statusName": o.status_name,
        "versionNo": o.version,
        "overview": o.overview,
        "mapHierarchy": {
            "routeId": int(route.id) if route.id.isdigit() else route.id,
            "routeName": route.name,
            "pathwayName": pathway,
            "clusterName": cluster,
            "clusterGroupName": TECHNICAL_GROUPS.get(o.level, "Professional"),
        },
        "typicalJobTitles": [{"name": t, "id": i + 1} for i, t in enumerate(o.typical_job_titles)],
        "products": [
            {
                "productCode": p.code,
                "name": p.title,
                "level": p.level,
                "typeName": p.type,
                "statusName": p.status,
                "productId": 1000 + i,
            }
            for i, p in enumerate(o.products)
        ],
        "soc": {
            "soc2020Code": int(o.soc_code) if (o.soc_code or "").isdigit() else 0,
            "soc2010Code": 0,
        },
        "links": {"occupation": o.url},
        "greenTheme": None,
        "statusLastUpdated": "2026-09-01T00:00:00",
    }


def api_routes(occupation_map: OccupationMap) -> dict[str, dict[str, Any]]:
    """Every route's ``/Routes/{id}`` body, occupations placed in pathway/cluster groups."""
    routes = {r.id: r for r in occupation_map.routes}
    tree: dict[str, dict[str, dict[str, dict[str, list[Occupation]]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    )
    for o in occupation_map.values():
        route = routes.get(o.route_id or "") or Route(o.route_id or "?", o.route_name or "?")
        routes.setdefault(route.id, route)
        pathway = o.pathway or f"{route.name} pathway"
        group = TECHNICAL_GROUPS.get(o.level, "Professional")
        cluster = o.cluster or f"{route.name} level {o.level}"
        tree[route.id][pathway][group][cluster].append(o)
    bodies: dict[str, dict[str, Any]] = {}
    for route_id, pathways in tree.items():
        route = routes[route_id]
        bodies[route_id] = {
            "id": int(route_id) if route_id.isdigit() else route_id,
            "name": route.name,
            "pathways": [
                {
                    "name": pathway,
                    "clusterGroups": [
                        {
                            "name": group,
                            "clusters": [
                                {
                                    "name": cluster,
                                    "occupations": [
                                        api_occupation(o, pathway, cluster, route) for o in members
                                    ],
                                }
                                for cluster, members in clusters.items()
                            ],
                        }
                        for group, clusters in groups.items()
                    ],
                }
                for pathway, groups in pathways.items()
            ],
        }
    return bodies


# --- the server ------------------------------------------------------------------------------


@dataclass
class FakeMapsApi:
    """The fake API. ``mode`` picks a failure; ``failures`` limits it to the first N requests
    (None: every request); ``fail_route`` limits it to one route's detail call."""

    occupation_map: OccupationMap
    api_key: str = "test-key"
    mode: Mode = "ok"
    failures: int | None = None
    fail_route: str | None = None
    retry_after: str = "0"
    delay_s: float = 0.5
    requests: list[str] = field(default_factory=list)
    _bodies: dict[str, bytes] = field(default_factory=dict, repr=False)
    _runner: web.AppRunner | None = field(default=None, repr=False)
    _port: int = 0
    _failed: int = 0

    def __post_init__(self) -> None:
        self.serve(self.occupation_map)

    def serve(self, occupation_map: OccupationMap) -> None:
        """Switch to serving another map (e.g. a modified copy) and back to mode "ok"."""
        self.occupation_map = occupation_map
        self._bodies = {
            rid: json.dumps(body).encode() for rid, body in api_routes(occupation_map).items()
        }
        self.mode, self.failures, self.fail_route, self._failed = "ok", None, None, 0

    def fail(self, mode: Mode, *, failures: int | None = None, route: str | None = None) -> None:
        """Fail in ``mode`` (for the first ``failures`` matching requests, or always)."""
        self.mode, self.failures, self.fail_route, self._failed = mode, failures, route, 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/v1"

    @property
    def route_calls(self) -> Counter[str]:
        """How many times each route's detail was requested."""
        return Counter(
            p.split("/Routes/")[1].split("?")[0] for p in self.requests if "/Routes/" in p
        )

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/api/v1/Routes", self._route_list)
        app.router.add_get("/api/v1/Routes/{route_id}", self._route_detail)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- handlers ---

    def _failing(self, route_id: str | None) -> bool:
        if self.mode == "ok" or (self.fail_route is not None and route_id != self.fail_route):
            return False
        if self.failures is not None and self._failed >= self.failures:
            return False
        self._failed += 1
        return True

    async def _respond(
        self, request: web.Request, body: bytes, route_id: str | None
    ) -> web.Response:
        self.requests.append(str(request.rel_url))
        if request.headers.get("X-API-KEY") != self.api_key:
            return web.json_response(
                {"message": "Access denied due to missing or invalid key."}, status=401
            )
        if self._failing(route_id):
            if self.mode == "unauthorized":
                return web.json_response({"message": "Access denied."}, status=401)
            if self.mode == "rate_limited":
                return web.json_response(
                    {"message": "Rate limit is exceeded."},
                    status=429,
                    headers={"Retry-After": self.retry_after},
                )
            if self.mode == "server_error":
                return web.Response(status=500, text="Internal Server Error")
            if self.mode == "slow":
                await asyncio.sleep(self.delay_s)
            if self.mode == "truncated":
                body = body[: len(body) // 2]
            if self.mode == "empty_routes" and route_id is None:
                body = b"[]"
            if self.mode == "empty_route" and route_id is not None:
                # 200 OK, the route itself, and no occupations at all.
                body = json.dumps({**json.loads(body), "pathways": []}).encode()
        return web.Response(body=body, content_type="application/json")

    async def _route_list(self, request: web.Request) -> web.Response:
        routes = {r.id: r for r in self.occupation_map.routes}
        summaries = [
            {
                "id": int(rid) if rid.isdigit() else rid,
                "name": routes[rid].name if rid in routes else rid,
                # The API sends links as an array of {rel, href, title}.
                "links": [{"rel": "route", "href": routes[rid].url, "title": "Route map"}]
                if rid in routes and routes[rid].url else [],
            }
            for rid in sorted(self._bodies, key=lambda r: (len(r), r))
            if not (self.mode == "missing_route" and rid == self.fail_route)
        ]
        return await self._respond(request, json.dumps(summaries).encode(), None)

    async def _route_detail(self, request: web.Request) -> web.Response:
        route_id = request.match_info["route_id"]
        body = self._bodies.get(route_id)
        if body is None:
            self.requests.append(str(request.rel_url))
            return web.json_response({"message": "Not found"}, status=404)
        return await self._respond(request, body, route_id)


# --- planted changes -------------------------------------------------------------------------

POWER_NETWORK_CRAFTSPERSON = Occupation(
    # ST0156 in IfATE's 2018 export (level 3, Engineering and manufacturing); not on the 2026 maps.
    # Overview, SOC code and job titles are written for the test.
    id="OCC0156",
    title="Power network craftsperson",
    overview="Install, maintain and repair the overhead lines and underground cables of the grid.",
    level=3,
    route_id="8",
    route_name="Engineering and manufacturing",
    status=1,
    status_name="Approved occupation",
    version="1.0",
    soc_code="5249",
    typical_job_titles=("Cable jointer", "Overhead linesperson", "Substation fitter"),
    products=(
        Product(
            "ST0156", "Power network craftsperson", 3, "Apprenticeship", "Approved for delivery"
        ),
    ),
)
ELECTROTECHNICAL_T_LEVEL = Product(
    # DfE T Level tables: Building Services Engineering, specialism "Electrotechnical Engineering".
    "TL0002f",
    "Building services engineering for construction - Electrotechnical engineering",
    3,
    "TLevel",
    None,
)


@dataclass(frozen=True)
class PlantedChanges:
    """The modified map and the change list JSON a correct diff reports for it."""

    modified: OccupationMap
    added: list[str]
    removed: list[str]
    changed: dict[str, dict[str, Any]]


def plant_changes(base: OccupationMap) -> PlantedChanges:
    """A re-levelled, a moved, a T Level added, a retired and a new occupation, plus noise.

    - OCC0469 Bookbinder: level 2 → 3 (IfATE's 2018 export had ST0469 at level 3).
    - OCC0315 Railway engineering design technician: Engineering and manufacturing →
      Construction and the built environment (its route in the 2018 export).
    - OCC1017 Domestic electrician: gains the Electrotechnical engineering T Level (TL0002f).
    - OCC0016 Packhouse line leader: retired (its ST0016 apprenticeship already is).
    - OCC0156 Power network craftsperson: new (a 2018 standard missing from the 2026 maps).
    Noise that is not a change: job titles re-ordered and re-cased/re-spaced, products re-ordered.
    """
    occupations = dict(base)
    occupations["OCC0469"] = replace(occupations["OCC0469"], level=3)
    occupations["OCC0315"] = replace(
        occupations["OCC0315"], route_id="5", route_name="Construction and the built environment"
    )
    electrician = occupations["OCC1017"]
    occupations["OCC1017"] = replace(
        electrician, products=(*electrician.products, ELECTROTECHNICAL_T_LEVEL)
    )
    occupations["OCC0016"] = replace(occupations["OCC0016"], status=5, status_name="Retired")
    occupations["OCC0156"] = POWER_NETWORK_CRAFTSPERSON
    # noise
    handler = occupations["OCC0397A"]
    occupations["OCC0397A"] = replace(
        handler, typical_job_titles=tuple(reversed(handler.typical_job_titles))
    )
    breeder = occupations["OCC0397B"]
    occupations["OCC0397B"] = replace(
        breeder,
        typical_job_titles=tuple(
            f"  {t.upper()}  " if i == 0 else t for i, t in enumerate(breeder.typical_job_titles)
        ),
    )
    installer = occupations["OCC0152"]
    occupations["OCC0152"] = replace(installer, products=tuple(reversed(installer.products)))
    modified = OccupationMap.of(occupations.values(), base.routes, base.retrieved_at)
    return PlantedChanges(
        modified=modified,
        added=["OCC0156"],
        removed=["OCC0016"],
        changed={
            "OCC0315": {
                "route": ["Engineering and manufacturing", "Construction and the built environment"]
            },
            "OCC0469": {"level": [2, 3]},
            "OCC1017": {
                "products_added": [
                    {
                        "code": "TL0002f",
                        "title": ELECTROTECHNICAL_T_LEVEL.title,
                        "level": 3,
                        "type": "TLevel",
                        "status": None,
                    }
                ]
            },
        },
    )


def without(occupation_map: OccupationMap, ids: Iterable[str]) -> OccupationMap:
    """The map minus some occupations (a pull where they are absent)."""
    gone = set(ids)
    return OccupationMap.of(
        (o for o in occupation_map.values() if o.id not in gone), occupation_map.routes
    )


def write_snapshot(occupation_map: OccupationMap, path: Path) -> Path:
    """Write a map as a JSONL snapshot file (the ``--source FILE`` format)."""
    path.write_text("\n".join(snapshot_lines(occupation_map)) + "\n", encoding="utf-8")
    return path
