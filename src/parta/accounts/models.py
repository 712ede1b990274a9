from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from parta.accounts.phones import normalize_phone
from parta.structure.models import Organization, SchoolClass


class PersonManager(BaseUserManager["Person"]):
    use_in_migrations = True

    def create_user(self, phone: str | None, password: str | None = None, **extra: Any) -> "Person":
        person = self.model(phone=normalize_phone(phone) if phone else None, **extra)
        if password:
            person.set_password(password)
        else:
            person.set_unusable_password()
        person.full_clean(exclude=["password"])
        person.save(using=self._db)
        return person

    def create_superuser(self, phone: str, password: str | None = None, **extra: Any) -> "Person":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(phone, password, **extra)


class Person(AbstractBaseUser, PermissionsMixin):
    """Anyone who uses Parta: teacher, student, parent, admin, authority staff, operator."""

    phone = models.CharField(
        _("мобильный телефон"),
        max_length=20,
        unique=True,
        null=True,
        blank=True,
        help_text=_("В формате E.164, например +79131234567."),
    )
    surname = models.CharField(_("фамилия"), max_length=100)
    name = models.CharField(_("имя"), max_length=100, blank=True)
    patronymic = models.CharField(_("отчество"), max_length=100, blank=True)
    email = models.EmailField(_("эл. почта"), blank=True)
    external_id = models.CharField(
        _("внешний id"), max_length=100, unique=True, null=True, blank=True
    )
    is_staff = models.BooleanField(
        _("оператор платформы"),
        default=False,
        help_text=_("Доступ к бэк-офису оператора (служба поддержки)."),
    )
    is_active = models.BooleanField(_("активен"), default=True)
    date_joined = models.DateTimeField(_("зарегистрирован"), default=timezone.now)

    objects: ClassVar[PersonManager] = PersonManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS: ClassVar[list[str]] = ["surname", "name"]

    class Meta:
        verbose_name = _("человек")
        verbose_name_plural = _("люди")
        ordering = ["surname", "name", "patronymic", "id"]

    def __str__(self) -> str:
        return self.full_name or self.phone or f"#{self.pk}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.surname, self.name, self.patronymic) if part)

    @property
    def short_name(self) -> str:
        """«Иванова А. П.»: where a line is short (the chat list's last message)."""
        initials = " ".join(f"{part[0]}." for part in (self.name, self.patronymic) if part)
        return " ".join(part for part in (self.surname, initials) if part) or str(self)

    @staticmethod
    def split_full_name(full_name: str) -> tuple[str, str, str]:
        """«Иванова Анна Петровна» → ("Иванова", "Анна", "Петровна")."""
        parts = full_name.split()
        if not parts:
            return "", "", ""
        return parts[0], parts[1] if len(parts) > 1 else "", " ".join(parts[2:])

    def clean(self) -> None:
        super().clean()
        if self.phone:
            self.phone = normalize_phone(self.phone)


class Role(models.TextChoices):
    ADMIN = "admin", _("администратор")
    TEACHER = "teacher", _("учитель")
    STAFF = "staff", _("сотрудник")
    STUDENT = "student", _("ученик")
    PARENT = "parent", _("родитель")


class RoleGrant(models.Model):
    """A role held in an organization over [valid_from, valid_to); valid_to empty = still held.

    History is append-only: a grant is closed by setting valid_to once, never deleted
    or moved (see services.grant_role / revoke_role).
    """

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="role_grants")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="role_grants"
    )
    role = models.CharField(_("роль"), max_length=16, choices=Role.choices)
    valid_from = models.DateTimeField(_("с"))
    valid_to = models.DateTimeField(_("по (не включая)"), null=True, blank=True)
    granted_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_by = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("основание"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("роль")
        verbose_name_plural = _("история ролей")
        ordering = ["organization_id", "person_id", "role", "valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="rolegrant_to_after_from",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "role", "valid_from"]),
            models.Index(fields=["person", "organization", "role"]),
        ]

    def __str__(self) -> str:
        return f"{self.person} — {self.get_role_display()} ({self.organization})"


class ClassEnrolment(models.Model):
    """A student in a class over [valid_from, valid_to); a move closes one and opens another."""

    student = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="enrolments")
    school_class = models.ForeignKey(
        SchoolClass, on_delete=models.PROTECT, related_name="enrolments"
    )
    valid_from = models.DateTimeField(_("с"), default=timezone.now)
    valid_to = models.DateTimeField(_("по (не включая)"), null=True, blank=True)

    class Meta:
        verbose_name = _("зачисление в класс")
        verbose_name_plural = _("зачисления в классы")
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="enrolment_to_after_from",
            ),
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(valid_to__isnull=True),
                name="one_current_class_per_student",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} в {self.school_class}"


class ParentLink(models.Model):
    parent = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="child_links")
    child = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="parent_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("связь родитель — ребёнок")
        verbose_name_plural = _("связи родитель — ребёнок")
        constraints = [
            models.UniqueConstraint(fields=["parent", "child"], name="parent_link_unique"),
            models.CheckConstraint(condition=~Q(parent=F("child")), name="parent_is_not_child"),
        ]

    def __str__(self) -> str:
        return f"{self.parent} → {self.child}"

    def clean(self) -> None:
        if self.parent_id is not None and self.parent_id == self.child_id:
            raise ValidationError(_("Человек не может быть родителем самому себе."))


class AuditEntry(models.Model):
    """Who did what to whom, for access and membership actions that the law wants logged."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64, db_index=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("запись журнала")
        verbose_name_plural = _("журнал действий")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class SignInCode(models.Model):
    """A one-time sign-in code sent by SMS. Only an HMAC of the code is stored (see signin.py)."""

    phone = models.CharField(_("мобильный телефон"), max_length=20, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("создан"))
    expires_at = models.DateTimeField(_("действует до"))
    attempts = models.PositiveSmallIntegerField(_("неверных попыток"), default=0)
    used_at = models.DateTimeField(_("использован"), null=True, blank=True)

    class Meta:
        verbose_name = _("код входа")
        verbose_name_plural = _("коды входа")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.phone} {self.created_at:%Y-%m-%d %H:%M}"
