"""Open an .xlsx in LibreOffice, optionally change one cell, save it as .xlsx.

    /usr/bin/python3 libreoffice_edit.py IN.xlsx OUT.xlsx PROFILE_DIR [SHEET CELL VALUE]

What an auditor's colleague does with the ledger in LibreOffice Calc, driven
through UNO: Debian's python3-uno runs with the system Python, not in the
project's virtual environment, so the tests run this file in a subprocess.
VALUE is written as a number when it reads as one, as text otherwise.
PROFILE_DIR is a private LibreOffice profile: parallel runs never share one.
"""

import contextlib
import os
import subprocess
import sys
import time

import uno  # Debian: python3-uno (scripts/system-deps.sh)
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def main(source, target, profile, sheet=None, ref=None, value=None):
    pipe = f"relief_edit_{os.getpid()}"
    office = subprocess.Popen(
        [
            "soffice",
            "-env:UserInstallation=" + uno.systemPathToFileUrl(os.path.abspath(profile)),
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                context = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except NoConnectException:
                if time.monotonic() > deadline or office.poll() is not None:
                    raise
                time.sleep(0.3)
        desktop = context.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", context
        )
        url = uno.systemPathToFileUrl(os.path.abspath(source))
        document = desktop.loadComponentFromURL(url, "_blank", 0, (prop("Hidden", True),))
        if sheet is not None:
            cell = document.Sheets.getByName(sheet).getCellRangeByName(ref)
            try:
                cell.setValue(float(value))
            except ValueError:
                cell.setString(value)
        document.storeToURL(
            uno.systemPathToFileUrl(os.path.abspath(target)),
            (prop("FilterName", "Calc MS Excel 2007 XML"), prop("Overwrite", True)),
        )
        document.close(True)
        # The bridge goes away with the office: an error here is expected.
        with contextlib.suppress(Exception):
            desktop.terminate()
        office.wait(timeout=60)
    finally:
        if office.poll() is None:
            office.kill()
            office.wait()


if __name__ == "__main__":
    main(*sys.argv[1:])
