"""Registrations on Django's admin site, which only superusers can open
(relief.admin_site). Everyone else uses the application's own pages."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from relief.admin_site import ReadOnlyMixin
from relief.models import Area, AuditEvent, RoleAssignment, User


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    readonly_fields = ["level", "parent"]


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["area"]
    readonly_fields = ["granted_by", "granted_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "name", "area", "is_active", "is_superuser"]
    search_fields = ["username", "name"]
    ordering = ["username"]
    autocomplete_fields = ["area"]
    inlines = [RoleAssignmentInline]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("", {"fields": ["name", "phone", "area"]}),
        ("", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "name", "area", "password1", "password2"]}),
    ]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Audit events are never edited."""

    list_display = ["at", "actor", "action", "target_repr", "from_state", "to_state"]
    list_filter = ["action"]
    search_fields = ["target_repr", "reason"]
