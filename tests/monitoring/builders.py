"""The spec's worked example, built through the services the product itself uses."""

from dataclasses import dataclass

from parta.accounts.models import Person
from parta.accounts.services import grant_role
from parta.calls.services import join_call, leave_call, start_call
from parta.messaging.models import Conversation
from parta.messaging.services import create_conversation, delete_conversation, send_message
from parta.structure.models import Organization
from tests.factories import local, make_district, make_org, make_person


@dataclass
class Example:
    s1: Organization
    s2: Organization
    uo: Organization
    people: dict[str, Person]


def build_example() -> Example:
    district = make_district()
    uo = make_org(
        district,
        "МКУ «Управление образования Мотыгинского района»",
        kind=Organization.Kind.AUTHORITY,
        external_id="uo",
    )
    s1 = make_org(district, "МБОУ Мотыгинская СОШ №1", short_name="СОШ №1", external_id="s1")
    s2 = make_org(district, "МБОУ Раздольнинская СОШ", external_id="s2")
    p = {
        key: make_person(name)
        for key, name in {
            "head": "Иванова Анна Петровна",
            "adm": "Петров Олег Ильич",
            "t1": "Смирнова Елена Викторовна",
            "t2": "Кузнецов Денис Андреевич",
            "t3": "Орлова Мария Сергеевна",
            "st1": "Соколов Артём",
            "p1": "Соколова Ирина Павловна",
        }.items()
    }
    sept = local("2026-09-01 00:00")
    grant_role(p["head"], s1, "admin", valid_from=sept)
    grant_role(p["head"], s1, "teacher", valid_from=sept)
    grant_role(p["head"], uo, "teacher", valid_from=sept)
    grant_role(p["adm"], s1, "admin", valid_from=sept)
    grant_role(p["adm"], s1, "teacher", valid_from=local("2026-11-18 00:00"))
    grant_role(p["t1"], s1, "teacher", valid_from=sept)
    grant_role(p["t2"], s1, "teacher", valid_from=sept)
    grant_role(p["t2"], s2, "teacher", valid_from=sept)
    grant_role(p["t3"], s1, "teacher", valid_from=sept, valid_to=local("2026-11-18 12:00"))
    # Still on the staff after her teaching role ends: she can write, not as a teacher (m7).
    grant_role(p["t3"], s1, "staff", valid_from=sept)
    grant_role(p["st1"], s1, "student", valid_from=sept)
    grant_role(p["p1"], s1, "parent", valid_from=sept)

    c1 = create_conversation(
        p["t1"],
        s1,
        title="5А — классный чат",
        purpose=Conversation.Purpose.CLASS,
        members=[p["st1"], p["t2"], p["t3"]],
        at=local("2026-11-10 09:00"),
    )
    c2 = create_conversation(
        p["adm"],
        s1,
        title="Организационный",
        purpose=Conversation.Purpose.STAFF,
        at=local("2026-11-17 10:00"),
    )
    c3 = create_conversation(
        p["head"],
        s1,
        title="Новости школы",
        kind=Conversation.Kind.CHANNEL,
        at=local("2026-11-16 08:00"),
    )
    c4 = create_conversation(p["t3"], s1, title="Кружок", at=local("2026-11-16 12:00"))
    delete_conversation(c4, by=p["t3"], at=local("2026-11-20 12:00"))
    c5 = create_conversation(
        p["t2"],
        s2,
        title="7Б",
        purpose=Conversation.Purpose.CLASS,
        at=local("2026-11-22 23:59:59"),
    )

    def say(who: str, chat: Conversation, when: str, text: str = "…") -> None:
        send_message(p[who], chat, text, at=local(when))

    say("t1", c1, "2026-11-16 00:00")
    say("t1", c1, "2026-11-18 10:00")
    say("t1", c1, "2026-11-22 23:59:59")
    say("t1", c1, "2026-11-23 00:00")
    say("t3", c1, "2026-11-17 10:00")
    say("t3", c1, "2026-11-18 11:59:59")
    say("t3", c1, "2026-11-18 12:00")
    for minute in ("00", "01", "02"):
        say("t2", c1, f"2026-11-19 10:{minute}")
    for minute in ("01", "02", "03"):
        say("adm", c2, f"2026-11-17 10:{minute}")
    for when in (
        "2026-11-16 08:01",
        "2026-11-16 08:02",
        "2026-11-16 08:03",
        "2026-11-17 08:01",
        "2026-11-17 08:02",
        "2026-11-18 08:01",
        "2026-11-18 08:02",
        "2026-11-19 08:01",
        "2026-11-20 08:01",
        "2026-11-21 08:01",
    ):
        say("head", c3, when)
    say("st1", c1, "2026-11-19 15:00")
    say("t2", c5, "2026-11-23 00:00")

    k1 = start_call(p["t1"], s1, conversation=c1, at=local("2026-11-22 23:50"))
    join_call(k1, p["t1"], at=local("2026-11-22 23:50"))
    leave_call(k1, p["t1"], at=local("2026-11-23 00:30"))
    join_call(k1, p["st1"], at=local("2026-11-23 00:10"))
    leave_call(k1, p["st1"], at=local("2026-11-23 00:30"))
    k2 = start_call(p["head"], s1, at=local("2026-11-17 09:00"))
    join_call(k2, p["head"], at=local("2026-11-17 09:00"))
    leave_call(k2, p["head"], at=local("2026-11-17 09:20"))
    k3 = start_call(p["head"], s1, at=local("2026-11-18 10:00"))
    join_call(k3, p["head"], at=local("2026-11-18 10:00"))
    leave_call(k3, p["head"], at=local("2026-11-18 10:30"))
    join_call(k3, p["st1"], at=local("2026-11-18 10:30"))
    leave_call(k3, p["st1"], at=local("2026-11-18 10:45"))
    k4 = start_call(p["t2"], s1, conversation=c1, at=local("2026-11-17 14:00"))
    join_call(k4, p["t2"], at=local("2026-11-17 14:00"))
    join_call(k4, p["st1"], at=local("2026-11-17 14:01"))
    leave_call(k4, p["t2"], at=local("2026-11-17 14:40"))
    leave_call(k4, p["st1"], at=local("2026-11-17 14:40"))
    k5 = start_call(p["t2"], s1, conversation=c1, at=local("2026-11-19 14:00"))
    join_call(k5, p["t2"], at=local("2026-11-19 14:00"))
    join_call(k5, p["p1"], at=local("2026-11-19 14:05"))
    leave_call(k5, p["t2"], at=local("2026-11-19 14:40"))
    k6 = start_call(p["t2"], s1, conversation=c1, at=local("2026-11-21 14:00"))
    join_call(k6, p["t2"], at=local("2026-11-21 14:00"))
    join_call(k6, p["t1"], at=local("2026-11-21 14:10"))
    leave_call(k6, p["t1"], at=local("2026-11-21 14:20"))
    leave_call(k6, p["t2"], at=local("2026-11-21 14:40"))
    return Example(s1=s1, s2=s2, uo=uo, people=p)
