from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApplicationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "applications"
    verbose_name = _("Applications")

    def ready(self) -> None:
        # Registers the roster import's background job handlers.
        from applications.roster import jobs  # noqa: F401
