from __future__ import annotations

from django.utils.translation import gettext as _

from campaigns.models import Campaign
from documents.management.commands.render_notice import DocumentCommand
from documents.payment_sheet import render_payment_sheet
from documents.pdf import DocumentError
from relief.choices import AreaLevel
from relief.models import Area


class Command(DocumentCommand):
    help = "Write a village's payment sheet (慰问金发放表) of a campaign as a PDF, for signing."

    def render(self, campaign: Campaign, area_code: str) -> bytes:
        village = Area.objects.select_related("parent").filter(code=area_code.strip()).first()
        if village is None:
            raise DocumentError(_("No area has the code %(code)s.") % {"code": area_code})
        if village.level != AreaLevel.VILLAGE:
            raise DocumentError(
                _("Payment sheets are printed per village; %(area)s is not a village.")
                % {"area": village.name}
            )
        return render_payment_sheet(campaign, village)
