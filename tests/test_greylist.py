"""Greylisting with postgrey's defaults (delay 300 s, retry window 2 d, max age 35 d, auto-whitelist after 5):
the rules on the state machine, and the interaction with the sending queue's retry schedule in the simulation."""

from __future__ import annotations

import pytest
from mail_helpers import raw_session, run, send

from netlab.errors import ConfigError
from netlab.mail.config import ServerSpec
from netlab.mail.mta.postgrey import Postgrey

A, B = "a@a.test", "b@b.test"


def test_defaults_are_postgreys() -> None:
    g = Postgrey()
    assert (g.delay_s, g.retry_window_s, g.max_age_s, g.awl) == (300, 2 * 86400, 35 * 86400, 5)
    s = ServerSpec("mx1", domains=("b.test",))
    assert (s.greylist, s.greylist_delay_s, s.greylist_retry_window_s, s.greylist_max_age_s, s.greylist_awl) == (
        False, 300, 2 * 86400, 35 * 86400, 5)  # fmt: skip


@pytest.mark.parametrize(
    ("retry_at", "action"),
    [(299.0, "greylist"), (300.0, "pass"), (86400.0, "pass"), (2 * 86400.0 + 1, "greylist")],
)
def test_first_retry_passes_after_the_delay_within_the_retry_window(retry_at: float, action: str) -> None:
    g = Postgrey()
    assert g.check("10.0.0.7", A, B, 0.0).reason == "new"
    assert g.check("10.0.0.7", A, B, retry_at).action == action


def test_triplet_is_the_client_subnet_sender_and_recipient() -> None:
    g = Postgrey()
    g.check("10.0.0.7", A, B, 0.0)
    assert g.check("10.0.0.200", A, B, 400.0).action == "pass"  # same /24
    assert g.check("10.0.1.7", A, B, 400.0).action == "greylist"  # another network
    assert g.check("10.0.0.7", "c@a.test", B, 400.0).action == "greylist"  # another sender
    assert g.check("10.0.0.7", A, "c@b.test", 400.0).action == "greylist"  # another recipient


def test_passed_triplet_is_forgotten_after_max_age() -> None:
    g = Postgrey()
    g.check("10.0.0.7", A, B, 0.0)
    g.check("10.0.0.7", A, B, 300.0)
    assert g.check("10.0.0.7", A, B, 300.0 + 35 * 86400).action == "pass"  # seen within max-age
    assert g.check("10.0.0.7", A, B, 300.0 + 71 * 86400).reason == "new"


def test_client_auto_whitelisted_after_five_passes() -> None:
    g = Postgrey()
    g.check("10.0.0.7", A, B, 0.0)
    for i in range(5):
        assert g.check("10.0.0.7", A, B, 300.0 + i).reason == "triplet found"
    assert g.check("10.0.0.7", "new@a.test", "new@b.test", 400.0).reason == "client AWL"
    assert Postgrey(awl=0).check("10.0.0.7", A, B, 0.0).action == "greylist"


def test_bad_settings_refused() -> None:
    with pytest.raises(ConfigError, match="greylist_awl"):
        ServerSpec("mx1", domains=("b.test",), greylist=True, greylist_awl=-1)


# -------------------------------------------------------------------- in the simulation


def _mail(**extra: object) -> dict[str, object]:
    return {"servers": [{"host": "msa", "role": "msa", "domains": ["a.test"]},
                        {"host": "mx1", "role": "mx", "domains": ["a.test", "b.test"], "spam_action": "tag",
                         "greylist": True, **extra},
                        {"host": "mx2", "role": "relay", "relay_domains": ["b.test"]}]}  # fmt: skip


def test_first_time_mail_waits_for_the_senders_retry_repeat_mail_does_not() -> None:
    res, _ = run({**_mail(), "send": [send(["bob@b.test"]), send(["bob@b.test"], at=1000.0)]})
    m = res.messages
    assert m.status.tolist() == ["delivered", "delivered"]
    first, repeat = (m.delivered_s - m.submitted_s).tolist()
    # the 450 defers the message for minimal_backoff (300 s) after the failure at t = 0.05 s; deferred-queue scans
    # run every queue_run_delay (300 s), so the one at 300 s is a few ms too early and the retry comes at 600 s
    assert 600.0 <= first <= 600.1
    assert repeat < 1.0  # the triplet passed: no greylisting
    log = "\n".join(res.maillog.text)
    assert "action=greylist, reason=new, client_name=msa" in log
    assert "action=pass, reason=triplet found, delay=" in log
    assert "450 4.2.0 <bob@b.test>: Recipient address rejected: Greylisted" in log  # the sender's deferral


def test_greylisted_retry_time_is_the_queue_schedule() -> None:
    # with the delay above the backoff, the retries come at the qmgr schedule (300, 600, 1200 s after the first
    # attempt ...) and the first one after the delay passes
    res, _ = run({**_mail(greylist_delay="700s"), "send": [send(["bob@b.test"])]})
    delay = (res.messages.delivered_s - res.messages.submitted_s).iloc[0]
    assert 1200.0 <= delay <= 1200.1  # attempts at 0, 300, 600 (early retries), 1200 s: Postfix's backoff
    text = res.maillog.text
    assert text.str.contains("action=greylist, reason=early-retry").sum() >= 1


def test_a_bot_that_does_not_retry_delivers_nothing() -> None:
    lines = raw_session(_mail(), "mx1", 25, [b"EHLO bot.far.test\r\n", b"MAIL FROM:<x@far.test>\r\n",
                                             b"RCPT TO:<bob@b.test>\r\n", b"QUIT\r\n"])  # fmt: skip
    assert lines[-2].startswith(b"450 4.2.0 <bob@b.test>: Recipient address rejected: Greylisted")


def test_qmgr_logs_queue_active_before_each_attempt() -> None:
    # Postfix's qmgr writes "(queue active)" each time it reads the queue file into the active queue, so each
    # retry from the deferred queue is preceded by one: here four attempts (0, 300, 600, 1200 s) at the msa
    res, _ = run({**_mail(greylist_delay="700s"), "send": [send(["bob@b.test"])]})
    log = res.maillog
    msa = log[(log.host == "msa") & (log.program.isin(["qmgr", "smtp"]))]
    qid = msa.queue_id.iloc[0]
    one = msa[msa.queue_id == qid]
    events = ["active" if t.endswith("(queue active)") else s for t, s in zip(one.text, one.status, strict=True)
              if t.endswith("(queue active)") or s in ("deferred", "sent")]  # fmt: skip
    assert events == ["active", "deferred", "active", "deferred", "active", "deferred", "active", "sent"]
    assert one.text[one.text.str.endswith("(queue active)")].str.contains(", nrcpt=1 ").all()
