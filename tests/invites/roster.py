"""A class's roster with personal invitations, for the slips, SMS and status tests."""

from dataclasses import dataclass

from parta.accounts.models import Person, Role
from parta.accounts.services import create_person, enrol_student, grant_role, link_parent
from parta.invites.invitation_status import with_related
from parta.invites.invitations import InvitationEntry, issue_personal_invitations, unseal
from parta.invites.models import PersonalInvitation
from tests.factories import local, make_member
from tests.invites.conftest import School


@dataclass
class Roster:
    world: School
    second_parent: Person  # the 5А student's father: a phone
    classmate: Person  # 5А, no phone, no parents
    pupil_6a: Person
    invitations: dict[str, PersonalInvitation]

    def codes(self) -> dict[str, str]:
        """Each invitation's code, as its slip prints it unshown."""
        codes = {key: unseal(invitation) for key, invitation in self.invitations.items()}
        return {key: code for key, code in codes.items() if code is not None}

    def fresh(self, key: str) -> PersonalInvitation:
        invitation = with_related(PersonalInvitation.objects.filter(pk=self.invitations[key].pk))
        return invitation.get()


def issue_roster(world: School) -> Roster:
    """5А: Петров with both parents, Сидорова without a phone; 6А: Кузьмина; a teacher."""
    second_parent = make_member(world.org, Role.PARENT, "Петров Олег Викторович")
    link_parent(second_parent, world.student)
    classmate = create_person(surname="Сидорова", name="Мария", patronymic="Ивановна")
    grant_role(classmate, world.org, Role.STUDENT, valid_from=local("2026-09-01 00:00"))
    enrol_student(classmate, world.class_5a)
    pupil_6a = make_member(world.org, Role.STUDENT, "Кузьмина Вера Андреевна")
    enrol_student(pupil_6a, world.class_6a)
    entries = {
        "student": InvitationEntry(world.student, Role.STUDENT, world.class_5a),
        "parent": InvitationEntry(world.parent, Role.PARENT, world.class_5a, world.student),
        "second_parent": InvitationEntry(second_parent, Role.PARENT, world.class_5a, world.student),
        "classmate": InvitationEntry(classmate, Role.STUDENT, world.class_5a),
        "pupil_6a": InvitationEntry(pupil_6a, Role.STUDENT, world.class_6a),
        "teacher": InvitationEntry(world.teacher, Role.TEACHER, world.staff_class),
    }
    issued = issue_personal_invitations(world.org, list(entries.values()), by=world.admin)
    return Roster(
        world=world,
        second_parent=second_parent,
        classmate=classmate,
        pupil_6a=pupil_6a,
        invitations=dict(zip(entries, issued, strict=True)),
    )
