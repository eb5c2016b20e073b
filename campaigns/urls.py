from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/edit/", views.campaign_edit, name="campaign_edit"),
    path("campaigns/<int:pk>/schedule/", views.campaign_schedule, name="campaign_schedule"),
    path("campaigns/<int:pk>/funds/", views.campaign_funds, name="campaign_funds"),
    path("campaigns/<int:pk>/status/", views.campaign_status, name="campaign_status"),
    path("campaigns/<int:pk>/copy/", views.campaign_copy, name="campaign_copy"),
    path("campaigns/<int:pk>/categories/new/", views.category_create, name="category_create"),
    path(
        "campaigns/<int:pk>/categories/<int:category>/",
        views.category_edit,
        name="category_edit",
    ),
    path(
        "campaigns/<int:pk>/categories/<int:category>/delete/",
        views.category_delete,
        name="category_delete",
    ),
    path(
        "campaigns/<int:pk>/categories/<int:category>/try/",
        views.category_try,
        name="category_try",
    ),
    path("campaign-kinds/", views.kind_list, name="kind_list"),
    path("campaign-kinds/<int:pk>/limit/", views.kind_limit, name="kind_limit"),
    path("evidence-fields/", views.evidence_fields, name="evidence_fields"),
    path("evidence-fields/new/", views.evidence_field_create, name="evidence_field_create"),
]
