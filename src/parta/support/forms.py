from django import forms
from django.utils.translation import gettext_lazy as _

from parta.accounts.models import Person

_SCAN = _("PDF, JPEG или PNG, не больше %(mb)s МБ.")


class AdminChangeForm(forms.Form):
    full_name = forms.CharField(
        label=_("ФИО нового администратора"),
        max_length=300,
        help_text=_("Как в письме: фамилия, имя, отчество."),
    )
    phone = forms.CharField(
        label=_("Личный мобильный телефон нового администратора"),
        max_length=30,
        help_text=_("С этим номером новый администратор войдёт в Парту и получит права."),
    )
    letter = forms.FileField(label=_("Официальное письмо на бланке организации"), required=False)
    order = forms.FileField(label=_("Приказ руководителя"), required=False)
    admins_to_remove = forms.ModelMultipleChoiceField(
        label=_("Снять права администратора"),
        queryset=Person.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Отмечены все администраторы, кроме руководителя."),
    )

    def __init__(
        self,
        *args: object,
        admins: object,
        max_mb: float,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["admins_to_remove"].queryset = admins  # type: ignore[attr-defined]
        for name in ("letter", "order"):
            self.fields[name].help_text = _SCAN % {"mb": max_mb}
            self.fields[name].widget.attrs["accept"] = ".pdf,.jpg,.jpeg,.png"


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Причина отказа"), max_length=1000, widget=forms.Textarea)
