import pytest

from tests.factories import make_district, make_org


@pytest.fixture
def district(db):
    return make_district()


@pytest.fixture
def school(district):
    return make_org(district, "МБОУ Мотыгинская СОШ №1", short_name="СОШ №1")


@pytest.fixture
def other_school(district):
    return make_org(district, "МБОУ Раздольнинская СОШ", short_name="Раздольнинская СОШ")
