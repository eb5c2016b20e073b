from django.urls import path

from recipients import views

app_name = "recipients"

urlpatterns = [
    path("households/", views.household_list, name="household_list"),
    path("households/new/", views.household_create, name="household_create"),
    path("households/<int:pk>/", views.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", views.household_edit, name="household_edit"),
    path("persons/check-id-number/", views.check_id_number, name="check_id_number"),
]
