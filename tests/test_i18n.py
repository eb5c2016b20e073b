"""Every user-facing string has a Simplified Chinese translation."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = Path("locale/zh_Hans/LC_MESSAGES/django.po")
# Every app of the project (a folder with apps.py), the templates and the catalogue.
APPS = sorted(p.name for p in ROOT.iterdir() if (p / "apps.py").exists())
SOURCES = [*APPS, "templates", "locale", "manage.py"]


def entries(po: Path) -> set[tuple[str, str]]:
    text = po.read_text(encoding="utf-8")
    found = re.findall(r'^(?:msgctxt "(.*)"\n)?msgid "(.*)"$', text, flags=re.M)
    return {(ctx, msgid) for ctx, msgid in found if msgid}


def untranslated(po: Path) -> str:
    result = subprocess.run(
        ["msgattrib", "--untranslated", "--only-fuzzy", str(po)], capture_output=True, text=True
    )
    missing = subprocess.run(
        ["msgattrib", "--untranslated", str(po)], capture_output=True, text=True
    )
    return result.stdout + missing.stdout


def test_the_catalogue_translates_every_string_in_the_code(tmp_path):
    """Re-extract the strings from a copy of the code: nothing new, nothing untranslated."""
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo")
            )
        else:
            shutil.copy(source, tmp_path / name)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-location",
            "--no-obsolete",
        ],
        cwd=tmp_path,
        env={**env, "DJANGO_SETTINGS_MODULE": "relief.settings"},
        check=True,
        capture_output=True,
        timeout=120,
    )
    fresh = tmp_path / CATALOGUE
    assert untranslated(fresh) == "", "strings without a Chinese translation (run `make messages`)"
    assert entries(fresh) == entries(ROOT / CATALOGUE), (
        "the catalogue is out of date (`make messages`)"
    )


def test_the_catalogue_compiles_cleanly():
    result = subprocess.run(
        ["msgfmt", "--check", "-o", os.devnull, str(ROOT / CATALOGUE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
