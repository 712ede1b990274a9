"""What a roster file would change in a school, planned from its rows and the school's
records at one moment; services.confirm_roster applies a plan, nothing else writes.

Who is who:
- a student is the file's (full name, class); an adult (teacher, staff, parent) is the
  file's full name, told apart by phone when namesakes have different phones;
- the school's people are those who hold or held a role in it or were invited to it; a
  person of the file is matched to one of them by phone (the name must agree), else by
  full name (a student preferring her current class); two candidates is a bad row;
- a member of the school (holding a role in it now) is changed at once: a move, a role
  changed between teacher and staff, a new child; anyone else gets a personal invitation
  for the role and holds it only when they join, so nobody counts as a teacher of the
  school (the indicators' denominator) or as a joined student before they have joined.
A file adds and updates, never deletes: people missing from it are left as they are.
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext as _

from parta.accounts.models import ClassEnrolment, ParentLink, Person, Role, RoleGrant
from parta.accounts.phones import normalize_phone
from parta.accounts.selectors import grants_held_at
from parta.invites.invitations import live
from parta.invites.models import PersonalInvitation
from parta.roster.reader import RosterRow
from parta.structure.models import Organization, SchoolClass, parse_class_name
from parta.structure.selectors import current_academic_year

ADULT_ROLES = (Role.TEACHER, Role.STAFF, Role.PARENT)
# A person listed with one of these loses the other: a teacher who became staff.
WORK_ROLES = frozenset({Role.TEACHER, Role.STAFF})


def name_key(text: str) -> str:
    return " ".join(text.replace("ё", "е").replace("Ё", "Е").casefold().split())


def class_key(name: str) -> str:
    """«5 а», «5-А», «5А» are one class."""
    grade, letter = parse_class_name(name)
    if grade is None:
        return name_key(name)
    return f"{grade}{name_key(letter).replace(' ', '')}"


@dataclass(frozen=True)
class BadRow:
    number: int
    reason: str
    text: str


@dataclass
class Entry:
    """One person of the file and what the file says of them."""

    key: str
    surname: str
    name: str
    patronymic: str
    rows: list[int]
    phone: str | None = None
    student_class: str | None = None  # a class key, for a student
    roles: set[str] = field(default_factory=set)
    children: dict[str, str] = field(default_factory=dict)  # child entry key → class key
    existing: Person | None = None

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.surname, self.name, self.patronymic) if part)

    @cached_property
    def name_key(self) -> str:
        return name_key(self.full_name)

    @property
    def is_student(self) -> bool:
        return self.student_class is not None


@dataclass(frozen=True)
class Invite:
    entry: Entry
    role: str
    class_key: str | None
    child: Entry | None = None


@dataclass
class RosterPlan:
    organization: Organization
    rows: int
    bad_rows: list[BadRow]
    classes: dict[str, SchoolClass]  # class key → existing class
    new_classes: dict[str, str]  # class key → name to create
    entries: list[Entry]
    new_people: list[Entry] = field(default_factory=list)
    phones: list[Entry] = field(default_factory=list)  # a phone to record on a known person
    kept_phones: list[Entry] = field(default_factory=list)  # differs, person signs in with own
    # A student's class: (entry, the current class or None, the file's class key).
    moves: list[tuple[Entry, SchoolClass | None, str]] = field(default_factory=list)
    grants: list[tuple[Entry, str]] = field(default_factory=list)  # for members, at once
    closes: list[tuple[Entry, str]] = field(default_factory=list)
    links: list[tuple[Entry, Entry]] = field(default_factory=list)  # a member parent, a child
    invites: list[Invite] = field(default_factory=list)
    reissues: list[PersonalInvitation] = field(default_factory=list)  # revoked, made anew
    unchanged: int = 0

    @property
    def has_changes(self) -> bool:
        return any(
            (
                self.new_classes,
                self.new_people,
                self.phones,
                self.moves,
                self.grants,
                self.closes,
                self.links,
                self.invites,
            )
        )

    def summary(self) -> dict[str, int]:
        new_by_role: dict[str, int] = defaultdict(int)
        for entry in self.new_people:
            for role in entry.roles:
                new_by_role[role] += 1
        return {
            "rows": self.rows,
            "bad_rows": len(self.bad_rows),
            "people": len(self.entries),
            "new_classes": len(self.new_classes),
            "new_people": len(self.new_people),
            "new_students": new_by_role[Role.STUDENT],
            "new_parents": new_by_role[Role.PARENT],
            "new_teachers": new_by_role[Role.TEACHER],
            "new_staff": new_by_role[Role.STAFF],
            "phones": len(self.phones),
            "moves": len(self.moves),
            "role_changes": len(self.closes),
            "grants": len(self.grants),
            "links": len(self.links),
            "invitations": len(self.invites),
            "reissued": len(self.reissues),
            "unchanged": self.unchanged,
        }

    def digest(self) -> str:
        """The plan in one value: a confirmation applies the plan the admin saw, or none."""

        def who(entry: Entry) -> str:
            return f"#{entry.existing.pk}" if entry.existing else entry.key

        lines = [f"class {key}" for key in sorted(self.new_classes)]
        lines += [f"new {entry.key} {entry.phone}" for entry in self.new_people]
        lines += [f"phone {who(entry)} {entry.phone}" for entry in self.phones]
        lines += [f"move {who(e)} {c and c.pk}->{key}" for e, c, key in self.moves]
        lines += [f"grant {who(entry)} {role}" for entry, role in self.grants]
        lines += [f"close {who(entry)} {role}" for entry, role in self.closes]
        lines += [f"link {who(parent)} {who(child)}" for parent, child in self.links]
        lines += [
            f"invite {who(i.entry)} {i.role} {i.class_key} {i.child and who(i.child)}"
            for i in self.invites
        ]
        lines += [f"reissue {invitation.pk}" for invitation in self.reissues]
        return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def _row_text(row: RosterRow) -> str:
    return " · ".join(
        part
        for part in (row.school_class, row.full_name, row.role_text, row.phone, row.child)
        if part
    )


@dataclass
class _Checked:
    row: RosterRow
    role: str
    class_key: str | None
    phone: str | None
    name: str


class _Planner:
    def __init__(
        self, organization: Organization, rows: list[RosterRow], create_classes: bool, now: datetime
    ) -> None:
        self.organization = organization
        self.row_by_number = {row.number: row for row in rows}
        self.create_classes = create_classes
        self.now = now
        self.bad: dict[int, BadRow] = {}
        year = current_academic_year(organization, now)
        self.classes: dict[str, SchoolClass] = {}
        for school_class in SchoolClass.objects.filter(
            Q(academic_year=year) | Q(academic_year__isnull=True), organization=organization
        ).order_by("academic_year"):
            # This year's class wins over an undated one of the same name.
            self.classes[class_key(school_class.name)] = school_class
        self.new_classes: dict[str, str] = {}

    def refuse(self, row: RosterRow, reason: str) -> None:
        self.bad.setdefault(row.number, BadRow(row.number, reason, _row_text(row)))

    # --- each row on its own ----------------------------------------------------------

    def _class_of(self, row: RosterRow) -> str | None:
        if not row.school_class:
            self.refuse(row, _("Не указан класс."))
            return None
        key = class_key(row.school_class)
        known = self.classes.get(key)
        if known is not None and known.is_staff_class:
            self.refuse(row, _("Класс учителей — не класс учеников."))
            return None
        if known is None and key not in self.new_classes:
            if not self.create_classes:
                self.refuse(
                    row,
                    _(
                        "В школе нет класса «%(name)s». Создайте его или отметьте «Создать "
                        "недостающие классы»."
                    )
                    % {"name": row.school_class},
                )
                return None
            grade, letter = parse_class_name(row.school_class)
            self.new_classes[key] = f"{grade}{letter.upper()}" if grade else row.school_class
        return key

    def check(self, row: RosterRow) -> _Checked | None:
        if not row.surname or not row.name:
            self.refuse(row, _("Нужны фамилия и имя."))
            return None
        role = row.role
        if role is None:
            self.refuse(
                row,
                _("Роль «%(role)s» непонятна: укажите ученик, родитель, учитель или сотрудник.")
                % {"role": row.role_text},
            )
            return None
        key = None
        if role in (Role.STUDENT, Role.PARENT):
            key = self._class_of(row)
            if key is None:
                return None
        if role == Role.PARENT and not row.child:
            self.refuse(row, _("У родителя не указан ребёнок (столбец «Ребёнок»)."))
            return None
        phone = None
        if row.phone:
            try:
                phone = normalize_phone(row.phone)
            except ValidationError as exc:
                self.refuse(
                    row,
                    _("Телефон «%(phone)s»: %(why)s")
                    % {"phone": row.phone, "why": " ".join(exc.messages)},
                )
                return None
        return _Checked(row, role, key, phone, name_key(row.full_name))

    # --- rows into people ---------------------------------------------------------------

    def entries(self, checked: list[_Checked]) -> list[Entry]:
        students: dict[str, Entry] = {}
        adults: dict[str, Entry] = {}
        adult_rows: dict[str, list[_Checked]] = defaultdict(list)
        for item in checked:
            if item.role == Role.STUDENT:
                key = f"student {item.name} {item.class_key}"
                if key in students:
                    self.refuse(
                        item.row,
                        _("Повторяет строку %(n)d (тот же ученик в том же классе).")
                        % {"n": students[key].rows[0]},
                    )
                    continue
                students[key] = Entry(
                    key,
                    item.row.surname,
                    item.row.name,
                    item.row.patronymic,
                    [item.row.number],
                    item.phone,
                    item.class_key,
                    {Role.STUDENT},
                )
            else:
                adult_rows[item.name].append(item)
        # A parent's child is looked for among her class's students, not the whole file's:
        # a district's 26,000 parents × 14,000 students took 30 s.
        by_class: dict[str | None, list[Entry]] = defaultdict(list)
        for student in students.values():
            by_class[student.student_class].append(student)
        for name, items in adult_rows.items():
            phones = {item.phone for item in items if item.phone}
            for item in items:
                if item.phone is None and len(phones) > 1:
                    self.refuse(
                        item.row,
                        _(
                            "В файле несколько людей «%(name)s» с разными телефонами: укажите "
                            "телефон и в этой строке."
                        )
                        % {"name": item.row.full_name},
                    )
                    continue
                phone = item.phone or (next(iter(phones)) if phones else None)
                key = f"adult {name} {phone or ''}"
                entry = adults.get(key)
                if entry is None:
                    entry = adults[key] = Entry(
                        key, item.row.surname, item.row.name, item.row.patronymic, [], phone
                    )
                if item.role == Role.PARENT:
                    self._add_child(entry, item, by_class)
                elif item.role in entry.roles:
                    self.refuse(
                        item.row,
                        _("Повторяет строку %(n)d.") % {"n": entry.rows[0]},
                    )
                    continue
                else:
                    entry.roles.add(item.role)
                if item.row.number not in self.bad:
                    entry.rows.append(item.row.number)
        entries = [*students.values(), *(e for e in adults.values() if e.rows)]
        self._check_phones(entries)
        return [entry for entry in entries if entry.rows]

    def _add_child(
        self, entry: Entry, item: _Checked, by_class: dict[str | None, list[Entry]]
    ) -> None:
        wanted = name_key(item.row.child)
        found = [
            student
            for student in by_class[item.class_key]
            if student.name_key == wanted or student.name_key.startswith(wanted + " ")
        ]
        if len(found) != 1:
            self.refuse(
                item.row,
                (
                    _("Ребёнка «%(child)s» нет в файле среди учеников класса «%(class)s».")
                    if not found
                    else _("В классе «%(class)s» несколько учеников «%(child)s»: укажите отчество.")
                )
                % {"child": item.row.child, "class": item.row.school_class},
            )
            return
        child = found[0]
        if child.key in entry.children:
            self.refuse(item.row, _("Повторяет строку %(n)d.") % {"n": entry.rows[0]})
            return
        entry.children[child.key] = item.class_key or ""
        entry.roles.add(Role.PARENT)

    def _check_phones(self, entries: list[Entry]) -> None:
        owner: dict[str, Entry] = {}
        # The row that comes first in the file keeps the phone; later ones are refused.
        for entry in sorted(entries, key=lambda entry: entry.rows[0] if entry.rows else 0):
            if entry.phone is None:
                continue
            first = owner.setdefault(entry.phone, entry)
            if first is not entry:
                self._refuse_entry(
                    entry,
                    _("Телефон %(phone)s уже указан в строке %(n)d у другого человека.")
                    % {"phone": entry.phone, "n": first.rows[0]},
                )

    def _refuse_entry(self, entry: Entry, reason: str) -> None:
        for number in entry.rows:
            self.refuse(self.row_by_number[number], reason)
        entry.rows = []


def _known_people(organization: Organization, phones: Iterable[str]) -> dict[int, Person]:
    ids = set(
        RoleGrant.objects.filter(organization=organization).values_list("person_id", flat=True)
    )
    ids |= set(
        PersonalInvitation.objects.filter(organization=organization).values_list(
            "person_id", flat=True
        )
    )
    # Two queries, not one with OR: SQLite scans the table for «pk IN … OR phone IN …».
    fields = ("id", "surname", "name", "patronymic", "phone", "last_login")
    known = Person.objects.filter(is_active=True).only(*fields)
    people = {person.pk: person for person in known.filter(pk__in=ids)}
    people.update((person.pk, person) for person in known.filter(phone__in=list(phones)))
    return people


def plan_roster(
    organization: Organization, rows: list[RosterRow], *, create_classes: bool, now: datetime
) -> RosterPlan:
    planner = _Planner(organization, rows, create_classes, now)
    checked = [item for item in map(planner.check, rows) if item is not None]
    entries = planner.entries(checked)
    people = _known_people(organization, {e.phone for e in entries if e.phone})
    held: dict[int, set[str]] = defaultdict(set)
    ever: dict[int, set[str]] = defaultdict(set)
    for person_id, role, start, end in RoleGrant.objects.filter(
        organization=organization, person_id__in=list(people)
    ).values_list("person_id", "role", "valid_from", "valid_to"):
        ever[person_id].add(role)
        if start <= now and (end is None or end > now):
            held[person_id].add(role)
    invitations: dict[int, list[PersonalInvitation]] = defaultdict(list)
    for invitation in PersonalInvitation.objects.filter(
        live(now), organization=organization, person_id__in=list(people)
    ):
        invitations[invitation.person_id].append(invitation)
        ever[invitation.person_id].add(invitation.role)
    current_class = dict(
        ClassEnrolment.objects.filter(grants_held_at(now), student_id__in=list(people)).values_list(
            "student_id", "school_class_id"
        )
    )
    links = set(
        ParentLink.objects.filter(parent_id__in=list(people)).values_list("parent_id", "child_id")
    )
    # A student not joined yet is in no class: her invitation's class places her, so that
    # namesakes of two classes stay apart when the same file comes again.
    placed = dict(current_class)
    for person_invitations in invitations.values():
        for invitation in person_invitations:
            if invitation.role == Role.STUDENT and invitation.school_class_id is not None:
                placed.setdefault(invitation.person_id, invitation.school_class_id)
    _match(planner, entries, people, ever, placed)
    entries = [entry for entry in entries if entry.rows]
    plan = RosterPlan(
        organization=organization,
        rows=len(rows),
        bad_rows=[],
        classes=planner.classes,
        new_classes=planner.new_classes,
        entries=entries,
    )
    by_key = {entry.key: entry for entry in entries}
    classes_by_id = SchoolClass.objects.in_bulk(set(current_class.values()))
    for entry in entries:
        person = entry.existing
        changed = False
        if person is None:
            plan.new_people.append(entry)
            changed = True
        elif entry.phone and person.phone != entry.phone:
            if person.phone is None or person.last_login is None:
                plan.phones.append(entry)
                changed = True
            else:
                plan.kept_phones.append(entry)
        member_roles = held[person.pk] if person else set()
        wanted = _wanted(entry, by_key)
        if person is not None and member_roles:
            changed |= _member_changes(
                plan, entry, person, member_roles, wanted, current_class, classes_by_id, links
            )
        else:
            changed |= _invitation_changes(plan, entry, wanted, invitations)
        plan.unchanged += not changed
    plan.bad_rows = sorted(planner.bad.values(), key=lambda bad: bad.number)
    return plan


def _wanted(entry: Entry, by_key: dict[str, Entry]) -> list[tuple[str, str | None, Entry | None]]:
    """(role, class key, child) the file gives the person: one per child for a parent."""
    wanted: list[tuple[str, str | None, Entry | None]] = []
    for role in sorted(entry.roles):
        if role == Role.STUDENT:
            wanted.append((role, entry.student_class, None))
        elif role == Role.PARENT:
            wanted += [
                (role, key, by_key[child])
                for child, key in entry.children.items()
                if child in by_key
            ]
        else:
            wanted.append((role, None, None))
    return wanted


def _member_changes(
    plan: RosterPlan,
    entry: Entry,
    person: Person,
    held: set[str],
    wanted: list[tuple[str, str | None, Entry | None]],
    current_class: dict[int, int],
    classes_by_id: dict[int, SchoolClass],
    links: set[tuple[int, int]],
) -> bool:
    changed = False
    roles = {role for role, _key, _child in wanted}
    if roles & WORK_ROLES:
        for role in sorted((held & WORK_ROLES) - roles):
            plan.closes.append((entry, role))
            changed = True
    for role in sorted(roles - held):
        plan.grants.append((entry, role))
        changed = True
    for role, key, child in wanted:
        if role == Role.STUDENT and key is not None:
            now_in = current_class.get(person.pk)
            target = plan.classes.get(key)
            if now_in is None or target is None or target.pk != now_in:
                plan.moves.append((entry, classes_by_id.get(now_in) if now_in else None, key))
                changed = True
        linked = child is not None and child.existing and (person.pk, child.existing.pk) in links
        if role == Role.PARENT and child is not None and not linked:
            plan.links.append((entry, child))
            changed = True
    return changed


def _invitation_changes(
    plan: RosterPlan,
    entry: Entry,
    wanted: list[tuple[str, str | None, Entry | None]],
    invitations: dict[int, list[PersonalInvitation]],
) -> bool:
    person = entry.existing
    live_ones = list(invitations[person.pk]) if person else []
    changed = False
    for role, key, child in wanted:
        same = next(
            (
                invitation
                for invitation in live_ones
                if invitation.role == role
                and (child is None or (child.existing and invitation.child_id == child.existing.pk))
            ),
            None,
        )
        target = plan.classes.get(key) if key else None
        if same is not None and (key is None or (target and same.school_class_id == target.pk)):
            live_ones.remove(same)
            continue
        if same is not None:
            live_ones.remove(same)
            plan.reissues.append(same)
        plan.invites.append(Invite(entry, role, key, child))
        changed = True
    # A teacher's invitation replaced by a staff one, and the other way round.
    if {role for role, _k, _c in wanted} & WORK_ROLES:
        for invitation in live_ones:
            if invitation.role in WORK_ROLES:
                plan.reissues.append(invitation)
                changed = True
    return changed


def _match(
    planner: _Planner,
    entries: list[Entry],
    people: dict[int, Person],
    ever: dict[int, set[str]],
    current_class: dict[int, int],
) -> None:
    """Find each entry's person among the school's people; claimed once, namesakes refused."""
    by_phone = {person.phone: person for person in people.values() if person.phone}
    by_name: dict[tuple[str, bool], list[Person]] = defaultdict(list)
    for person in people.values():
        roles = ever[person.pk]
        if Role.STUDENT in roles:
            by_name[(name_key(person.full_name), True)].append(person)
        if roles - {Role.STUDENT}:
            by_name[(name_key(person.full_name), False)].append(person)
    claimed: dict[int, Entry] = {}

    def claim(entry: Entry, person: Person) -> None:
        if person.pk in claimed:
            planner._refuse_entry(
                entry,
                _("Совпадает с человеком из строки %(n)d: уточните ФИО или телефон.")
                % {"n": claimed[person.pk].rows[0]},
            )
            return
        claimed[person.pk] = entry
        entry.existing = person

    # Phones first: they identify; then students in their own class; then unique names.
    for entry in entries:
        if entry.phone and entry.phone in by_phone:
            person = by_phone[entry.phone]
            if name_key(f"{person.surname} {person.name}") != name_key(
                f"{entry.surname} {entry.name}"
            ):
                planner._refuse_entry(
                    entry,
                    _("Номер %(phone)s в Парте принадлежит другому человеку.")
                    % {"phone": entry.phone},
                )
            else:
                claim(entry, person)
    pending = [entry for entry in entries if entry.rows and entry.existing is None]
    for entry in pending:
        if entry.is_student:
            target = planner.classes.get(entry.student_class or "")
            same_class = [
                person
                for person in by_name[(name_key(entry.full_name), True)]
                if target is not None and current_class.get(person.pk) == target.pk
            ]
            if len(same_class) == 1:
                claim(entry, same_class[0])
    for entry in pending:
        if entry.existing is not None or not entry.rows:
            continue
        candidates = [
            person
            for person in by_name[(name_key(entry.full_name), entry.is_student)]
            if person.pk not in claimed
        ]
        if len(candidates) == 1:
            claim(entry, candidates[0])
        elif len(candidates) > 1:
            planner._refuse_entry(
                entry,
                _("В школе уже несколько людей «%(name)s»: укажите телефон, чтобы различить их.")
                % {"name": entry.full_name},
            )
