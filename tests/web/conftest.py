# The sign-in fixtures of tests/accounts, for pages that sign in.
from tests.accounts.conftest import sms_outbox  # noqa: F401
