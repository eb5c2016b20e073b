from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ReliefConfig(AppConfig):
    name = "relief"
    verbose_name = _("Administration")
    default = True

    def ready(self) -> None:
        from relief import lookups  # noqa: F401  registers CharField's __prefix
        from relief.roles import sync_role_groups

        post_migrate.connect(sync_role_groups, dispatch_uid="relief.sync_role_groups")

        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from relief.auth import record_login, record_login_failed, record_logout, record_visit

        # record_visit keeps the previous sign-in and then sets last_login itself.
        user_logged_in.disconnect(dispatch_uid="update_last_login")
        user_logged_in.connect(record_visit, dispatch_uid="relief.record_visit")
        # Every sign-in, sign-out and refused sign-in is an audit event.
        user_logged_in.connect(record_login, dispatch_uid="relief.record_login")
        user_logged_out.connect(record_logout, dispatch_uid="relief.record_logout")
        user_login_failed.connect(record_login_failed, dispatch_uid="relief.record_login_failed")


class ReliefAdminConfig(admin_apps.AdminConfig):
    """Django's admin site, for superusers only (see relief.admin_site)."""

    default = False
    default_site = "relief.admin_site.SuperuserAdminSite"
