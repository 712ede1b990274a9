from django.contrib import admin

from parta.structure.models import District, Organization, Region, SchoolClass


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "time_zone"]
    search_fields = ["name", "code"]


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name", "region"]
    list_filter = ["region"]
    search_fields = ["name"]


class SchoolClassInline(admin.TabularInline):
    model = SchoolClass
    fields = ["name", "academic_year", "is_staff_class", "class_teacher", "external_id"]
    raw_id_fields = ["class_teacher"]
    extra = 0


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["full_name", "short_name", "kind", "district", "inn"]
    list_filter = ["kind", "district__region", "district"]
    search_fields = ["full_name", "short_name", "inn", "ogrn", "admin_application_phone"]
    list_select_related = ["district"]
    inlines = [SchoolClassInline]
