from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _


class SuperuserAdminSite(admin.AdminSite):
    """Django's admin is a tool for IT staff (superusers). Everyone else,
    administrators included, works in the application's own pages, which scope
    every record to the user's areas; the admin does not."""

    site_header = _("Relief: system administration")
    site_title = _("Relief")

    def has_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser


class ReadOnlyMixin:
    """For ModelAdmins and inlines of records that change only through services."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
