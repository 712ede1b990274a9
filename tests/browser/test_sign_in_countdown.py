"""countdown.js: a refused code request counts down to the moment one may ask again."""

import re

import pytest

from parta.accounts import sms
from tests.caches import clear_cache

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "+79131112233"


@pytest.fixture
def one_code_per_three_seconds(settings):
    settings.PARTA_SMS_BACKEND = "parta.accounts.sms.LocmemSmsBackend"
    settings.PARTA_SIGNIN_PHONE_LIMIT = 1
    settings.PARTA_SIGNIN_PHONE_WINDOW = 3
    sms.outbox.clear()
    clear_cache()
    yield
    sms.outbox.clear()
    clear_cache()


def _ask_for_code(page):
    page.goto("/accounts/sign-in/")
    page.get_by_label("Мобильный телефон").fill(PHONE)
    page.get_by_role("button", name="Получить код").click()


def test_the_wait_counts_down_and_then_says_one_may_ask_again(page, one_code_per_three_seconds):
    from playwright.sync_api import expect

    _ask_for_code(page)
    page.wait_for_url("**/sign-in/code/")
    _ask_for_code(page)

    note = page.locator("[data-retry-after]")
    expect(note).to_contain_text(re.compile(r"Новый код можно будет запросить через 0:0[1-3]\."))
    # Only the script writes this, once the server's wait is over.
    expect(note).to_have_text("Теперь можно запросить код снова.", timeout=6000)
    _ask_for_code(page)
    page.wait_for_url("**/sign-in/code/")
    assert [message.phone for message in sms.outbox] == [PHONE, PHONE]
