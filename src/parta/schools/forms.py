from typing import Any

from django import forms
from django.db import models
from django.utils.translation import gettext_lazy as _

from parta.accounts.models import Person
from parta.schools.services import PROFILE_FIELDS
from parta.structure.models import Organization


def _profile_field(field: models.Field, **kwargs: Any) -> forms.Field | None:
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"  # a school site typed as «school.ru»
    return field.formfield(**kwargs)


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = PROFILE_FIELDS
        formfield_callback = _profile_field


class ClassForm(forms.Form):
    name = forms.CharField(label=_("Название"), max_length=100, help_text=_("Например «5А»."))
    academic_year = forms.IntegerField(
        label=_("Учебный год (год начала)"), min_value=2000, max_value=2100, required=False
    )
    class_teacher = forms.ModelChoiceField(
        label=_("Классный руководитель"), queryset=Person.objects.none(), required=False
    )
    is_staff_class = forms.BooleanField(label=_("Класс учителей"), required=False)

    def __init__(self, *args: object, teachers: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if teachers is not None:
            self.fields["class_teacher"].queryset = teachers  # type: ignore[attr-defined]


class StaffingPlanForm(forms.Form):
    plan = forms.CharField(
        label=_("Классы по штатному расписанию"),
        max_length=1000,
        required=False,
        help_text=_(
            "Диапазон «1А–11В» создаст классы с 1 по 11 параллель с литерами А, Б, В. "
            "Можно перечислить через запятую: «1А–4Б, 5А–9В, 10А, 11А»."
        ),
        widget=forms.TextInput(attrs={"placeholder": "1А–11В"}),
    )
    academic_year = forms.IntegerField(
        label=_("Учебный год (год начала)"), min_value=2000, max_value=2100, required=False
    )
    with_staff_class = forms.BooleanField(
        label=_("Создать класс учителей «1*У*Учительский»"), required=False
    )
