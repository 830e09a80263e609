"""Reading occupational maps: the bundled JSONL snapshot and the API's nested route format."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest

from bot.maps.model import (
    ATTRIBUTION,
    EmptyMapError,
    MapsDataError,
    MapsError,
    MapsSourceError,
    MissingApiKeyError,
    MissingFieldError,
    OccupationMap,
    RecordError,
)
from bot.maps.parse import (
    map_from_api_routes,
    parse_api_route,
    parse_snapshot_lines,
    snapshot_lines,
)
from tests.fake_maps_api import api_routes

MINIMAL = {"id": "OCC9001", "title": "Test technician", "level": 3, "routeId": "8"}


def line(**fields: Any) -> str:
    return json.dumps({**MINIMAL, **fields})


def api_route(
    *occupations: dict[str, Any], route_id: int = 8, name: str = "Engineering and manufacturing"
) -> dict[str, Any]:
    return {
        "id": route_id,
        "name": name,
        "pathways": [
            {
                "name": "Engineering and manufacturing",
                "clusterGroups": [
                    {
                        "name": "Technical",
                        "clusters": [{"name": "Maintenance", "occupations": list(occupations)}],
                    }
                ],
            }
        ],
    }


API_OCCUPATION = {
    "stdCode": "OCC0152",
    "name": "Installation and maintenance electrician",
    "level": 3,
    "status": 1,
    "statusName": "Approved occupation",
    "versionNo": 1.2,
    "overview": "Install and maintain electrical systems.",
    "mapHierarchy": {
        "routeName": "Construction and the built environment",
        "pathwayName": "Building services engineering",
        "clusterName": "Electrical",
    },
    "typicalJobTitles": [{"name": "Electrician"}, {"name": "Electrical installer"}],
    "products": [
        {
            "productCode": "ST0152",
            "name": "Installation and maintenance electrician",
            "level": 3,
            "typeName": "Apprenticeship",
            "statusName": "Approved for delivery",
        },
        {
            "productCode": "TL0002f",
            "name": "Building services engineering for construction - Electrotechnical engineering",
            "level": 3,
            "typeName": "TLevel",
            "statusName": None,
        },
    ],
    "soc": {"soc2020Code": 5241},
    "somethingNew": {"nested": [1, 2, 3]},
}


# --- the bundled snapshot ---


def test_bundled_snapshot_has_every_occupation_and_the_15_routes(bundled: OccupationMap) -> None:
    assert len(bundled) == 1287
    assert len(bundled.routes) == 15
    assert all(
        r.url
        and r.url.startswith("https://occupational-maps.skillsengland.education.gov.uk/maps/route/")
        for r in bundled.routes
    )


def test_bundled_snapshot_records_its_retrieval_date(bundled: OccupationMap) -> None:
    assert bundled.retrieved_at == "2026-09-11T13:08:18+00:00"


def test_snapshot_record_keeps_products_job_titles_and_soc(bundled: OccupationMap) -> None:
    handler = bundled["OCC0397A"]
    assert handler.level == 2 and handler.route_id == "1"
    assert [(p.code, p.type) for p in handler.products] == [
        ("ST0397", "Apprenticeship"),
        ("TL0021a", "TLevel"),
    ]
    assert handler.products[1].status is None
    assert "zoo keeper assistant" in handler.typical_job_titles
    assert handler.soc_code == "6129"


def test_occupation_url_is_its_public_map_page(bundled: OccupationMap) -> None:
    assert (
        bundled["OCC0116"].url
        == "https://occupational-maps.skillsengland.education.gov.uk/maps/occupation/OCC0116"
    )


def test_attribution_names_the_licence_and_skills_england() -> None:
    assert ATTRIBUTION == (
        "Contains public sector information licensed under the Open Government Licence v3.0. "
        "© Skills England."
    )


# --- defensive parsing of the JSONL format ---


def test_unknown_fields_are_ignored() -> None:
    parsed = parse_snapshot_lines([line(greenTheme="Mid Green", progression={"to": ["OCC0001"]})])
    assert parsed["OCC9001"].title == "Test technician"


def test_missing_optional_fields_are_tolerated() -> None:
    occupation = parse_snapshot_lines([line()])["OCC9001"]
    assert (occupation.overview, occupation.typical_job_titles, occupation.products) == ("", (), ())
    assert occupation.status is None and occupation.soc_code is None and occupation.pathway is None


@pytest.mark.parametrize("missing", ["id", "title", "level", "routeId"])
def test_missing_required_field_is_reported_naming_the_record(missing: str) -> None:
    record = {k: v for k, v in MINIMAL.items() if k != missing}
    with pytest.raises(MissingFieldError) as error:
        parse_snapshot_lines([line(id="OCC0001"), json.dumps(record)])
    assert error.value.record.startswith("line 2")
    assert error.value.field_name == {"routeId": "route"}.get(missing, missing)


def test_route_name_alone_is_enough_for_the_route() -> None:
    record = {"id": "OCC9001", "title": "T", "level": 3, "routeName": "Digital"}
    assert parse_snapshot_lines([json.dumps(record)])["OCC9001"].route_name == "Digital"


def test_truncated_line_is_reported_with_its_line_number() -> None:
    with pytest.raises(RecordError, match=r"line 2: not valid JSON"):
        parse_snapshot_lines([line(), line(id="OCC9002")[:40]])


@pytest.mark.parametrize("level", [0, 9, "advanced"])
def test_level_must_be_a_level_from_1_to_8(level: object) -> None:
    with pytest.raises(RecordError, match="level"):
        parse_snapshot_lines([line(level=level)])


def test_level_written_as_text_is_read() -> None:
    assert parse_snapshot_lines([line(level="Level 4")])["OCC9001"].level == 4


def test_empty_snapshot_is_an_empty_map_error() -> None:
    with pytest.raises(EmptyMapError):
        parse_snapshot_lines(["", "  "])


def test_job_titles_differing_only_in_case_or_spaces_are_kept_once() -> None:
    parsed = parse_snapshot_lines(
        [line(typicalJobTitles=["Electrician", " electrician ", "ELECTRICIAN"])]
    )
    assert parsed["OCC9001"].typical_job_titles == ("Electrician",)


def test_snapshot_lines_read_back_to_the_same_map(bundled: OccupationMap) -> None:
    assert parse_snapshot_lines(snapshot_lines(bundled)).content_hash() == bundled.content_hash()


# --- the API format ---


def test_api_route_nesting_gives_pathway_and_cluster() -> None:
    (occupation,) = parse_api_route(api_route(API_OCCUPATION))
    assert (occupation.pathway, occupation.cluster) == (
        "Building services engineering",
        "Electrical",
    )


def test_api_fields_map_onto_the_occupation() -> None:
    (o,) = parse_api_route(api_route(API_OCCUPATION))
    assert (o.id, o.title, o.level, o.status, o.status_name, o.version) == (
        "OCC0152",
        "Installation and maintenance electrician",
        3,
        1,
        "Approved occupation",
        "1.2",
    )
    assert o.route_name == "Construction and the built environment" and o.route_id == "8"
    assert o.typical_job_titles == ("Electrician", "Electrical installer")
    assert [(p.code, p.type, p.status) for p in o.products] == [
        ("ST0152", "Apprenticeship", "Approved for delivery"),
        ("TL0002f", "TLevel", None),
    ]
    assert o.soc_code == "5241"


def test_api_soc_code_zero_means_unavailable() -> None:
    (o,) = parse_api_route(api_route({**API_OCCUPATION, "soc": {"soc2020Code": 0}}))
    assert o.soc_code is None


def test_api_occupation_without_hierarchy_takes_the_enclosing_route_and_cluster() -> None:
    bare = {k: v for k, v in API_OCCUPATION.items() if k != "mapHierarchy"}
    (o,) = parse_api_route(api_route(bare))
    assert (o.route_id, o.route_name, o.cluster) == (
        "8",
        "Engineering and manufacturing",
        "Maintenance",
    )


def test_api_occupation_listed_twice_is_merged_filling_blanks() -> None:
    first = {**API_OCCUPATION, "overview": None}
    later = {**API_OCCUPATION, "overview": "From the second listing.", "name": "Ignored title"}
    (o,) = parse_api_route(api_route(first, later))
    assert (
        o.overview == "From the second listing."
        and o.title == "Installation and maintenance electrician"
    )


def test_api_occupation_missing_its_code_names_route_and_cluster() -> None:
    broken = {k: v for k, v in API_OCCUPATION.items() if k != "stdCode"}
    with pytest.raises(MissingFieldError, match=r"route 8, cluster Maintenance, occupation 2"):
        parse_api_route(api_route(API_OCCUPATION, broken))


def test_api_with_no_occupations_is_an_empty_map_error() -> None:
    with pytest.raises(EmptyMapError):
        map_from_api_routes([api_route()])


def test_api_and_snapshot_formats_describe_the_same_map(bundled: OccupationMap) -> None:
    from_api = map_from_api_routes(api_routes(bundled).values())
    without_hierarchy = OccupationMap.of(
        replace(o, pathway=None, cluster=None) for o in from_api.values()
    )
    assert without_hierarchy.content_hash() == bundled.content_hash()


# --- hashing ---


def test_content_hash_ignores_the_order_of_occupations_products_and_job_titles(
    bundled: OccupationMap,
) -> None:
    shuffled = list(bundled.values())
    random.Random(7).shuffle(shuffled)
    shuffled = [
        replace(
            o,
            products=tuple(reversed(o.products)),
            typical_job_titles=tuple(reversed(o.typical_job_titles)),
        )
        for o in shuffled
    ]
    assert OccupationMap.of(shuffled).content_hash() == bundled.content_hash()


def test_content_hash_changes_when_any_field_changes(bundled: OccupationMap) -> None:
    edited = dict(bundled)
    edited["OCC0116"] = replace(edited["OCC0116"], overview="Something else.")
    assert OccupationMap.of(edited.values()).content_hash() != bundled.content_hash()


def test_errors_form_one_hierarchy() -> None:
    assert issubclass(MissingFieldError, RecordError)
    assert issubclass(RecordError, MapsDataError) and issubclass(EmptyMapError, MapsDataError)
    assert issubclass(MissingApiKeyError, MapsSourceError)
    assert issubclass(MapsDataError, MapsError) and issubclass(MapsSourceError, MapsError)


def test_a_route_link_is_read_from_the_apis_array_of_links() -> None:
    from bot.maps.parse import route_of

    route = route_of({"id": 7, "name": "Digital", "links": [
        {"rel": "self", "href": "https://api.example/Routes/7", "title": "API"},
        {"rel": "route", "href": "https://occupational-maps.skillsengland.education.gov.uk/route/7",
         "title": "Map"}]})
    assert route.url == "https://occupational-maps.skillsengland.education.gov.uk/route/7"
