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
    path("campaigns/<int:pk>/ledger.xlsx", views.ledger_xlsx, name="ledger_xlsx"),
    path("campaigns/<int:pk>/statistics.xlsx", views.statistics_xlsx, name="statistics_xlsx"),
]
