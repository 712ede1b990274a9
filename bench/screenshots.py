"""The main screens at phone size (390×844) into docs/screenshots/, from the demo district.

    PYTHONPATH=src .venv/bin/python bench/screenshots.py [--port 8765] [--data /tmp/parta-shots]

Builds a fresh demo (`parta migrate`, `parta seed-demo` in --data, which is emptied first),
starts `parta serve` on --port, signs the demo people in by making their sessions in the
database (the SMS code goes to the server's console), and photographs each screen with
Debian's chromium (/usr/bin/chromium) through Playwright. Not part of the test suite;
tests/web/test_readme_screenshots.py only checks that the README's images exist.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
LIMIT = 150 * 1024  # each image, so the README stays light


def parta(*args: str) -> list[str]:
    return [sys.executable, "-c", "from parta.manage import main; main()", *args]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own server)
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def sessions(env: dict[str, str]) -> dict[str, str]:
    """A session cookie for each demo person photographed, by role."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parta.settings")
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from parta.accounts.models import Person
    from parta.demo.services import PHONE_SCHOOL_ADMIN, PHONE_TEACHER

    cookies = {}
    for role, phone in (("teacher", PHONE_TEACHER), ("admin", PHONE_SCHOOL_ADMIN)):
        person = Person.objects.get(phone=phone)
        store = SessionStore()
        store[SESSION_KEY] = str(person.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = person.get_session_auth_hash()
        store.create()
        cookies[role] = store.session_key
    return cookies


def busiest_chat(phone: str) -> int:
    """The person's chat with the most messages, for «a chat with messages»."""
    from django.db.models import Count, Q

    from parta.messaging.models import Conversation

    return (
        Conversation.objects.filter(
            members__person__phone=phone,
            members__left_at__isnull=True,
            deleted_at__isnull=True,
            kind=Conversation.Kind.CHAT,
        )
        .annotate(written=Count("messages", filter=Q(messages__is_service=False)))
        .order_by("-written", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def demo_school() -> tuple[int, str]:
    """The demo admin's school and one of its classes, for «Как подключить школу»."""
    from parta.accounts.models import Role, RoleGrant
    from parta.demo.services import PHONE_SCHOOL_ADMIN
    from parta.structure.models import SchoolClass

    grant = RoleGrant.objects.filter(
        person__phone=PHONE_SCHOOL_ADMIN, role=Role.ADMIN, organization__kind="school"
    ).first()
    if grant is None:
        raise SystemExit("the demo has no school admin")
    school_class = SchoolClass.objects.filter(
        organization_id=grant.organization_id, is_staff_class=False
    ).first()
    return grant.organization_id, school_class.name if school_class else "5А"


def roster_file(class_name: str) -> bytes:
    """A family and a teacher, and one row that is wrong: the preview shows both."""
    return "\n".join(
        [
            "Класс;Фамилия;Имя;Отчество;Роль;Телефон;Ребёнок",
            f"{class_name};Лаврова;Ника;Андреевна;ученица;;",
            f"{class_name};Лаврова;Ольга;Петровна;родитель;+79139990011;Лаврова Ника",
            f"{class_name};Лавров;Андрей;Ильич;родитель;;Лаврова Ника Андреевна",
            ";Гринева;Тамара;Львовна;учитель;+79139990012;",
            f"{class_name};Лаврова;Ника;Андреевна;ученица;;",
        ]
    ).encode()


def photograph(server: str, cookies: dict[str, str]) -> list[Path]:
    from django.conf import settings
    from playwright.sync_api import sync_playwright

    from parta.demo.services import PHONE_TEACHER

    chat = busiest_chat(PHONE_TEACHER)
    school, class_name = demo_school()
    screens = [
        ("sign-in", None, "/accounts/sign-in/"),
        ("chat-list", "teacher", "/messages/"),
        ("chat", "teacher", f"/messages/{chat}/"),
        ("chat-bell", "teacher", f"/messages/{chat}/"),
        ("calls", "teacher", "/calls/"),
        ("monitoring-school", "admin", "/monitoring/"),
        ("notification-settings", "teacher", "/notifications/settings/"),
        ("roster", "admin", f"/org/{school}/roster/"),
        ("roster-preview", "admin", f"/org/{school}/roster/"),
        ("invitations", "admin", f"/org/{school}/invitations/"),
        ("personal-join", None, "/p/"),
    ]
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"], headless=True
        )
        for name, who, path in screens:
            context = browser.new_context(
                base_url=server, locale="ru-RU", viewport=PHONE, device_scale_factor=1
            )
            if who:
                cookie = {"name": settings.SESSION_COOKIE_NAME, "value": cookies[who]}
                context.add_cookies([{**cookie, "url": server}])
            page = context.new_page()
            page.goto(path)
            page.wait_for_load_state("networkidle")
            if name.startswith("chat-bell"):
                # The chat's header, its bell open: the notification choices.
                page.locator("#messages[data-ready]").wait_for(state="attached")
                page.evaluate("window.scrollTo(0, 0)")
                page.locator(".chat-bell summary").click()
            elif name == "chat":  # as it opens: at the newest message
                page.locator("#messages[data-ready]").wait_for(state="attached")
            elif name == "roster-preview":  # a file uploaded: the plan and its bad row
                page.set_input_files(
                    "#roster-form input[type=file]",
                    {
                        "name": "список.csv",
                        "mimeType": "text/csv",
                        "buffer": roster_file(class_name),
                    },
                )
                page.locator("#roster-form button").click()
                page.locator("#roster-summary").wait_for()
            target = OUT / f"{name}.png"
            page.screenshot(path=str(target), animations="disabled")
            context.close()
            size = target.stat().st_size
            print(f"{target.relative_to(ROOT)}  {size // 1024} KB  ({path})")
            if size > LIMIT:
                raise SystemExit(f"{target.name} is {size} bytes, over {LIMIT}")
            written.append(target)
        browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "parta-screenshots"
    )
    args = parser.parse_args()
    shutil.rmtree(args.data, ignore_errors=True)
    args.data.mkdir(parents=True)
    env = {**os.environ, "DEBUG": "1", "PARTA_DATA_DIR": str(args.data)}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    log = open(args.data / "server.log", "w")  # noqa: SIM115 (open while the server runs)
    # Our own interpreter and verbs, no outside input: S603's worry does not apply.
    subprocess.run(parta("migrate", "--noinput", "-v0"), env=env, check=True)  # noqa: S603
    subprocess.run(parta("seed-demo"), env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    server = subprocess.Popen(  # noqa: S603
        parta("serve", "--host", "127.0.0.1", "--port", str(args.port)),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{args.port}"
    try:
        wait_for(url + "/")
        photograph(url, sessions(env))
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


if __name__ == "__main__":
    main()
