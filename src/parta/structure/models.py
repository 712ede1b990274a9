import re
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from parta.structure.validators import validate_inn, validate_kpp, validate_ogrn


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Неизвестный часовой пояс IANA: %(tz)s"), params={"tz": value})


class Region(models.Model):
    name = models.CharField(_("название"), max_length=200)
    code = models.CharField(_("код"), max_length=20, blank=True)
    time_zone = models.CharField(_("часовой пояс"), max_length=64, validators=[validate_time_zone])
    external_id = models.CharField(
        _("внешний id"), max_length=100, unique=True, null=True, blank=True
    )

    class Meta:
        verbose_name = _("регион")
        verbose_name_plural = _("регионы")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class District(models.Model):
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="districts")
    name = models.CharField(_("название"), max_length=200)
    external_id = models.CharField(
        _("внешний id"), max_length=100, unique=True, null=True, blank=True
    )

    class Meta:
        verbose_name = _("район")
        verbose_name_plural = _("районы")
        ordering = ["region__name", "name"]

    def __str__(self) -> str:
        return self.name


class Organization(models.Model):
    class Kind(models.TextChoices):
        SCHOOL = "school", _("общеобразовательная организация")
        AUTHORITY = "authority", _("орган управления образованием")
        OTHER = "other", _("другая организация")

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="organizations")
    kind = models.CharField(_("вид"), max_length=16, choices=Kind.choices, default=Kind.SCHOOL)
    full_name = models.CharField(_("полное название"), max_length=500)
    short_name = models.CharField(_("краткое название"), max_length=200, blank=True)
    inn = models.CharField(_("ИНН"), max_length=12, blank=True, validators=[validate_inn])
    ogrn = models.CharField(_("ОГРН"), max_length=15, blank=True, validators=[validate_ogrn])
    kpp = models.CharField(_("КПП"), max_length=9, blank=True, validators=[validate_kpp])
    address = models.CharField(_("адрес"), max_length=500, blank=True)
    phone = models.CharField(_("телефон"), max_length=50, blank=True)
    email = models.EmailField(_("эл. почта"), blank=True)
    site = models.URLField(_("сайт"), blank=True)
    head_full_name = models.CharField(_("ФИО руководителя"), max_length=300, blank=True)
    # The administrator's mobile phone from the connection application (E.164):
    # whoever signs in with it becomes the organization's admin.
    admin_application_phone = models.CharField(
        _("телефон администратора из заявки"), max_length=20, blank=True, db_index=True
    )
    # The staffing plan's number of teachers, entered by the admin: the activation
    # checklist compares the teachers who joined against it.
    teacher_headcount = models.PositiveIntegerField(
        _("учителей по штатному расписанию"), null=True, blank=True
    )
    # For authorities: whether their staff oversee their district or the whole region.
    oversees_region = models.BooleanField(
        _("орган управления образованием региона"),
        default=False,
        help_text=_("Сотрудники видят показатели всего региона, а не только своего района."),
    )
    external_id = models.CharField(
        _("внешний id"), max_length=100, unique=True, null=True, blank=True
    )
    created_at = models.DateTimeField(_("создана"), auto_now_add=True)

    class Meta:
        verbose_name = _("организация")
        verbose_name_plural = _("организации")
        ordering = ["full_name"]

    def __str__(self) -> str:
        return self.short_name or self.full_name

    @property
    def region(self) -> Region:
        return self.district.region


_CLASS_NAME_RE = re.compile(r"^\s*(?P<grade>\d{1,2})\s*[-–]?\s*(?P<letter>.*?)\s*$")


def parse_class_name(name: str) -> tuple[int | None, str]:
    """«5А» → (5, "А"); «10 Б» → (10, "Б"); «1*У*Учительский» → (1, "*У*Учительский")."""
    match = _CLASS_NAME_RE.match(name)
    if not match:
        return None, ""
    grade = int(match["grade"])
    if not 1 <= grade <= 11:
        return None, ""
    return grade, match["letter"]


class SchoolClass(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="classes")
    name = models.CharField(_("название"), max_length=100)
    grade = models.PositiveSmallIntegerField(_("параллель"), null=True, blank=True)
    letter = models.CharField(_("литера"), max_length=50, blank=True)
    class_teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("классный руководитель"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="classes_led",
    )
    academic_year = models.PositiveSmallIntegerField(
        _("учебный год (год начала)"), null=True, blank=True
    )
    is_staff_class = models.BooleanField(_("класс учителей"), default=False)
    external_id = models.CharField(
        _("внешний id"), max_length=100, unique=True, null=True, blank=True
    )

    class Meta:
        verbose_name = _("класс")
        verbose_name_plural = _("классы")
        ordering = ["organization_id", "-is_staff_class", "grade", "letter", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name", "academic_year"], name="class_name_unique_per_year"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.grade, self.letter = parse_class_name(self.name)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def display_name(self) -> str:
        """The class as people read it: the teachers' class is named for what it is, since
        its registry name («1*У*Учительский») means nothing to a teacher who is shown it."""
        if self.is_staff_class:
            return str(_("Учительская (класс для учителей школы)"))
        return self.name
