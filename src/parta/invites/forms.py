from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from parta.accounts.models import Role
from parta.invites.invitations import CODE_LENGTH, clean_code
from parta.invites.services import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS, REQUESTABLE_ROLES
from parta.structure.models import SchoolClass

APPROVAL_CHOICES = [
    ("", _("как принято для роли (учителя и сотрудники — с подтверждением)")),
    ("yes", _("да, администратор подтверждает каждого")),
    ("no", _("нет, присоединение сразу")),
]


class ClassChoiceField(forms.ModelChoiceField):
    """A class list that names the teachers' class in words (SchoolClass.display_name)."""

    def label_from_instance(self, obj: SchoolClass) -> str:
        return obj.display_name


def role_choices(
    roles: list[tuple[str, str | Promise]] | None = None,
) -> list[tuple[str, str | Promise]]:
    """A role list with nothing chosen: the first role («администратор») must not be the
    default one careless tap hands out. A single role (a class teacher's student links) is
    no choice to get wrong, so it has no placeholder."""
    roles = [(role.value, role.label) for role in Role] if roles is None else roles
    placeholder: list[tuple[str, str | Promise]] = (
        [("", _("— выберите роль —"))] if len(roles) > 1 else []
    )
    return placeholder + roles


class InviteForm(forms.Form):
    """The link form. The role has no default: one careless tap must not hand out admin
    links, and an admin link takes a second, explicit yes (`confirm_admin`)."""

    role = forms.ChoiceField(
        label=_("Роль"), error_messages={"required": _("Выберите роль, которую даст ссылка.")}
    )
    confirm_admin = forms.BooleanField(
        label=_("Я понимаю, что по этой ссылке человек станет администратором школы"),
        required=False,
    )
    school_class = ClassChoiceField(
        label=_("Класс"),
        queryset=SchoolClass.objects.none(),
        required=False,
        empty_label=_("— без класса —"),
    )
    expires_in_days = forms.IntegerField(
        label=_("Действует, дней"),
        min_value=1,
        max_value=MAX_EXPIRY_DAYS,
        initial=DEFAULT_EXPIRY_DAYS,
    )
    max_uses = forms.IntegerField(
        label=_("Не больше использований"),
        min_value=1,
        required=False,
        help_text=_("Пусто — без ограничения (в пределах срока)."),
    )
    needs_approval = forms.ChoiceField(
        label=_("Подтверждение администратором"), choices=APPROVAL_CHOICES, required=False
    )

    def __init__(
        self,
        *args: object,
        classes: object = None,
        roles: list[tuple[str, str | Promise]] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if classes is not None:
            self.fields["school_class"].queryset = classes  # type: ignore[attr-defined]
        choices = role_choices(roles)
        self.fields["role"].choices = choices  # type: ignore[attr-defined]
        if Role.ADMIN not in dict(choices):
            del self.fields["confirm_admin"]

    def clean(self) -> dict[str, object]:
        cleaned: dict[str, object] = super().clean() or {}
        if cleaned.get("role") == Role.ADMIN and not cleaned.get("confirm_admin"):
            self.add_error(
                "confirm_admin",
                _(
                    "Подтвердите, что по этой ссылке человек станет администратором школы: "
                    "администратор видит всех участников и их телефоны и меняет их роли."
                ),
            )
        return cleaned

    def approval(self) -> bool | None:
        return {"yes": True, "no": False}.get(self.cleaned_data["needs_approval"])


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Ссылка-приглашение"),
        max_length=500,
        help_text=_("Вставьте ссылку целиком, как её прислали."),
    )

    def clean_token(self) -> str:
        # A pasted link carries the token after «#».
        value: str = self.cleaned_data["token"].strip()
        return value.rsplit("#", 1)[-1].strip()


class InvitationCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Код приглашения"),
        max_length=500,
        help_text=_("10 букв и цифр с листка-приглашения, например KMXT9-PACRD."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "autocomplete": "off"}),
    )

    def clean_code(self) -> str:
        # A pasted address carries the code after «#»; spaces and dashes are only for reading.
        code = clean_code(self.cleaned_data["code"].rsplit("#", 1)[-1])
        if len(code) != CODE_LENGTH:
            raise forms.ValidationError(
                _("В коде приглашения %(length)d букв и цифр — проверьте код на листке."),
                params={"length": CODE_LENGTH},
                code="length",
            )
        return code


class JoinRequestForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Роль"), choices=[(role.value, role.label) for role in REQUESTABLE_ROLES]
    )
    school_class = ClassChoiceField(
        label=_("Класс"),
        queryset=SchoolClass.objects.none(),
        required=False,
        empty_label=_("— без класса —"),
    )
    message = forms.CharField(
        label=_("Сообщение администратору"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: object, classes: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if classes is not None:
            self.fields["school_class"].queryset = classes  # type: ignore[attr-defined]


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Причина отказа"), max_length=500)


class RoleForm(forms.Form):
    """A role to add (no default: see role_choices) or to remove."""

    role = forms.ChoiceField(
        label=_("Роль"),
        choices=role_choices,
        error_messages={"required": _("Выберите роль, которую добавить.")},
    )


class MoveForm(forms.Form):
    school_class = ClassChoiceField(label=_("Класс"), queryset=SchoolClass.objects.none())

    def __init__(self, *args: object, classes: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if classes is not None:
            self.fields["school_class"].queryset = classes  # type: ignore[attr-defined]
