"""The registry as django-import-export resources, for the admin's export (IT
staff taking a copy to another system). Import is not offered there: records
enter through the application's pages and the roster import, whose services
check and record every change."""

from __future__ import annotations

from import_export import fields, resources

from recipients.models import Household, Person


class HouseholdResource(resources.ModelResource):
    village = fields.Field(attribute="village__name", column_name="村/社区")
    village_code = fields.Field(attribute="village__code", column_name="村代码")

    class Meta:
        model = Household
        fields = ("number", "village", "village_code", "address", "created_at")
        export_order = fields

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return super().get_queryset().select_related("village")


class PersonResource(resources.ModelResource):
    household = fields.Field(attribute="household__number", column_name="户编号")

    class Meta:
        model = Person
        fields = ("household", "name", "id_number", "sex", "birth_date", "relation", "phone")
        export_order = fields

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return super().get_queryset().select_related("household")
