"""Named choices of the application workflow (domain.md §4)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    """Where an application stands. The forward path is the order below; the
    last three leave it. A returned application waits at the stage named in
    `returned_to`, so the queue of whoever acts at that stage shows it."""

    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPRAISED = "appraised", _("Appraised by the village")
    FIRST_REVIEWED = "first_reviewed", _("First review passed")
    REVIEWED = "reviewed", _("Reviewed by the township")
    IN_NOTICE = "in_notice", _("In public notice")
    AWAITING_COUNTY = "awaiting_county", _("Awaiting county approval")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", _("Returned")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")

    @classmethod
    def forward(cls) -> list[str]:
        """The states of the forward path, in order."""
        return cls.values[: cls.values.index(cls.APPROVED) + 1]

    @classmethod
    def before(cls, stage: str) -> list[str]:
        """The stages an application at `stage` may be returned to."""
        path = cls.forward()
        return path[: path.index(stage)] if stage in path else []


# Applications in these states hold a place in the campaign: the household's
# one application, and (from AWAITING_COUNTY on) money of a fund source.
ACTIVE = frozenset(set(State.values) - {State.REJECTED, State.WITHDRAWN})
COMMITTED = frozenset({State.AWAITING_COUNTY, State.APPROVED})
# A returned application does not hold budget; it must be approved again.

# A deadline for an application list is not met while applications of an area
# still wait at these stages (as far as the records tell). Drafts count only
# for the applications deadline: a draft left after it is on its way to no list.
BEHIND_DEADLINE: dict[str, tuple[str, ...]] = {
    "applications": (State.DRAFT,),
    "village_list": (State.SUBMITTED,),
    "township_list": (State.SUBMITTED, State.APPRAISED),
    "notice": (
        State.SUBMITTED,
        State.APPRAISED,
        State.FIRST_REVIEWED,
        State.REVIEWED,
        State.IN_NOTICE,
    ),
}


class HardshipCause(models.TextChoices):
    """致困原因, as the national hardship registers list them."""

    ILLNESS = "illness", _("Illness")
    DISABILITY = "disability", _("Disability")
    EDUCATION = "education", _("School costs")
    DISASTER = "disaster", _("Disaster")
    ACCIDENT = "accident", _("Accident")
    NO_LABOUR = "no_labour", _("No one able to work")
    UNEMPLOYMENT = "unemployment", _("Unemployment")
    OLD_AGE = "old_age", _("Old age")
    OTHER = "other", _("Other")


class Degree(models.TextChoices):
    """困难程度 as the clerk judges it; the standard's tiers decide the amount."""

    GENERAL = "general", _("General")
    SERIOUS = "serious", _("Serious")
    SEVERE = "severe", _("Severe")


class Channel(models.TextChoices):
    """How an objection (异议/举报) reached the office."""

    VISIT = "visit", _("In person")
    PHONE = "phone", _("Telephone")
    LETTER = "letter", _("Letter")
    ONLINE = "online", _("Online")
    OTHER = "other", _("Other")


class ObjectionStatus(models.TextChoices):
    OPEN = "open", _("Open")
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")
