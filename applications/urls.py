from django.urls import path

from applications import views
from applications.roster import views as roster

app_name = "applications"

urlpatterns = [
    path("campaigns/<int:pk>/applications/", views.queue, name="queue"),
    path("campaigns/<int:pk>/applications/new/", views.entry, name="entry"),
    path("campaigns/<int:pk>/applications/bulk/", views.bulk, name="bulk"),
    path("campaigns/<int:pk>/appraisal/", views.appraisal, name="appraisal"),
    path("campaigns/<int:pk>/notices/new/", views.notice_create, name="notice_create"),
    path("campaigns/<int:pk>/rosters/", roster.upload, name="roster_upload"),
    path("rosters/<int:pk>/", roster.detail, name="roster_detail"),
    path("rosters/<int:pk>/columns/", roster.remap, name="roster_remap"),
    path("rosters/<int:pk>/import/", roster.carry_out, name="roster_import"),
    path("rosters/<int:pk>/result.xlsx", roster.result, name="roster_result"),
    path("applications/<int:pk>/", views.detail, name="detail"),
    path("applications/<int:pk>/edit/", views.edit, name="edit"),
    path("applications/<int:pk>/act/", views.act, name="act"),
    path("applications/<int:pk>/attachments/", views.attach, name="attach"),
    path("applications/<int:pk>/objections/", views.objection_create, name="objection_create"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("objections/<int:pk>/resolve/", views.objection_resolve, name="objection_resolve"),
    path("notices/<int:pk>/", views.notice_detail, name="notice_detail"),
    path("households/<int:pk>/recusals/", views.recusal_create, name="recusal_create"),
]
