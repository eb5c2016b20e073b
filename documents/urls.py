from django.urls import path

from documents import views

app_name = "documents"

urlpatterns = [
    path("notices/<int:pk>/notice.pdf", views.notice_pdf, name="notice_pdf"),
    path(
        "campaigns/<int:pk>/payment-sheets/<int:village>.pdf",
        views.payment_sheet_pdf,
        name="payment_sheet_pdf",
    ),
    path("campaigns/<int:pk>/ledger.zip", views.signed_ledger, name="signed_ledger"),
    path("campaigns/<int:pk>/statistics.xlsx", views.statistics_xlsx, name="statistics_xlsx"),
]
