from django import forms
from django.utils.translation import gettext_lazy as _


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Мобильный телефон"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "+7 913 123-45-67"}
        ),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Код из SMS"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )
    full_name = forms.CharField(
        label=_("Фамилия, имя, отчество"),
        max_length=300,
        required=False,
    )
    shared_computer = forms.BooleanField(
        label=_("Чужой компьютер"),
        help_text=_("Выйти из Парты, когда браузер будет закрыт."),
        required=False,
    )
