from __future__ import annotations

import datetime

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from recipients.choices import DisabilityGrade, Relation, Sex
from relief import idnumber
from relief.choices import AreaLevel
from relief.scoping import ScopedQuerySet

phone_validator = RegexValidator(
    r"^(1\d{10}|0\d{2,3}-?\d{7,8}(-\d{1,6})?)$",
    _("Enter an 11-digit mobile number or a landline with its area code, e.g. 0311-87654321."),
)


def validate_id_number(value: str) -> None:
    idnumber.validate(value)


class Household(models.Model):
    """A household (户) on file under its real name (实名制) in one village."""

    number = models.CharField(_("household number"), max_length=20, unique=True, editable=False)
    village = models.ForeignKey(
        "relief.Area",
        on_delete=models.PROTECT,
        related_name="households",
        limit_choices_to={"level": AreaLevel.VILLAGE},
        verbose_name=_("village"),
        db_index=False,  # the (village, number) index below serves lookups by village
    )
    address = models.CharField(_("address"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = ScopedQuerySet.as_manager()
    scope_path = "village"

    class Meta:
        ordering = ["number"]
        verbose_name = _("household")
        verbose_name_plural = _("households")
        # A village's households in list order, read straight off the index.
        indexes = [models.Index(fields=["village", "number"], name="household_village_number")]

    def __str__(self) -> str:
        return self.number

    @property
    def head(self) -> Person | None:
        """The head of household among the members (from prefetched members if any)."""
        return next((m for m in self.members.all() if m.relation == Relation.HEAD), None)


class Person(models.Model):
    """A member of a household. One record per resident ID number, database-wide."""

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="members", verbose_name=_("household")
    )
    name = models.CharField(_("name"), max_length=50, db_index=True)
    id_number = models.CharField(
        _("ID number"), max_length=18, unique=True, validators=[validate_id_number]
    )
    # Derived from the ID number on save; stored so lists can filter and sort by
    # age and sex (eligibility rules ask for both) without parsing every row.
    sex = models.CharField(_("sex"), max_length=1, choices=Sex, editable=False)
    birth_date = models.DateField(_("date of birth"), editable=False)
    relation = models.CharField(_("relation to head"), max_length=16, choices=Relation)
    phone = models.CharField(_("phone"), max_length=24, blank=True, validators=[phone_validator])
    disability_grade = models.CharField(
        _("disability grade"), max_length=1, choices=DisabilityGrade, blank=True, default=""
    )
    locally_registered = models.BooleanField(_("local household registration"), default=True)
    notes = models.TextField(_("notes"), blank=True)

    history = HistoricalRecords()
    objects = ScopedQuerySet.as_manager()
    scope_path = "household__village"

    class Meta:
        ordering = ["household", "id"]
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=models.Q(relation="head"),
                name="one_head_per_household",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.id_number = idnumber.normalize(self.id_number)
        self.birth_date = idnumber.birth_date(self.id_number)
        self.sex = idnumber.sex(self.id_number)
        super().save(*args, **kwargs)

    @property
    def is_head(self) -> bool:
        return self.relation == Relation.HEAD

    def age(self, on: datetime.date | None = None) -> int:
        on = on or timezone.localdate()
        before_birthday = (on.month, on.day) < (self.birth_date.month, self.birth_date.day)
        return on.year - self.birth_date.year - before_birthday
