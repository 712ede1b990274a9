"""The operator's back office for people. Roles and the audit log are read-only here:
roles change only through accounts.services (grant_role / revoke_role), which keep the
history and the audit log. Sign-in codes are not shown at all."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from parta.accounts.models import AuditEntry, Person, RoleGrant


class ReadOnlyAdminMixin:
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RoleGrantInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RoleGrant
    fk_name = "person"
    fields = readonly_fields = ("organization", "role", "valid_from", "valid_to", "reason")
    extra = 0
    verbose_name_plural = RoleGrant._meta.verbose_name_plural


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["__str__", "phone", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_active"]
    search_fields = ["phone", "surname", "name", "patronymic", "email", "external_id"]
    fields = [
        "phone", "surname", "name", "patronymic", "email", "external_id",
        "is_active", "is_staff", "is_superuser", "groups", "last_login", "date_joined",
    ]  # fmt: skip
    readonly_fields = ["last_login", "date_joined"]
    filter_horizontal = ["groups"]
    inlines = [RoleGrantInline]

    def save_model(self, request: HttpRequest, obj: Person, form: Any, change: bool) -> None:
        if not change:
            # People added here sign in by phone; a password is set with `changepassword`.
            obj.set_unusable_password()
        super().save_model(request, obj, form, change)


@admin.register(RoleGrant)
class RoleGrantAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["person", "organization", "role", "valid_from", "valid_to", "reason"]
    list_filter = ["role"]
    search_fields = ["person__phone", "person__surname", "organization__full_name"]
    list_select_related = ["person", "organization"]
    date_hierarchy = "valid_from"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "action", "actor", "subject", "organization"]
    list_filter = ["action"]
    search_fields = ["action", "subject__phone", "subject__surname", "organization__full_name"]
    list_select_related = ["actor", "subject", "organization"]
    date_hierarchy = "at"
