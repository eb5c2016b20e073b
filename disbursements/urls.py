"""Disbursement screens: the office's (payments, finance, reconciliation), the
visiting team's tablet view, and the auditors' ledger verification. Each
views module lists its own routes."""

from disbursements.views import office, verify, visit

app_name = "disbursements"

urlpatterns = office.urlpatterns + visit.urlpatterns + verify.urlpatterns
