"""Signing in and out, throttling, session expiry, the interface language."""

import datetime

from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from relief.models import User

LOGIN = reverse("login")


def sign_in(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def test_it_signs_in_and_out(client, people):
    people.clerk_a.set_password("Correct-horse-9")
    people.clerk_a.save()
    response = sign_in(client, "clerk_a", "Correct-horse-9")
    assert response.status_code == 302 and response.url == reverse("home")
    assert client.get(reverse("home")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_it_says_so_in_chinese_when_the_password_is_wrong(client, people):
    response = sign_in(client, "clerk_a", "wrong")
    assert response.status_code == 200
    assert "请输入一个正确的" in response.text  # Django's own zh-hans message


def test_it_locks_out_after_five_wrong_passwords(client, people, settings):
    people.clerk_a.set_password("Correct-horse-9")
    people.clerk_a.save()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "clerk_a", "wrong").status_code == 200
    locked = sign_in(client, "clerk_a", "wrong")
    assert locked.status_code == 429
    assert "登录已锁定" in locked.text
    # Now even the right password is refused, for this user from this address...
    assert sign_in(client, "clerk_a", "Correct-horse-9").status_code == 429
    # ...but not other users at the same desk.
    people.clerk_b.set_password("Correct-horse-9")
    people.clerk_b.save()
    assert sign_in(client, "clerk_b", "Correct-horse-9").status_code == 302


def test_it_ends_a_session_left_idle(client, people, settings):
    client.force_login(people.clerk_a)
    assert client.get(reverse("home")).status_code == 200
    session = Session.objects.get()
    assert session.expire_date - timezone.now() <= datetime.timedelta(
        seconds=settings.SESSION_COOKIE_AGE
    )
    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(LOGIN)


def test_it_keeps_an_active_session_alive(client, people, monkeypatch):
    client.force_login(people.clerk_a)
    client.get(reverse("home"))
    first = Session.objects.get().expire_date
    import relief.middleware

    later = relief.middleware.time.time() + 600
    monkeypatch.setattr(relief.middleware.time, "time", lambda: later)
    client.get(reverse("home"))
    assert Session.objects.get().expire_date > first


def test_it_changes_the_users_own_password(client, people):
    people.clerk_a.set_password("Correct-horse-9")
    people.clerk_a.save()
    client.force_login(people.clerk_a)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "Correct-horse-9",
            "new_password1": "Battery-staple-7",
            "new_password2": "Battery-staple-7",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(pk=people.clerk_a.pk).check_password("Battery-staple-7")


def test_it_speaks_chinese_whatever_the_browser_asks(client, people):
    client.force_login(people.clerk_a)
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "工作台" in page.text and page.headers["Content-Language"] == "zh-hans"


def test_it_switches_to_english_on_request(client, people):
    client.force_login(people.clerk_a)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("home"))
    assert "Overview" in page.text and "工作台" not in page.text
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "工作台" in client.get(reverse("home")).text


def test_it_ignores_an_unknown_language_cookie(client, people, settings):
    client.force_login(people.clerk_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"
    assert "工作台" in client.get(reverse("home")).text
