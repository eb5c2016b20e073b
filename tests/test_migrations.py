from io import StringIO

from django.core.management import call_command


def test_every_model_change_has_its_migration(db):
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit as exited:
        raise AssertionError(f"models changed without a migration:\n{out.getvalue()}") from exited
    assert "No changes detected" in out.getvalue()
