"""Writing activity history in the exchange format, streaming, in dependency order.

What goes out: the organizations in scope, their regions and districts, every
person a written record refers to, and the roles, classes, chats (with their
current members), messages, calls and participations of those organizations.
A person's roles elsewhere stay out. Service messages stay out: the format has
no such thing, and an importer would count them. Times are written in UTC (`Z`).
A record without an external id gets a stable one: `parta-<type>-<pk>`.
"""

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from django.db.models import Max, Model, Q, QuerySet

from parta.accounts.models import Person, RoleGrant
from parta.calls.models import Call, CallParticipation
from parta.messaging.models import Conversation, ConversationMember, Message
from parta.structure.models import District, Organization, Region, SchoolClass

CHUNK_SIZE = 2000


class TextOut(Protocol):
    def write(self, text: str, /) -> Any: ...


def exchange_id(type_name: str, external_id: str | None, pk: int) -> str:
    return external_id if external_id is not None else f"parta-{type_name}-{pk}"


def exchange_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _optional_time(moment: datetime | None) -> str | None:
    return exchange_time(moment) if moment is not None else None


class _Writer:
    def __init__(self, out: TextOut, organizations: QuerySet[Organization], whole: bool) -> None:
        self.out = out
        self.counts: Counter[str] = Counter()
        self.whole = whole
        # Rows stored after the export began stay out, so that nothing written refers
        # to a record that was not (a chat created meanwhile and its messages).
        self.until: dict[type[Model], int] = {
            model: model._default_manager.aggregate(last=Max("pk"))["last"] or 0
            for model in (
                Region,
                District,
                Organization,
                Person,
                RoleGrant,
                SchoolClass,
                Conversation,
                ConversationMember,
                Message,
                Call,
                CallParticipation,
            )
        }
        in_scope = organizations.filter(pk__lte=self.until[Organization])
        self.organizations = in_scope.values("pk")
        self.districts = in_scope.values("district_id")

    def rows(self, model: type[Model], *fields: str, **filters: Any) -> Iterator[tuple[Any, ...]]:
        return (
            model._default_manager.filter(pk__lte=self.until[model], **filters)
            .order_by("pk")
            .values_list(*fields)
            .iterator(chunk_size=CHUNK_SIZE)
        )

    def write(self, record: dict[str, Any]) -> None:
        self.out.write(
            json.dumps(
                {key: value for key, value in record.items() if value not in (None, "", [], False)},
                ensure_ascii=False,
            )
        )
        self.out.write("\n")
        self.counts[record["type"]] += 1

    def places(self) -> None:
        region_filter = (
            {}
            if self.whole
            else {"pk__in": District.objects.filter(pk__in=self.districts).values("region_id")}
        )
        for pk, ext, name, tz in self.rows(
            Region, "pk", "external_id", "name", "time_zone", **region_filter
        ):
            self.write(
                {"type": "region", "id": exchange_id("region", ext, pk), "name": name, "tz": tz}
            )
        district_filter = {} if self.whole else {"pk__in": self.districts}
        for pk, ext, region_pk, region_ext, name in self.rows(
            District,
            "pk",
            "external_id",
            "region_id",
            "region__external_id",
            "name",
            **district_filter,
        ):
            self.write(
                {
                    "type": "district",
                    "id": exchange_id("district", ext, pk),
                    "region": exchange_id("region", region_ext, region_pk),
                    "name": name,
                }
            )
        for pk, ext, district_pk, district_ext, name, kind, short_name, inn in self.rows(
            Organization,
            "pk",
            "external_id",
            "district_id",
            "district__external_id",
            "full_name",
            "kind",
            "short_name",
            "inn",
            pk__in=self.organizations,
        ):
            self.write(
                {
                    "type": "org",
                    "id": exchange_id("org", ext, pk),
                    "district": exchange_id("district", district_ext, district_pk),
                    "name": name,
                    "kind": kind,
                    "short_name": short_name,
                    "inn": inn,
                }
            )

    def people(self) -> None:
        orgs = self.organizations
        referenced = (
            Q(pk__in=RoleGrant.objects.filter(organization__in=orgs).values("person_id"))
            | Q(pk__in=SchoolClass.objects.filter(organization__in=orgs).values("class_teacher_id"))
            | Q(pk__in=Conversation.objects.filter(organization__in=orgs).values("created_by_id"))
            | Q(
                pk__in=ConversationMember.objects.filter(
                    conversation__organization__in=orgs, left_at__isnull=True
                ).values("person_id")
            )
            | Q(
                pk__in=Message.objects.filter(organization__in=orgs, is_service=False).values(
                    "author_id"
                )
            )
            | Q(pk__in=Call.objects.filter(organization__in=orgs).values("created_by_id"))
            | Q(
                pk__in=CallParticipation.objects.filter(call__organization__in=orgs).values(
                    "person_id"
                )
            )
        )
        people = (
            Person.objects.filter(referenced, pk__lte=self.until[Person])
            .order_by("pk")
            .values_list("pk", "external_id", "surname", "name", "patronymic", "phone")
            .iterator(chunk_size=CHUNK_SIZE)
        )
        for pk, ext, surname, name, patronymic, phone in people:
            full_name = " ".join(part for part in (surname, name, patronymic) if part)
            self.write(
                {
                    "type": "user",
                    "id": exchange_id("user", ext, pk),
                    "name": full_name,
                    "phone": phone,
                }
            )

    def roles(self) -> None:
        for person_pk, person_ext, org_pk, org_ext, role, start, end in self.rows(
            RoleGrant,
            "person_id",
            "person__external_id",
            "organization_id",
            "organization__external_id",
            "role",
            "valid_from",
            "valid_to",
            organization__in=self.organizations,
        ):
            self.write(
                {
                    "type": "role",
                    "user": exchange_id("user", person_ext, person_pk),
                    "org": exchange_id("org", org_ext, org_pk),
                    "role": role,
                    "from": exchange_time(start),
                    "to": _optional_time(end),
                }
            )

    def classes(self) -> None:
        for pk, ext, org_pk, org_ext, name, teacher_pk, teacher_ext, staff in self.rows(
            SchoolClass,
            "pk",
            "external_id",
            "organization_id",
            "organization__external_id",
            "name",
            "class_teacher_id",
            "class_teacher__external_id",
            "is_staff_class",
            organization__in=self.organizations,
        ):
            self.write(
                {
                    "type": "class",
                    "id": exchange_id("class", ext, pk),
                    "org": exchange_id("org", org_ext, org_pk),
                    "name": name,
                    "class_teacher": (
                        exchange_id("user", teacher_ext, teacher_pk) if teacher_pk else None
                    ),
                    "staff": staff,
                }
            )

    def chats(self) -> None:
        batch: list[tuple[Any, ...]] = []
        for row in self.rows(
            Conversation,
            "pk",
            "external_id",
            "organization_id",
            "organization__external_id",
            "kind",
            "title",
            "created_by_id",
            "created_by__external_id",
            "created_at",
            "deleted_at",
            "school_class_id",
            "school_class__external_id",
            "purpose",
            organization__in=self.organizations,
        ):
            batch.append(row)
            if len(batch) == CHUNK_SIZE:
                self._write_chats(batch)
                batch = []
        self._write_chats(batch)

    def _write_chats(self, batch: list[tuple[Any, ...]]) -> None:
        members: dict[int, list[str]] = {}
        for chat_pk, person_pk, person_ext in self.rows(
            ConversationMember,
            "conversation_id",
            "person_id",
            "person__external_id",
            conversation_id__in=[row[0] for row in batch],
            left_at__isnull=True,
        ):
            members.setdefault(chat_pk, []).append(exchange_id("user", person_ext, person_pk))
        for (
            pk,
            ext,
            org_pk,
            org_ext,
            kind,
            title,
            author_pk,
            author_ext,
            created_at,
            deleted_at,
            class_pk,
            class_ext,
            purpose,
        ) in batch:
            self.write(
                {
                    "type": "chat",
                    "id": exchange_id("chat", ext, pk),
                    "org": exchange_id("org", org_ext, org_pk),
                    "kind": kind,
                    "title": title,
                    "created_by": exchange_id("user", author_ext, author_pk),
                    "created_at": exchange_time(created_at),
                    "deleted_at": _optional_time(deleted_at),
                    "class": exchange_id("class", class_ext, class_pk) if class_pk else None,
                    "purpose": purpose,
                    "members": members.get(pk, []),
                }
            )

    def messages(self) -> None:
        for (
            pk,
            ext,
            chat_pk,
            chat_ext,
            author_pk,
            author_ext,
            written_at,
            text,
            deleted_at,
        ) in self.rows(
            Message,
            "pk",
            "external_id",
            "conversation_id",
            "conversation__external_id",
            "author_id",
            "author__external_id",
            "written_at",
            "text",
            "deleted_at",
            organization__in=self.organizations,
            is_service=False,
        ):
            # "text" stays even when empty: it is the one field a reader looks for.
            self.out.write(
                json.dumps(
                    {
                        "type": "message",
                        "id": exchange_id("message", ext, pk),
                        "chat": exchange_id("chat", chat_ext, chat_pk),
                        "author": exchange_id("user", author_ext, author_pk),
                        "sent_at": exchange_time(written_at),
                        "text": text,
                        **({"deleted_at": exchange_time(deleted_at)} if deleted_at else {}),
                    },
                    ensure_ascii=False,
                )
            )
            self.out.write("\n")
            self.counts["message"] += 1

    def calls(self) -> None:
        for (
            pk,
            ext,
            org_pk,
            org_ext,
            chat_pk,
            chat_ext,
            author_pk,
            author_ext,
            start,
            end,
        ) in self.rows(
            Call,
            "pk",
            "external_id",
            "organization_id",
            "organization__external_id",
            "conversation_id",
            "conversation__external_id",
            "created_by_id",
            "created_by__external_id",
            "created_at",
            "ended_at",
            organization__in=self.organizations,
            # The format has no broadcasts; exported as calls they would count as calls.
            kind=Call.Kind.CALL,
        ):
            self.write(
                {
                    "type": "call",
                    "id": exchange_id("call", ext, pk),
                    "org": exchange_id("org", org_ext, org_pk),
                    "chat": exchange_id("chat", chat_ext, chat_pk) if chat_pk else None,
                    "created_by": exchange_id("user", author_ext, author_pk),
                    "created_at": exchange_time(start),
                    "ended_at": _optional_time(end),
                }
            )
        for call_pk, call_ext, person_pk, person_ext, joined_at, left_at in self.rows(
            CallParticipation,
            "call_id",
            "call__external_id",
            "person_id",
            "person__external_id",
            "joined_at",
            "left_at",
            call__organization__in=self.organizations,
            call__kind=Call.Kind.CALL,
        ):
            self.write(
                {
                    "type": "call_participant",
                    "call": exchange_id("call", call_ext, call_pk),
                    "user": exchange_id("user", person_ext, person_pk),
                    "joined_at": exchange_time(joined_at),
                    "left_at": _optional_time(left_at),
                }
            )


def export_activity(
    out: TextOut, organizations: QuerySet[Organization] | None = None
) -> Counter[str]:
    """Write the history of `organizations` (default: the whole platform) to `out`.

    Returns how many records of each type were written.
    """
    whole = organizations is None
    writer = _Writer(
        out, Organization.objects.all() if organizations is None else organizations, whole
    )
    writer.places()
    writer.people()
    writer.roles()
    writer.classes()
    writer.chats()
    writer.messages()
    writer.calls()
    return writer.counts
