"""Which way a notification goes (activities/channels.py): GOV.UK Notify before SMTP, a text
message too only when urgent and the person has a mobile, and a warning that a message was not
delivered by the other channel where there is one."""

from __future__ import annotations

import pytest

from activities.channels import SmtpChannel, configured_channels, reference, routes
from activities.mail import Mailer, SmtpSettings
from activities.notify_channel import NotifyChannel, NotifySettings
from starters.notify_standin import SAMPLE_KEY
from tests.activities.activity_test_support import make_notification

NOTIFY = NotifyChannel(NotifySettings(api_key=SAMPLE_KEY))
SMTP = SmtpChannel(Mailer(SmtpSettings(host="127.0.0.1", port=25)))


def ways(channels, **fields) -> list[tuple[str, str]]:
    return [(c.name, medium) for c, medium in routes(channels, make_notification("k-1", **fields))]


def test_notify_is_preferred_and_texts_only_urgent_messages_to_a_mobile() -> None:
    assert ways([NOTIFY, SMTP]) == [("notify", "email")]
    assert ways([NOTIFY, SMTP], to_mobile="07700 900123") == [("notify", "email")]
    assert ways([NOTIFY, SMTP], to_mobile="07700 900123", urgent=True) == [("notify", "email"), ("notify", "sms")]
    assert ways([NOTIFY, SMTP], urgent=True) == [("notify", "email")]
    assert ways([SMTP], to_mobile="07700 900123", urgent=True) == [("smtp", "email")]


def test_a_warning_of_a_failure_goes_by_the_other_channel_where_there_is_one() -> None:
    assert ways([NOTIFY, SMTP], avoid=["notify"]) == [("smtp", "email")]
    assert ways([NOTIFY], avoid=["notify"]) == [("notify", "email")]
    # Only a mobile, and SMTP cannot text: Notify after all.
    assert ways([NOTIFY, SMTP], to_email=None, to_mobile="07700 900123", urgent=True, avoid=["notify"]) == [
        ("notify", "sms")
    ]


def test_nobody_reachable_and_no_channel_go_nowhere() -> None:
    assert ways([NOTIFY, SMTP], to_email=None) == []
    assert ways([]) == []


def test_a_reference_names_no_one_and_is_the_same_every_time() -> None:
    ref = reference("P-1:missing-1:sw-1", "notify", "sms")
    assert ref == reference("P-1:missing-1:sw-1", "notify", "sms")
    assert "sw-1" not in ref and "P-1" not in ref and ref.endswith("-notify-sms")


def test_a_notify_key_that_is_not_one_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from activities.channels import ChannelConfigError

    monkeypatch.setenv("CPPLAN_NOTIFY_API_KEY", "short")
    with pytest.raises(ChannelConfigError):
        configured_channels()
