from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    """The documents a campaign produces: public notice and payment sheet (PDF),
    ledger and statistics (.xlsx). Renderers are plain functions shared by the
    screens, the background jobs and the management commands."""

    name = "documents"
    verbose_name = _("Documents")

    def ready(self) -> None:
        # Registers the big documents' background job handlers.
        from documents import jobs  # noqa: F401
