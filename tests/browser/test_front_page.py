import pytest

pytestmark = pytest.mark.browser


def test_front_page_is_russian_and_leads_to_sign_in(page):
    response = page.goto("/")
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == "ru"

    sign_in = page.locator('a[href="/accounts/sign-in/"]').first
    assert sign_in.is_visible()
    sign_in.click()
    page.wait_for_url("**/accounts/sign-in/")
    assert page.locator("form input").count() >= 1
