from applications.choices import State
from applications.models import Application
from relief.models import AuditEvent

from .conftest import walk


def test_it_walks_to_approval(people, campaign, household_a):
    app = walk(people, campaign, household_a, State.APPROVED)
    assert app.state == State.APPROVED
    assert app.amount == 500
    events = AuditEvent.objects.filter(target_id=str(app.pk), action__startswith="application.")
    assert [e.action for e in events.order_by("at", "id")] == [
        "application.create",
        "application.submit",
        "application.appraise",
        "application.first_review",
        "application.publish",
        "application.approve",
    ]
    assert Application.objects.count() == 1
