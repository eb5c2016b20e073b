"""Where static and media files go (relief/settings.py, docs/deploy.md): WhiteNoise's
manifest storage in production only; media on disk unless MEDIA_STORAGE=s3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.core.files.storage import FileSystemStorage
from django.utils.module_loading import import_string

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3y-" + "0123456789abcdefghijklmnopqrstuvwxyz" * 2,
    "ALLOWED_HOSTS": "relief.example",
}
S3 = {
    "MEDIA_STORAGE": "s3",
    "AWS_STORAGE_BUCKET_NAME": "relief-media",
    "AWS_S3_ENDPOINT_URL": "https://oss.example.gov.cn",
    "AWS_ACCESS_KEY_ID": "AKEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret-example",
    "AWS_S3_REGION_NAME": "cn-north-1",
}
# Prints the STORAGES setting as JSON, or the configuration error as start-up does.
SCRIPT = """
import json, sys
{prelude}
import django
from django.core.exceptions import ImproperlyConfigured
try:
    django.setup()
except ImproperlyConfigured as error:
    print(f"error: configuration: {{error}}", file=sys.stderr)
    sys.exit(2)
from django.conf import settings
print(json.dumps(settings.STORAGES))
"""


def _storages(prelude: str = "", pythonpath: Path | None = None, **env: str):
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DEBUG", "MEDIA_", "AWS_", "PYTHONPATH"))
    }
    clean.pop("DATABASE_URL", None)
    if pythonpath is not None:
        clean["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", SCRIPT.format(prelude=prelude)],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "relief.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_serves_collected_compressed_static_files_in_production_only():
    production = _storages(**PRODUCTION)
    assert production.returncode == 0, production.stderr
    storages = json.loads(production.stdout)
    assert storages["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    # Media on the local disk, under MEDIA_ROOT.
    assert issubclass(import_string(storages["default"]["BACKEND"]), FileSystemStorage)
    development = json.loads(_storages(DEBUG="1").stdout)
    assert development["staticfiles"]["BACKEND"] == (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )


def test_it_puts_media_in_the_bucket_the_environment_names(tmp_path):
    # The real django-storages is optional (requirements-s3.txt); settings only
    # need to find it, so a stand-in package is enough to read the configuration.
    (tmp_path / "storages").mkdir()
    (tmp_path / "storages" / "__init__.py").write_text("")
    result = _storages(pythonpath=tmp_path, **PRODUCTION, **S3)
    assert result.returncode == 0, result.stderr
    media = json.loads(result.stdout)["default"]
    assert media["BACKEND"] == "storages.backends.s3.S3Storage"
    options = media["OPTIONS"]
    assert (
        options["bucket_name"],
        options["endpoint_url"],
        options["access_key"],
        options["secret_key"],
        options["region_name"],
    ) == (
        "relief-media",
        "https://oss.example.gov.cn",
        "AKEXAMPLE",
        "secret-example",
        "cn-north-1",
    )
    # Never overwrite one upload with another of the same name; private objects.
    assert (options["file_overwrite"], options["default_acl"]) == (False, None)


def test_it_stops_start_up_when_s3_is_asked_for_but_not_installed():
    result = _storages(prelude="sys.modules['storages'] = None", **PRODUCTION, **S3)
    assert result.returncode == 2
    assert "MEDIA_STORAGE=s3 needs django-storages and boto3" in result.stderr
    assert "requirements-s3.txt" in result.stderr


def test_it_refuses_an_unknown_media_storage_or_a_missing_bucket():
    result = _storages(MEDIA_STORAGE="nfs")
    assert result.returncode == 2
    assert "MEDIA_STORAGE='nfs': use disk or s3" in result.stderr
    result = _storages(MEDIA_STORAGE="s3")
    assert result.returncode == 2
    assert "AWS_STORAGE_BUCKET_NAME must be set when MEDIA_STORAGE=s3" in result.stderr
