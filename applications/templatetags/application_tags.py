from __future__ import annotations

from django import template
from django.forms import BoundField
from django.utils.translation import gettext_lazy as _

from applications.choices import State
from applications.workflow import STEPS

register = template.Library()


@register.filter
def data_for(field: BoundField) -> str:
    """The categories whose standard reads this field (see ApplicationForm)."""
    return field.field.widget.attrs.get("data-for", "")


@register.filter
def state_label(value: str) -> str:
    return str(State(value).label) if value in State.values else value


EVENTS = {
    "application.create": _("entered"),
    "application.update": _("changed"),
    "application.attach": _("attached a file"),
    "application.objection": _("recorded an objection"),
    "application.objection_upheld": _("upheld an objection"),
    "application.objection_dismissed": _("dismissed an objection"),
}


@register.filter
def event_label(action: str) -> str:
    """What an audit event of an application says, in words."""
    if action in EVENTS:
        return str(EVENTS[action])
    step = STEPS.get(action.removeprefix("application."))
    return str(step.label) if step else action


@register.filter
def state_words(value: str) -> str:
    """A state as events store it; a return names the stage: "returned:draft"."""
    state, _sep, stage = value.partition(":")
    label = state_label(state)
    return f"{label}（{state_label(stage)}）" if stage else label
