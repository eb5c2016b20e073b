from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from applications.household import household_panel
from recipients import history, services
from recipients.choices import Relation
from recipients.filtersets import HouseholdFilterSet
from recipients.forms import HouseholdForm, MemberFormSet
from recipients.models import Household, Person
from relief import idnumber
from relief.access import requires
from relief.pagination import paginate


@requires("recipients.view_household")
def household_list(request: HttpRequest) -> HttpResponse:
    households = Household.objects.restrict(request.user, "view")
    filterset = HouseholdFilterSet(request.GET or None, queryset=households, user=request.user)
    rows = filterset.qs.select_related("village__parent").prefetch_related(
        Prefetch(
            "members",
            queryset=Person.objects.only(
                "id", "household_id", "name", "id_number", "relation", "disability_grade"
            ),
        )
    )
    if "sort" not in request.GET:
        rows = rows.order_by("number")
    page = paginate(request, rows)
    context = {"filterset": filterset, "page": page}
    if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "household-table":
        return render(request, "recipients/_household_table.html", context)
    return render(request, "recipients/household_list.html", context)


@requires("recipients.view_household")
def household_detail(request: HttpRequest, pk: int) -> HttpResponse:
    household = get_object_or_404(
        Household.objects.restrict(request.user, "view").select_related("village__parent__parent"),
        pk=pk,
    )
    members = sorted(household.members.all(), key=lambda p: (not p.is_head, p.birth_date))
    return render(
        request,
        "recipients/household_detail.html",
        {
            "household": household,
            "members": members,
            "timeline": history.timeline(household),
            "can_edit": request.user.has_perm("recipients.change_household", household),
            **household_panel(request.user, household),
        },
    )


@requires("recipients.add_household")
def household_create(request: HttpRequest) -> HttpResponse:
    return _edit(request, Household())


@requires("recipients.change_household")
def household_edit(request: HttpRequest, pk: int) -> HttpResponse:
    household = get_object_or_404(Household.objects.restrict(request.user, "change"), pk=pk)
    return _edit(request, household)


def _edit(request: HttpRequest, household: Household) -> HttpResponse:
    """The create and edit page: household fields and the member rows."""
    user = request.user
    creating = household.pk is None
    data = request.POST if request.method == "POST" else None
    form = HouseholdForm(data, instance=household, user=user)
    formset = MemberFormSet(
        data,
        instance=household,
        prefix="members",
        form_kwargs={"user": user},
        initial=[{"relation": Relation.HEAD}] if creating and data is None else None,
    )
    if creating and data is None:
        formset.extra = 2  # the head and one more row; "add member" adds others
    if data is not None and form.is_valid() and formset.is_valid():
        members, sources = formset.member_inputs()
        fields = {k: form.cleaned_data[k] for k in ("village", "address", "notes")}
        try:
            if creating:
                saved = services.create_household(user, members=members, **fields)
                messages.success(
                    request, _("Household %(number)s filed.") % {"number": saved.number}
                )
            else:
                saved = services.update_household(
                    user, household, members=members, reason=form.cleaned_data["reason"], **fields
                )
                messages.success(request, _("Changes saved."))
            return redirect("recipients:household_detail", pk=saved.pk)
        except services.RegistryError as error:
            formset.show_error(error, sources)
    return render(
        request,
        "recipients/household_form.html",
        {"form": form, "formset": formset, "household": household, "creating": creating},
        status=400 if data is not None else 200,
    )


@requires("recipients.add_person")
def check_id_number(request: HttpRequest) -> HttpResponse:
    """Live check of an ID number as it is typed (htmx): valid, where it is
    already on file, or what is wrong with it."""
    raw = next((v for k, v in request.GET.items() if k.endswith("id_number")), "")
    context: dict[str, object] = {"empty": not raw.strip()}
    if raw.strip():
        try:
            number = idnumber.validate(raw)
        except ValidationError as error:
            context["error"] = " ".join(error.messages)
        else:
            exclude = request.GET.get("exclude")
            context["elsewhere"] = services.where_registered(
                request.user,
                number,
                exclude_pk=int(exclude) if exclude and exclude.isdigit() else None,
            )
            context["birth_date"] = idnumber.birth_date(number)
            context["sex"] = _("Male") if idnumber.sex(number) == "M" else _("Female")
    return render(request, "recipients/_id_check.html", context)
