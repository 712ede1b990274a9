"""A school with its head, an admin, teachers, a parent; an operator; real small files."""

import io
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from parta.accounts.models import Person
from parta.accounts.services import grant_role
from parta.structure.models import Organization
from tests.accounts.conftest import sms_outbox  # noqa: F401 - autouse: SMS go to the outbox
from tests.factories import local, make_member, make_person

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
NEW_ADMIN_PHONE = "+79135550011"


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 800), (250, 250, 250)).save(out, "JPEG")
    return out.getvalue()


def upload(content: bytes, name: str = "letter.pdf", content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@dataclass
class School:
    org: Organization
    head: Person  # admin and teacher, named in the profile
    admin: Person  # the responsible admin who left
    teacher: Person
    parent: Person
    operator: Person


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def s(school) -> School:
    school.head_full_name = "Смолина Наталья Николаевна"
    school.admin_application_phone = "+79130000001"
    school.save()
    head = make_member(school, "admin", "Смолина Наталья Николаевна")
    make_member_role(head, school, "teacher")
    admin = make_person("Ушедший Пётр Ильич", phone="+79130000001")
    make_member_role(admin, school, "admin")
    teacher = make_member(school, "teacher", "Кузнецов Иван Сергеевич")
    parent = make_member(school, "parent", "Белова Ирина Павловна")
    operator = make_person("Оператор Служба Поддержки")
    operator.is_staff = True
    operator.save()
    return School(school, head, admin, teacher, parent, operator)


def make_member_role(person: Person, org: Organization, role: str) -> None:
    grant_role(person, org, role, valid_from=local("2026-09-01 00:00"))


def stored_files(media) -> list:
    return [path for path in media.rglob("*") if path.is_file()] if media.exists() else []
