"""`__prefix` answers exactly what str.startswith would, on every database."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relief.models import Area

NAMES = [
    "东关村",
    "东关村二组",
    "东岭乡",
    "东",
    "西关村",
    "50%村",
    "a_b村",
    "A_B村",
    "ab村",
    "1301",
    "130123",
]


@pytest.fixture
def named_areas(db):
    for i, name in enumerate(NAMES):
        Area.objects.create(code=f"{130123100201 + i}", name=name, level="village")


def found(prefix: str) -> set[str]:
    return set(Area.objects.filter(name__prefix=prefix).values_list("name", flat=True))


@pytest.mark.parametrize(
    "prefix", ["东", "东关", "东关村", "西", "50%", "a_", "A", "1301", "", "无"]
)
def test_it_matches_startswith_exactly(named_areas, prefix):
    assert found(prefix) == {n for n in NAMES if n.startswith(prefix)}


# The rows are inserted once and only read, so sharing the test's database
# across examples is intended.
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=st.text(alphabet="东关村岭乡西二组50%_aAbB13", max_size=4))
def test_property_prefix_equals_startswith(db, prefix):
    if not Area.objects.exists():
        for i, name in enumerate(NAMES):
            Area.objects.create(code=f"{130123100201 + i}", name=name, level="village")
    assert found(prefix) == {n for n in NAMES if n.startswith(prefix)}
