"""The SMS connector (bot/connectors/sms.py): the demo outbox, no gateway, background sending."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.connectors.sms import (
    OUTBOX_NAME,
    DemoSmsSender,
    NoSmsSender,
    SmsOutbox,
    SmsUnavailable,
    sms_sender,
)
from bot.core.settings import Settings, SettingsError
from testkit.fakes.sms import FailingSmsSender, RecordingSmsSender


def test_the_demo_sender_appends_to_an_outbox_under_var(tmp_path: Path) -> None:
    sender = sms_sender(Settings.from_env({"VAR_DIR": str(tmp_path), "SMS_PROVIDER": "demo"}))
    assert isinstance(sender, DemoSmsSender) and sender.path == tmp_path / OUTBOX_NAME
    sender.send("+32470123456", "Je Mila-code is 123456.")
    sender.send("+31612345678", "Your Mila code is 654321.")
    lines = (tmp_path / "sms_outbox.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert [(m["to"], m["text"]) for m in sender.messages()] == [
        ("+32470123456", "Je Mila-code is 123456."),
        ("+31612345678", "Your Mila code is 654321."),
    ]


def test_the_sender_is_a_setting(tmp_path: Path) -> None:
    assert Settings.from_env({}).sms_provider == "none"
    assert Settings.from_env({"DEMO": "1"}).sms_provider == "demo"
    assert isinstance(sms_sender(Settings.from_env({})), NoSmsSender)
    own = Settings.from_env({"SMS_PROVIDER": "testkit.fakes.sms:RecordingSmsSender"})
    assert isinstance(sms_sender(own), RecordingSmsSender)
    with pytest.raises(SettingsError):
        Settings.from_env({"SMS_PROVIDER": "twilio"})
    with pytest.raises(SmsUnavailable):
        NoSmsSender().send("+32470123456", "x")


def test_the_outbox_sends_in_the_background_and_logs_failures(caplog: pytest.LogCaptureFixture) -> None:
    recording = RecordingSmsSender()
    outbox = SmsOutbox(recording)
    outbox.send_later("+32470123456", "code 111111").result(timeout=5)
    outbox.send_later(lambda: "+32499887766", "code 222222").result(timeout=5)  # found in the worker
    outbox.send_later(lambda: None, "code 333333").result(timeout=5)  # no number on file: nothing
    assert recording.sent == [("+32470123456", "code 111111"), ("+32499887766", "code 222222")]
    assert recording.code_for("+32499887766") == "222222"

    failing = FailingSmsSender()
    with caplog.at_level(logging.WARNING, logger="bot.connectors.sms"):
        future = SmsOutbox(failing).send_later("+32470123456", "code 444444")
        with pytest.raises(SmsUnavailable):
            future.result(timeout=5)
    assert failing.calls == 1
    assert (
        "could not be sent" in caplog.text and "444444" not in caplog.text and "470123456" not in caplog.text
    )
