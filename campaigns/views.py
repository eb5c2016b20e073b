from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from campaigns import checks, services
from campaigns.budget import budget_table
from campaigns.calculation import compute, fields_used
from campaigns.choices import CampaignStatus
from campaigns.forms import (
    AreaQuotaFormSet,
    CampaignForm,
    CategoryForm,
    CopyForm,
    DeadlineFormSet,
    EvidenceFieldForm,
    FundSourceFormSet,
    PhaseFormSet,
    StatusForm,
    TierFormSet,
    TryForm,
)
from campaigns.models import (
    Campaign,
    CampaignKind,
    Category,
    EvidenceField,
    FundSource,
    today,
)
from campaigns.summary import eligibility_text
from campaigns.timeline import timeline
from relief.access import requires
from relief.areacodes import prefix_of
from relief.choices import Role
from relief.models import RoleAssignment
from relief.pagination import paginate
from relief.text import whole_number

SETUP = "campaigns.change_campaign"


def _campaigns(request: HttpRequest, action: str = "view") -> Any:
    return Campaign.objects.restrict(request.user, action).select_related("area", "kind")


@requires("campaigns.view_campaign")
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = _campaigns(request).annotate(category_count=Count("categories", distinct=True))
    year = whole_number(request.GET.get("year"))
    if year is not None:
        campaigns = campaigns.filter(year=year)
    status = request.GET.get("status", "")
    if status in CampaignStatus.values:
        campaigns = campaigns.filter(status=status)
    kind = whole_number(request.GET.get("kind"))
    if kind is not None:
        campaigns = campaigns.filter(kind_id=kind)
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "page": paginate(request, campaigns.order_by("-year", "name", "pk")),
            "statuses": CampaignStatus.choices,
            "kinds": CampaignKind.objects.all(),
            "can_add": request.user.has_perm("campaigns.add_campaign"),
        },
    )


@requires("campaigns.view_campaign")
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request), pk=pk)
    on = today()
    setup = campaign.load_setup()
    categories = setup[0]
    catalogue = EvidenceField.catalogue()
    for category in categories:
        category.eligibility_display = eligibility_text(category, catalogue)
    phases = list(campaign.phases.all())
    deadlines = list(campaign.deadlines.all())
    # "What is due next" for the user's own areas inside the campaign; someone
    # working above the campaign's area sees every deadline.
    overdue, upcoming = services.due_next(
        campaign, services.working_areas(request.user, campaign), on, deadlines=deadlines
    )
    can_setup = request.user.has_perm(SETUP, campaign)
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "categories": categories,
            "timeline": timeline(campaign, phases, deadlines, on),
            "phases": phases,
            "deadlines": deadlines,
            "overdue": overdue,
            "upcoming": upcoming,
            "findings": checks.findings(campaign, setup, catalogue),
            "budget": budget_table(campaign, setup),
            "can_setup": can_setup and campaign.editable,
            "can_change_status": can_setup,
            "can_copy": request.user.has_perm("campaigns.add_campaign", campaign.area),
            "transitions": services.TRANSITIONS[campaign.status],
            "actors": _actors(campaign),
            "copy_form": CopyForm(initial={"year": campaign.year + 1}),
            "can_see_applications": request.user.has_perm("applications.view_application"),
            "can_enter": campaign.status == CampaignStatus.OPEN
            and request.user.has_perm("applications.add_application"),
        },
    )


def _actors(campaign: Campaign) -> list[dict[str, Any]]:
    """Who may act in the campaign: the roles held in its area and below, with counts."""
    rows = (
        RoleAssignment.objects.filter(area__code__prefix=prefix_of(campaign.area.code))
        .values("role")
        .annotate(users=Count("user", distinct=True), areas=Count("area", distinct=True))
        .order_by("role")
    )
    return [{"role": Role(r["role"]).label, "users": r["users"], "areas": r["areas"]} for r in rows]


@requires("campaigns.add_campaign")
def campaign_create(request: HttpRequest) -> HttpResponse:
    form = CampaignForm(request.POST or None, user=request.user, initial={"year": today().year})
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k not in ("kind_name", "area")}
        try:
            campaign = services.create_campaign(
                request.user,
                area=form.cleaned_data["area"],
                kind=form.cleaned_data["kind_name"],
                **fields,
            )
        except (services.CampaignError, ValidationError) as error:
            form.add_error(None, _message(error))
        else:
            messages.success(
                request, _("Campaign created. Now add its schedule, fund sources and categories.")
            )
            return redirect("campaigns:campaign_detail", pk=campaign.pk)
    return render(
        request,
        "campaigns/campaign_form.html",
        {"form": form, "creating": True},
        status=400 if form.errors else 200,
    )


