import pytest
from django.utils import translation

from tests.factories import make_district, make_org


@pytest.fixture(autouse=True)
def russian():
    """Each test starts in Russian: a page visited in English leaves the thread's language set."""
    with translation.override("ru"):
        yield


@pytest.fixture
def district(db):
    return make_district()


@pytest.fixture
def school(district):
    return make_org(district, "МБОУ Мотыгинская СОШ №1", short_name="СОШ №1")


@pytest.fixture
def other_school(district):
    return make_org(district, "МБОУ Раздольнинская СОШ", short_name="Раздольнинская СОШ")
