"""What counts as a change between two occupational maps, and what does not."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.maps.diff import ChangeList, carry_forward, diff_maps
from bot.maps.model import Occupation, OccupationMap, Product
from tests.conftest import bundled_map
from tests.fake_maps_api import plant_changes, without

ELECTRICIAN = Occupation(
    id="OCC0152",
    title="Installation and maintenance electrician",
    overview="Install and maintain electrical systems.",
    level=3,
    route_id="5",
    route_name="Construction and the built environment",
    pathway="Building services engineering",
    cluster="Electrical",
    status=1,
    status_name="Approved occupation",
    version="1.2",
    typical_job_titles=("Electrician", "Electrical installer"),
    products=(
        Product(
            "ST0152",
            "Installation and maintenance electrician",
            3,
            "Apprenticeship",
            "Approved for delivery",
        ),
    ),
)
T_LEVEL = Product(
    "TL0002f",
    "Building services engineering for construction - Electrotechnical engineering",
    3,
    "TLevel",
    None,
)


def one(occupation: Occupation) -> OccupationMap:
    return OccupationMap.of([occupation])


def fields_between(old: Occupation, new: Occupation) -> dict[str, object]:
    (change,) = diff_maps(one(old), one(new)).changed
    return change.to_json()["fields"]


def test_identical_maps_have_no_changes(bundled: OccupationMap) -> None:
    assert len(diff_maps(bundled, bundled)) == 0


def test_planted_changes_are_exactly_what_is_reported(bundled: OccupationMap) -> None:
    planted = plant_changes(bundled)
    report = diff_maps(bundled, planted.modified).to_json()
    assert report["added"] == planted.added
    assert report["removed"] == planted.removed
    assert {c["id"]: c["fields"] for c in report["changed"]} == planted.changed


def test_re_levelled_occupation_reports_old_and_new_level() -> None:
    assert fields_between(ELECTRICIAN, replace(ELECTRICIAN, level=4)) == {"level": [3, 4]}


def test_moved_occupation_reports_route_names() -> None:
    moved = replace(ELECTRICIAN, route_id="8", route_name="Engineering and manufacturing")
    assert fields_between(ELECTRICIAN, moved) == {
        "route": ["Construction and the built environment", "Engineering and manufacturing"]
    }


def test_renamed_route_with_the_same_id_is_not_a_move() -> None:
    renamed = replace(ELECTRICIAN, route_name="Construction")
    assert len(diff_maps(one(ELECTRICIAN), one(renamed))) == 0


def test_title_pathway_cluster_and_status_changes_are_reported() -> None:
    edited = replace(
        ELECTRICIAN,
        title="Electrician",
        pathway="Electrical",
        cluster="Installation",
        status_name="Under review",
    )
    assert fields_between(ELECTRICIAN, edited) == {
        "title": ["Installation and maintenance electrician", "Electrician"],
        "pathway": ["Building services engineering", "Electrical"],
        "cluster": ["Electrical", "Installation"],
        "status": ["Approved occupation", "Under review"],
    }


def test_whitespace_or_case_only_title_edits_are_not_changes() -> None:
    recased = replace(ELECTRICIAN, title="  Installation and Maintenance  Electrician ")
    assert len(diff_maps(one(ELECTRICIAN), one(recased))) == 0


def test_a_field_one_side_does_not_know_is_not_a_change() -> None:
    from_snapshot = replace(ELECTRICIAN, pathway=None, cluster=None, status=None, status_name=None)
    assert len(diff_maps(one(from_snapshot), one(ELECTRICIAN))) == 0


def test_t_level_product_added_is_reported_with_code_and_type() -> None:
    fields = fields_between(
        ELECTRICIAN, replace(ELECTRICIAN, products=(*ELECTRICIAN.products, T_LEVEL))
    )
    assert fields == {
        "products_added": [
            {
                "code": "TL0002f",
                "title": T_LEVEL.title,
                "level": 3,
                "type": "TLevel",
                "status": None,
            }
        ]
    }


def test_product_removed_is_reported() -> None:
    with_t_level = replace(ELECTRICIAN, products=(*ELECTRICIAN.products, T_LEVEL))
    (change,) = diff_maps(one(with_t_level), one(ELECTRICIAN)).changed
    assert [p.code for p in change.products_removed] == ["TL0002f"]


def test_same_code_with_another_type_is_another_product() -> None:
    retyped = replace(
        ELECTRICIAN, products=(replace(ELECTRICIAN.products[0], type="Foundation Apprenticeship"),)
    )
    (change,) = diff_maps(one(ELECTRICIAN), one(retyped)).changed
    assert [p.type for p in change.products_added] == ["Foundation Apprenticeship"]
    assert [p.type for p in change.products_removed] == ["Apprenticeship"]


def test_a_product_retired_in_place_is_reported_with_old_and_new_status() -> None:
    standard = ELECTRICIAN.products[0]
    retired = replace(ELECTRICIAN, products=(replace(standard, status="Retired"),))
    (change,) = diff_maps(one(ELECTRICIAN), one(retired)).changed
    assert [(b.status, a.status) for b, a in change.products_changed] == [(standard.status, "Retired")]
    assert change.products_added == () and change.products_removed == ()
    assert change.to_json()["fields"]["products_changed"][0]["new"]["status"] == "Retired"


def test_product_changes_survive_a_json_round_trip() -> None:
    standard = ELECTRICIAN.products[0]
    relevelled = replace(ELECTRICIAN, products=(replace(standard, level=4),))
    changes = diff_maps(one(ELECTRICIAN), one(relevelled))
    assert ChangeList.from_json(changes.to_json()).changed == changes.changed


def test_product_status_case_or_spacing_is_not_a_change() -> None:
    standard = ELECTRICIAN.products[0]
    noisy = replace(ELECTRICIAN, products=(replace(standard, status=f"  {(standard.status or '').upper()} "),))
    assert len(diff_maps(one(ELECTRICIAN), one(noisy))) == 0


def test_reordered_products_are_not_changes() -> None:
    two = replace(ELECTRICIAN, products=(*ELECTRICIAN.products, T_LEVEL))
    swapped = replace(two, products=tuple(reversed(two.products)))
    assert len(diff_maps(one(two), one(swapped))) == 0


def test_job_titles_reordered_recased_or_respaced_are_not_changes() -> None:
    noisy = replace(ELECTRICIAN, typical_job_titles=("electrical  INSTALLER", " Electrician"))
    assert len(diff_maps(one(ELECTRICIAN), one(noisy))) == 0


def test_job_titles_added_and_removed_are_reported() -> None:
    edited = replace(ELECTRICIAN, typical_job_titles=("Electrician", "Sparky"))
    assert fields_between(ELECTRICIAN, edited) == {
        "job_titles_added": ["Sparky"],
        "job_titles_removed": ["Electrical installer"],
    }


def test_new_occupation_is_added() -> None:
    newcomer = replace(ELECTRICIAN, id="OCC9999")
    assert diff_maps(one(ELECTRICIAN), OccupationMap.of([ELECTRICIAN, newcomer])).added == (
        "OCC9999",
    )


def test_new_occupation_that_is_already_retired_is_not_news() -> None:
    retired = replace(ELECTRICIAN, id="OCC9999", status_name="Retired")
    assert len(diff_maps(one(ELECTRICIAN), OccupationMap.of([ELECTRICIAN, retired]))) == 0


@pytest.mark.parametrize("status_name", ["Retired", "Withdrawn occupation", "Standard withdrawn"])
def test_source_marking_an_occupation_retired_reports_it_removed(status_name: str) -> None:
    changes = diff_maps(one(ELECTRICIAN), one(replace(ELECTRICIAN, status_name=status_name)))
    assert (changes.removed, changes.changed) == (("OCC0152",), ())


def test_first_absence_is_held_as_missing_not_removed(bundled: OccupationMap) -> None:
    changes = diff_maps(bundled, without(bundled, ["OCC0116"]))
    assert (changes.removed, changes.missing, len(changes)) == ((), ("OCC0116",), 0)


def test_second_absence_in_a_row_is_removed(bundled: OccupationMap) -> None:
    changes = diff_maps(bundled, without(bundled, ["OCC0116"]), missing_before={"OCC0116"})
    assert (changes.removed, changes.missing) == (("OCC0116",), ())


def test_occupation_back_after_one_absence_is_no_change(bundled: OccupationMap) -> None:
    assert len(diff_maps(bundled, bundled, missing_before={"OCC0116"})) == 0


def test_retired_occupation_that_disappears_is_dropped_silently() -> None:
    retired = replace(ELECTRICIAN, status_name="Retired")
    other = replace(ELECTRICIAN, id="OCC0001")
    changes = diff_maps(OccupationMap.of([retired, other]), one(other))
    assert (changes.removed, changes.missing) == ((), ())


def test_carry_forward_keeps_the_last_record_of_a_first_time_absence(
    bundled: OccupationMap,
) -> None:
    pulled = without(bundled, ["OCC0116"])
    kept = carry_forward(pulled, bundled, ["OCC0116"])
    assert kept["OCC0116"] == bundled["OCC0116"] and kept.content_hash() == bundled.content_hash()


def test_change_list_json_has_the_agreed_shape(bundled: OccupationMap) -> None:
    changes = replace(
        diff_maps(bundled, plant_changes(bundled).modified), from_version=1, to_version=2
    )
    data = changes.to_json()
    assert list(data) == ["from_version", "to_version", "added", "removed", "changed"]
    assert (data["from_version"], data["to_version"]) == (1, 2)
    assert all(set(c) == {"id", "fields"} for c in data["changed"])


def test_change_list_json_reads_back(bundled: OccupationMap) -> None:
    changes = diff_maps(bundled, plant_changes(bundled).modified)
    assert ChangeList.from_json(changes.to_json()).to_json() == changes.to_json()


def test_length_counts_occupations_with_news(bundled: OccupationMap) -> None:
    assert len(diff_maps(bundled, plant_changes(bundled).modified)) == 5


@settings(max_examples=60, deadline=None)
@given(
    order=st.permutations(range(2)),
    upper=st.booleans(),
    pad=st.integers(min_value=0, max_value=3),
)
def test_noise_in_job_titles_is_never_a_change(order: list[int], upper: bool, pad: int) -> None:
    titles = [ELECTRICIAN.typical_job_titles[i] for i in order]
    noisy = tuple(
        (" " * pad) + (t.upper() if upper else t.lower()).replace(" ", " " * (pad + 1))
        for t in titles
    )
    assert (
        len(diff_maps(one(ELECTRICIAN), one(replace(ELECTRICIAN, typical_job_titles=noisy)))) == 0
    )


@settings(max_examples=40, deadline=None)
@given(
    st.sets(st.sampled_from(["OCC0116", "OCC0152", "OCC0469", "OCC1017", "OCC0397A"]), max_size=5)
)
def test_absences_are_reported_once_missing_twice(gone: set[str]) -> None:
    base = bundled_map()
    pulled = without(base, gone)
    first = diff_maps(base, pulled)
    second = diff_maps(
        carry_forward(pulled, base, first.missing), pulled, missing_before=first.missing
    )
    assert (set(first.missing), first.removed) == (gone, ())
    assert (set(second.removed), second.missing) == (gone, ())
