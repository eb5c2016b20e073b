"""Read-only admin views of the registry for IT staff: changes go through the
application's pages, whose services keep the registry's rules and history."""

from django.contrib import admin
from import_export.admin import ExportMixin

from recipients.models import Household, Person
from recipients.resources import HouseholdResource, PersonResource
from relief.admin_site import ReadOnlyMixin


class PersonInline(ReadOnlyMixin, admin.TabularInline):
    model = Person
    extra = 0


@admin.register(Household)
class HouseholdAdmin(ExportMixin, ReadOnlyMixin, admin.ModelAdmin):
    resource_classes = [HouseholdResource]
    list_display = ["number", "village", "address", "updated_at"]
    search_fields = ["number", "members__name", "members__id_number"]
    list_select_related = ["village"]
    inlines = [PersonInline]


@admin.register(Person)
class PersonAdmin(ExportMixin, ReadOnlyMixin, admin.ModelAdmin):
    resource_classes = [PersonResource]
    list_display = ["name", "household", "relation", "sex", "birth_date"]
    search_fields = ["name", "id_number", "household__number"]
    list_select_related = ["household"]
