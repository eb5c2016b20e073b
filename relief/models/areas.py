from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from relief.areacodes import ancestor_codes, level_of, parent_code, prefix_of
from relief.choices import AreaLevel
from relief.scoping import ScopedQuerySet


class Area(models.Model):
    """An administrative area (行政区划): county, township or village, and above.

    The level and the parent follow from the official code (relief.areacodes);
    they are stored so lists and joins need no code arithmetic, and `clean()`
    keeps them consistent with the code.
    """

    code = models.CharField(_("area code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100)
    level = models.CharField(
        _("level"), max_length=10, choices=AreaLevel, db_index=True, editable=False
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="children",
        verbose_name=_("parent area"),
    )

    objects = ScopedQuerySet.as_manager()
    scope_path = ""  # an area's own area is itself

    class Meta:
        ordering = ["code"]
        verbose_name = _("area")
        verbose_name_plural = _("areas")

    def __str__(self) -> str:
        return self.name

    @property
    def prefix(self) -> str:
        return prefix_of(self.code)

    def contains(self, other: Area) -> bool:
        return other.code.startswith(self.prefix)

    def clean(self) -> None:
        try:
            self.level = level_of(self.code)
        except ValidationError as exc:
            raise ValidationError({"code": exc.messages}) from None
        self.parent = find_parent(self.code)

    def full_name(self) -> str:
        """Name with its ancestors, e.g. 示范县 城关镇 东关村 (walks parent links)."""
        names = []
        area: Area | None = self
        while area is not None:
            names.append(area.name)
            area = area.parent
        return " ".join(reversed(names))


def find_parent(code: str) -> Area | None:
    """The existing area `code` hangs under (see relief.areacodes.parent_code)."""
    found = {a.code: a for a in Area.objects.filter(code__in=ancestor_codes(code))}
    try:
        parent = parent_code(code, found.__contains__)
    except ValidationError as exc:
        raise ValidationError({"code": exc.messages}) from None
    return found.get(parent) if parent else None
