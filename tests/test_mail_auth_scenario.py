"""The bundled scenario topologies/mail-auth.yaml: SPF, DKIM and DMARC records and a forged-sender mix; every
forgery of alpha (p=reject) rejected, every forgery of partner (p=quarantine) flagged and filed into Junk, genuine
mail passing into INBOX."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

import netlab
from netlab.experiment.runner import Simulation

SCENARIO = Path(__file__).resolve().parents[1] / "topologies" / "mail-auth.yaml"


@pytest.fixture(scope="module")
def ran() -> tuple[netlab.Results, object]:
    sim = Simulation(netlab.load_scenario(str(SCENARIO)))
    res = sim.execute()
    return res, sim.extensions[0]


def test_forgeries_get_their_domains_policy_and_genuine_mail_passes(ran: tuple[netlab.Results, object]) -> None:
    res, _ = ran
    m = res.messages[res.messages.kind == "mail"]
    forged = m.message_id.str.contains("@bot.bot>")
    alpha = m.mail_from.str.endswith("@alpha.example")
    assert forged.sum() > 0 and (~forged).sum() > 0
    # genuine mail: SPF and DMARC pass; alpha's by its relay's DKIM signature too, partner's (unsigned) by SPF
    real = m[~forged]
    assert (real.status == "delivered").all() and (real.dmarc == "pass").all() and (real.spf == "pass").all()
    assert set(real[alpha[~forged]].dkim) == {"pass"} and set(real[~alpha[~forged]].dkim) == {"none"}
    # forgeries: unsigned, from a host no SPF record names
    fake = m[forged]
    assert (fake.dmarc == "fail").all() and (fake.dkim == "none").all()
    assert set(fake[alpha[forged]].spf) == {"fail"} and set(fake[~alpha[forged]].spf) == {"softfail"}
    assert (fake[alpha[forged]].status == "rejected").all() and (fake[alpha[forged]].dsn == "5.7.1").all()
    assert (fake[~alpha[forged]].status == "delivered").all()  # quarantined: delivered with the flag
    # the quarantined land in Junk, genuine mail in INBOX
    assert set(fake[~alpha[forged]].folder) == {"Junk"} and set(real.folder) == {"INBOX"}
    # nothing lost: every (message, recipient) is delivered or rejected
    assert res.summary["mail"]["messages"] == {"delivered": int((m.status == "delivered").sum()),
                                               "rejected": int((m.status == "rejected").sum())}  # fmt: skip


def test_aggregate_report_counts_the_messages(ran: tuple[netlab.Results, object]) -> None:
    res, _ = ran
    m = res.messages[res.messages.kind == "mail"]
    per_message = m.drop_duplicates("message_id")
    rep = res.dmarc_reports
    assert rep["count"].sum() == len(per_message)
    by = rep.groupby(["header_from", "dmarc"])["count"].sum().to_dict()
    forged = per_message.message_id.str.contains("@bot.bot>")
    alpha = per_message.mail_from.str.endswith("@alpha.example")
    assert by[("alpha.example", "fail")] == (forged & alpha).sum()
    assert by[("partner.example", "fail")] == (forged & ~alpha).sum()
    assert set(rep[rep.dmarc == "fail"].disposition) == {"reject", "quarantine"}


def test_delivered_alpha_mail_verifies_with_dkimpy_and_partner_forgery_is_flagged(
    ran: tuple[netlab.Results, object],
) -> None:
    import dkim

    _, system = ran
    txt = system.dkim_keys["alpha.example"][0].key.dns_txt()  # type: ignore[attr-defined]
    store = system.stores["mx-b"]  # type: ignore[attr-defined]
    flagged = verified = 0
    for user in ("dave@beta.example", "erin@beta.example"):
        junk = store.mailbox(user, "Junk").entries
        assert all(b"\r\nX-Spam-Flag: YES\r\n" in e.raw for e in junk)
        assert not any(b"\r\nX-Spam-Flag: YES\r\n" in e.raw for e in store.mailbox(user).entries)
        for entry in [*store.mailbox(user).entries, *junk]:
            msg = BytesParser(policy=policy.default).parsebytes(entry.raw)
            if msg["From"].addresses[0].domain == "alpha.example":
                assert dkim.verify(entry.raw, dnsfunc=lambda name, timeout=5: txt.encode())
                verified += 1
            if msg["X-Spam-Flag"] == "YES":
                assert "dmarc=fail (p=quarantine dis=quarantine) header.from=partner.example" in str(
                    msg["Authentication-Results"]
                )
                flagged += 1
    assert verified > 0 and flagged > 0


def test_runs_without_authentication_load_neither_library() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.path.insert(0, 'tests'); from mail_helpers import run, send; "
            "res, _ = run({'send': [send(['bob@b.test'])]}); assert res.messages.status.tolist() == ['delivered']; "
            "print(sorted(m for m in ('spf', 'dkim') if m in sys.modules))")  # fmt: skip
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout
    assert out.strip() == "[]"
