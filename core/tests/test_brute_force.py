"""Guessing passwords or tokens gets an address locked out or slowed down; tokens expire."""

import base64
import logging
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_forty_wrong_passwords_then_the_right_one_does_not_log_in(client, caplog):
    User.objects.create_superuser("admin", "a@example.com", "right-password")
    with caplog.at_level(logging.WARNING):
        for _ in range(40):
            client.post("/admin/login/", {"username": "admin", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "admin", "password": "right-password"})
    assert response.status_code == 429  # locked out
    assert "_auth_user_id" not in client.session
    assert any("login failure" in record.getMessage().lower() for record in caplog.records)  # failures are logged


def test_a_few_wrong_passwords_then_the_right_one_logs_in(client):
    User.objects.create_superuser("admin", "a@example.com", "right-password")
    for _ in range(3):
        client.post("/admin/login/", {"username": "admin", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "admin", "password": "right-password"})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_an_address_guessing_tokens_is_slowed_down(settings):
    settings.FACEREC = {"TOKEN_FAILURE_LIMIT": 5}
    client = APIClient()
    answers = [client.get("/api/entries/", HTTP_AUTHORIZATION=f"Token bogus{i}").status_code for i in range(8)]
    assert answers[:5] == [401] * 5 and answers[5:] == [429] * 3


def test_tokens_expire_and_can_be_revoked(superuser):
    token = Token.objects.create(user=superuser)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/entries/").status_code == 200
    Token.objects.filter(pk=token.pk).update(created=timezone.now() - timedelta(days=91))
    expired = client.get("/api/entries/")
    assert expired.status_code == 401 and "expired" in expired.json()["message"]
    token.delete()  # revoked
    assert client.get("/api/entries/").status_code == 401


def test_identify_and_verify_have_their_own_tighter_rate(api, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES,
                                                               "recognition": "2/min"})
    body = {"Image": base64.b64encode(b"not a photo").decode()}
    answers = [api.post("/api/identify/", body, format="json").status_code for _ in range(3)]
    assert answers == [415, 415, 429]
    assert api.post("/api/identify/", body, format="json").json()["code"] == "throttled"
    assert api.get("/api/entries/").status_code == 200  # other endpoints keep their own budget
