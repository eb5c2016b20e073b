"""The pages fit a 1366x768 office screen and a tablet without sideways scrolling."""

import pytest

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser

PAGES = ["/", "/households/", "/households/new/", "HOUSEHOLD"]


@pytest.mark.parametrize("width, height", [(1366, 768), (768, 1024)])
def test_pages_fit_the_screen(transactional_db, open_page, people, household_a, width, height):
    page = open_page(width, height)
    sign_in(page, "township_clerk")
    for path in PAGES:
        path = f"/households/{household_a.pk}/" if path == "HOUSEHOLD" else path
        page.goto(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}x{height}"
        screenshot(page, f"layout-{width}x{height}{path.replace('/', '-').rstrip('-')}")


def test_administration_pages_fit_a_tablet(transactional_db, open_page, people):
    page = open_page(768, 1024)
    sign_in(page, "admin")
    for path in ["/areas/", "/users/", f"/users/{people.clerk_a.pk}/", "/areas/import/"]:
        page.goto(path)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
