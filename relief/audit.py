"""Writing audit events (relief.models.AuditEvent)."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from relief.models import Area, AuditEvent
from relief.scoping import scope_area


def record(
    actor: Any,
    action: str,
    target: models.Model | None = None,
    *,
    area: Area | None = None,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    **data: Any,
) -> AuditEvent:
    """Write one event. `area` defaults to the target's own area, so the event
    is visible to exactly the auditors who may see the target."""
    if area is None and target is not None and hasattr(type(target), "scope_path"):
        area = scope_area(target)
    return AuditEvent.objects.create(
        # A command-line run acts as an unsaved system user: recorded as no one.
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=ContentType.objects.get_for_model(target) if target is not None else None,
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:200] if target is not None else "",
        area=area,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data,
    )
