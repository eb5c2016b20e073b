"""Read-only admin views of the registry for IT staff: changes go through the
application's pages, whose services keep the registry's rules and history."""

from django.contrib import admin

from recipients.models import Household, Person
from relief.admin_site import ReadOnlyMixin


class PersonInline(ReadOnlyMixin, admin.TabularInline):
    model = Person
    extra = 0


@admin.register(Household)
class HouseholdAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["number", "village", "address", "updated_at"]
    search_fields = ["number", "members__name", "members__id_number"]
    list_select_related = ["village"]
    inlines = [PersonInline]