def _message(error: Exception) -> str:
    if isinstance(error, services.CampaignError):
        return error.message
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


@requires(SETUP)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request, "change"), pk=pk)
    form = CampaignForm(request.POST or None, instance=campaign, user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "kind_name"}
        fields["kind"] = form.cleaned_data["kind_name"]
        try:
            services.update_campaign(request.user, campaign, **fields)
        except (services.CampaignError, ValidationError) as error:
            form.add_error(None, _message(error))
        else:
            messages.success(request, _("Changes saved."))
            return redirect("campaigns:campaign_detail", pk=campaign.pk)
    return render(
        request,
        "campaigns/campaign_form.html",
        {"form": form, "campaign": campaign, "creating": False},
        status=400 if form.errors else 200,
    )


def _save_formsets(
    request: HttpRequest,
    campaign: Campaign,
    what: str,
    formsets: list[Any],
) -> bool:
    """Validate and save formsets through the campaign's set-up service."""
    if not all(fs.is_valid() for fs in formsets):
        return False

    def apply(_locked: Campaign) -> None:
        for formset in formsets:
            formset.save()

    try:
        services.save_setup(request.user, campaign, what, apply)
    except services.CampaignError as error:
        messages.error(request, error.message)
        return False
    return True


@requires(SETUP)
def campaign_schedule(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request, "change"), pk=pk)
    data = request.POST if request.method == "POST" else None
    phases = PhaseFormSet(data, instance=campaign, prefix="phases")
    deadlines = DeadlineFormSet(data, instance=campaign, prefix="deadlines")
    if data is not None and _save_formsets(request, campaign, "schedule", [phases, deadlines]):
        messages.success(request, _("Schedule saved."))
        return redirect("campaigns:campaign_detail", pk=campaign.pk)
    return render(
        request,
        "campaigns/campaign_schedule.html",
        {"campaign": campaign, "phases": phases, "deadlines": deadlines},
        status=400 if data is not None else 200,
    )


@requires(SETUP)
def campaign_funds(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request, "change"), pk=pk)
    data = request.POST if request.method == "POST" else None
    formset = FundSourceFormSet(
        data,
        instance=campaign,
        prefix="sources",
        queryset=FundSource.objects.filter(campaign=campaign).prefetch_related("shares"),
    )
    if data is not None and _save_formsets(request, campaign, "fund_sources", [formset]):
        messages.success(request, _("Fund sources saved."))
        return redirect("campaigns:campaign_detail", pk=campaign.pk)
    return render(
        request,
        "campaigns/campaign_funds.html",
        {"campaign": campaign, "formset": formset},
        status=400 if data is not None else 200,
    )


@requires(SETUP)
def category_create(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request, "change"), pk=pk)
    return _category_form(request, campaign, Category(campaign=campaign))


@requires(SETUP)
def category_edit(request: HttpRequest, pk: int, category: int) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request, "change"), pk=pk)
    return _category_form(request, campaign, get_object_or_404(campaign.categories, pk=category))


def _category_form(request: HttpRequest, campaign: Campaign, category: Category) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = CategoryForm(data, instance=category, campaign=campaign)
    tiers = TierFormSet(data, instance=category, prefix="tiers")
    quotas = AreaQuotaFormSet(
        data, instance=category, prefix="quotas", campaign=campaign, user=request.user
    )
    if data is not None and form.is_valid() and tiers.is_valid() and quotas.is_valid():

        def apply(_locked: Campaign) -> Category:
            saved = form.save()
            tiers.instance = quotas.instance = saved
            tiers.save()
            quotas.save()
            return saved

        try:
            saved = services.save_setup(request.user, campaign, "category", apply)
        except services.CampaignError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Category %(name)s saved.") % {"name": saved.name})
            return redirect("campaigns:campaign_detail", pk=campaign.pk)
    return render(
        request,
        "campaigns/category_form.html",
        {
            "campaign": campaign,
            "category": category,
            "form": form,
            "tiers": tiers,
            "quotas": quotas,
            "fields": EvidenceField.objects.all(),
        },
        status=400 if data is not None else 200,
    )


@requires(SETUP)
@require_POST
def category_delete(request: HttpRequest, pk: int, category: int) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request, "change"), pk=pk)
    target = get_object_or_404(campaign.categories, pk=category)
    try:
        services.save_setup(request.user, campaign, "category_delete", lambda _c: target.delete())
    except services.CampaignError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Category %(name)s removed.") % {"name": target.name})
    return redirect("campaigns:campaign_detail", pk=campaign.pk)


