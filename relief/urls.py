from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language

from relief.access import public, signed_in
from relief.forms_auth import LoginForm
from relief.views import areas, health, home, jobs, users

urlpatterns = [
    path("", home.home, name="home"),
    path(
        "login/",
        public(
            auth_views.LoginView.as_view(
                authentication_form=LoginForm, redirect_authenticated_user=True
            )
        ),
        name="login",
    ),
    path("logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path(
        "password/",
        signed_in(auth_views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "password/done/",
        signed_in(auth_views.PasswordChangeDoneView.as_view()),
        name="password_change_done",
    ),
    path("language/", public(set_language), name="set_language"),
    path("health/", health.health, name="health"),
    path("areas/", areas.area_list, name="area_list"),
    path("areas/new/", areas.area_create, name="area_create"),
    path("areas/import/", areas.area_import_view, name="area_import"),
    path("areas/<int:pk>/edit/", areas.area_edit, name="area_edit"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job_detail"),
    path("jobs/<int:pk>/progress/", jobs.job_progress, name="job_progress"),
    path("jobs/<int:pk>/download/", jobs.job_download, name="job_download"),
    path("users/", users.user_list, name="user_list"),
    path("users/new/", users.user_create, name="user_create"),
    path("users/<int:pk>/", users.user_detail, name="user_detail"),
    path("users/<int:pk>/edit/", users.user_edit, name="user_edit"),
    path("users/<int:pk>/password/", users.user_password, name="user_password"),
    path("users/<int:pk>/roles/", users.role_grant, name="role_grant"),
    path("roles/<int:pk>/revoke/", users.role_revoke, name="role_revoke"),
    path("", include("recipients.urls")),
    path("", include("campaigns.urls")),
    path("", include("applications.urls")),
    path("", include("documents.urls")),
    path("", include("disbursements.urls")),
    path("", include("reports.urls")),
    path("admin/", admin.site.urls),
]

handler500 = "relief.views.errors.server_error"
