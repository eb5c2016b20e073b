"""The clerks of bench/load.py, for locust (run by load.py, which writes the plan
it reads: who signs in as whom, and which records each may open or act on).

Each user signs in through the login form and then works in a loop, thinking
LOAD_THINK seconds (two figures: uniform between them) after every page, the
way a person reads a page or fills a form before the next click. Pages are
grouped by what they are, not by URL, so each line of the report is one screen.

Transport: gunicorn is reached on loopback as nginx would reach it, with
X-Forwarded-Proto: https (the server runs with BEHIND_PROXY=1), so the server
takes the requests for HTTPS ones, as in production: Secure cookies, the CSRF
Referer check. The Secure flag is taken off the cookies the client keeps, so
they travel over this plain loopback connection, standing in for the TLS hop.
"""

from __future__ import annotations

import datetime
import json
import os
import random
import sys
from pathlib import Path

from locust import HttpUser, between, task

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from relief import idnumber  # pure Python: no Django set-up needed

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
LOW, HIGH = (float(x) for x in os.environ.get("LOAD_THINK", "5,15").split(","))
RUN = int(PLAN["run"])  # this run's number: new records carry it in their names


class Clerk(HttpUser):
    abstract = True
    wait_time = between(LOW, HIGH)
    kind = ""

    def on_start(self) -> None:
        self.account = PLAN["accounts"][self.kind].pop()
        self.client.headers.update(
            {
                "X-Forwarded-Proto": "https",
                "X-Forwarded-For": "127.0.0.1",
                "Referer": f"https://{self.host.split('://', 1)[1]}/",
            }
        )
        self.get("/login/", "sign in (form)")
        self.post(
            "/login/",
            "sign in",
            {"username": self.account["username"], "password": PLAN["password"]},
        )

    # -- helpers --------------------------------------------------------------------

    def unsecure(self) -> None:
        """The TLS hop is nginx's; this is the loopback behind it. (requests
        copies the cookies into a new jar for each request, so a cookie policy
        set on the session's jar would not be used.)"""
        for cookie in self.client.cookies:
            cookie.secure = False

    def get(self, path: str, name: str, params: dict | None = None):
        self.unsecure()
        with self.client.get(path, params=params, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            return response

    def post(self, path: str, name: str, data: dict, *, expect: int = 302):
        """A form sent as the browser sends it, then the page it leads to (as a
        browser follows the redirect), each timed on its own."""
        self.unsecure()
        data = {**data, "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")}
        with self.client.post(
            path, data=data, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != expect:
                response.failure(f"HTTP {response.status_code}")
        location = response.headers.get("Location", "")
        if response.status_code == 302 and location.startswith("/"):
            self.get(location, f"{name} → next page")
        return response

    def think(self) -> None:
        self.wait()  # between the steps of one task, as between tasks

    def decide(self, state: str, step: str, listing: str, who: str) -> None:
        """The list of applications waiting for this user's step, one of them
        (the next of those set aside for this user), and the step on it."""
        queue = f"/campaigns/{PLAN['campaign']}/applications/"
        self.get(queue, listing, {"state": state})
        if not self.account["to_act"]:
            return
        self.think()
        pk = self.account["to_act"].pop()
        self.get(f"/applications/{pk}/", f"{who}: application page")
        self.think()
        self.post(
            f"/applications/{pk}/act/",
            f"{who}: {step.replace('_', ' ')}",
            {"step": step, "reason": "", "comment": "", "to_stage": ""},
        )


class VillageClerk(Clerk):
    """村 clerk: the register and the campaign's applications of one village."""

    kind = "village_clerk"
    fixed_count = int(os.environ.get("LOAD_VILLAGE_CLERKS", "150"))
    entered = 0

    @task(4)
    def household_list(self) -> None:
        self.get("/households/", "village: household list")

    @task(2)
    def household_search(self) -> None:
        name = random.choice(self.account["names"])
        self.get("/households/", "village: household search", {"q": name})

    @task(3)
    def household_page(self) -> None:
        pk = random.choice(self.account["households"])
        self.get(f"/households/{pk}/", "village: household page")

    @task(2)
    def application_list(self) -> None:
        self.get(f"/campaigns/{PLAN['campaign']}/applications/", "village: application list")

    @task(2)
    def application_page(self) -> None:
        pk = random.choice(self.account["applications"])
        self.get(f"/applications/{pk}/", "village: application page")

    @task(1)
    def enter_household_and_application(self) -> None:
        """A new household (head only) and its application, typed in and submitted."""
        self.entered += 1
        serial = self.entered
        name = f"负载{RUN}-{self.account['n']}-{serial}"
        # Born on a day of this run and clerk, numbered by the clerk's count:
        # an ID number no one on file has.
        born = datetime.date(1950, 1, 1) + datetime.timedelta(days=RUN * 250 + self.account["n"])
        number = idnumber.make("130125", born, serial)
        self.get("/households/new/", "village: new household (form)")
        self.think()
        self.post(
            "/households/new/",
            "village: new household",
            {
                "village": self.account["village"],
                "address": f"负载街{serial}号",
                "notes": "",
                "members-TOTAL_FORMS": "1",
                "members-INITIAL_FORMS": "0",
                "members-MIN_NUM_FORMS": "0",
                "members-MAX_NUM_FORMS": "1000",
                "members-0-name": name,
                "members-0-id_number": number,
                "members-0-relation": "head",
                "members-0-disability_grade": "",
                "members-0-locally_registered": "on",
                "members-0-phone": "",
                "members-0-notes": "",
            },
        )
        self.think()
        entry = f"/campaigns/{PLAN['campaign']}/applications/new/"
        self.get(entry, "village: new application (form)")
        self.think()
        self.post(
            entry,
            "village: new application",
            {
                "household": number,
                "category": random.choice(PLAN["categories"]),
                "cause": "illness",
                "cause_detail": "",
                "degree": "general",
                "proposed": "",
                "amount_reason": "",
            },
        )


class TownshipClerk(Clerk):
    """乡镇 clerk: the first review (初审) of the appraised applications."""

    kind = "township_clerk"
    fixed_count = int(os.environ.get("LOAD_TOWNSHIP_CLERKS", "30"))

    @task
    def first_review(self) -> None:
        self.decide("appraised", "first_review", "township: appraised list", "township")


class Supervisor(Clerk):
    """乡镇 leadership: approval (审批) after the notice, and the dashboard."""

    kind = "township_supervisor"
    fixed_count = int(os.environ.get("LOAD_SUPERVISORS", "20"))

    @task(3)
    def approve(self) -> None:
        self.decide("in_notice", "approve", "supervisor: in-notice list", "supervisor")

    @task(1)
    def dashboard(self) -> None:
        self.get(f"/campaigns/{PLAN['campaign']}/dashboard/", "supervisor: dashboard")