@requires("campaigns.view_campaign")
def category_try(request: HttpRequest, pk: int, category: int) -> HttpResponse:
    """Try a category's standard on evidence typed in: the amount and why."""
    campaign = get_object_or_404(_campaigns(request), pk=pk)
    target = get_object_or_404(
        campaign.categories.select_related(
            "fund_source", "campaign", "base_field"
        ).prefetch_related("tiers", "fund_source__shares"),
        pk=category,
    )
    catalogue = EvidenceField.catalogue()
    rule = target.rule(catalogue)
    used = fields_used(rule)
    form = TryForm(
        request.GET or None, fields=[f for f in EvidenceField.objects.all() if f.key in used]
    )
    outcome = None
    if request.GET and form.is_valid():
        outcome = compute(rule, form.facts(), form.cleaned_data.get("proposed"))
    template = (
        "campaigns/_try_result.html"
        if request.headers.get("HX-Request")
        else "campaigns/category_try.html"
    )
    return render(
        request,
        template,
        {
            "campaign": campaign,
            "category": target,
            "form": form,
            "outcome": outcome,
            "range": target.kind == "range",
        },
    )


@requires(SETUP)
@require_POST
def campaign_status(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request, "change"), pk=pk)
    form = StatusForm(request.POST)
    to = request.POST.get("to", "")
    if form.is_valid() and to in CampaignStatus.values:
        try:
            services.change_status(request.user, campaign, to, form.cleaned_data["reason"])
        except services.CampaignError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("The campaign is now %(status)s.") % {"status": CampaignStatus(to).label}
            )
    else:
        messages.error(request, _("Choose what the campaign should become."))
    return redirect("campaigns:campaign_detail", pk=campaign.pk)


@requires("campaigns.add_campaign")
@require_POST
def campaign_copy(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(_campaigns(request), pk=pk)
    form = CopyForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("campaigns:campaign_detail", pk=campaign.pk)
    try:
        copy = services.copy_campaign(request.user, campaign, year=form.cleaned_data["year"])
    except services.CampaignError as error:
        messages.error(request, error.message)
        return redirect("campaigns:campaign_detail", pk=campaign.pk)
    messages.success(
        request,
        _("Copied with last year's recipients' categories and standards; dates moved to %(year)s.")
        % {"year": copy.year},
    )
    return redirect("campaigns:campaign_detail", pk=copy.pk)


@requires("campaigns.view_campaign")
def evidence_fields(request: HttpRequest) -> HttpResponse:
    """The catalogue of evidence fields that conditions and standards may use."""
    can_add = request.user.has_perm("campaigns.add_evidencefield")
    return render(
        request,
        "campaigns/evidence_fields.html",
        {"fields": EvidenceField.objects.all(), "form": EvidenceFieldForm() if can_add else None},
    )


@requires("campaigns.view_campaign")
def kind_list(request: HttpRequest) -> HttpResponse:
    """The campaign kinds, with how many aids of each a household may get a year."""
    return render(
        request,
        "campaigns/kind_list.html",
        {
            "kinds": CampaignKind.objects.annotate(count=Count("campaigns")),
            "can_change": request.user.has_perm("campaigns.change_campaignkind"),
        },
    )


@requires("campaigns.change_campaignkind")
@require_POST
def kind_limit(request: HttpRequest, pk: int) -> HttpResponse:
    kind = get_object_or_404(CampaignKind, pk=pk)
    raw = request.POST.get("per_year", "").strip()
    limit = whole_number(raw, limit=366)
    if raw and limit is None:
        messages.error(request, _("Enter a whole number, or leave it empty for no limit."))
        return redirect("campaigns:kind_list")
    try:
        services.set_kind_limit(request.user, kind, limit)
    except services.CampaignError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Limit of %(kind)s saved.") % {"kind": kind.name})
    return redirect("campaigns:kind_list")


@requires("campaigns.add_evidencefield")
@require_POST
def evidence_field_create(request: HttpRequest) -> HttpResponse:
    form = EvidenceFieldForm(request.POST)
    if form.is_valid():
        field = services.add_evidence_field(request.user, form)
        messages.success(request, _("Field %(name)s added.") % {"name": field.name})
        return redirect("campaigns:evidence_fields")
    return render(
        request,
        "campaigns/evidence_fields.html",
        {"fields": EvidenceField.objects.all(), "form": form},
        status=400,
    )
