from tests.factories import make_member


def test_member_is_created_with_e164_phone(school):
    person = make_member(school, "teacher")
    assert person.phone.startswith("+7913")
