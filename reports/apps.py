from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """What a campaign adds up to: the dashboard, the statistics with filters
    and year-over-year comparison, and the campaign summary (工作总结)."""

    name = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        # Registers the summary's background job handler.
        from reports import summary  # noqa: F401
