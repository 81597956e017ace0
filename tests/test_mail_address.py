"""Envelope address parsing (RFC 5321 §4.1.2, §4.5.3.1)."""

from __future__ import annotations

import pytest

from netlab.errors import ConfigError
from netlab.mail.content.address import Address, parse_address, qualify, user_key
from netlab.mail.errors import MailAddressError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alice@example.org", Address("alice", "example.org")),
        ("<Alice.Smith@Example.ORG>", Address("Alice.Smith", "example.org")),
        ("Alice <alice@example.org>", Address("alice", "example.org")),
        ('"john doe"@example.org', Address('"john doe"', "example.org")),
        ("user+tag@[10.0.0.1]", Address("user+tag", "[10.0.0.1]")),
        ("<@relay.example:bob@b.example>", Address("bob", "b.example")),
    ],
)
def test_valid_addresses(text: str, expected: Address) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["<>", "", "  <> "])
def test_null_sender(text: str) -> None:
    address = parse_address(text)
    assert address == Address.null() and address.is_null and str(address) == "" and address.path == "<>"


@pytest.mark.parametrize(
    "text", ["alice@", "@example.org", "a b@example.org", "alice@-bad.example", "alice@exa_mple.org", "a..b@x.org",
             "x" * 65 + "@example.org", "alice@" + "a" * 64 + ".org", "<alice@example.org", "alice"],
)  # fmt: skip
def test_invalid_addresses_raise_config_errors(text: str) -> None:
    with pytest.raises(MailAddressError) as info:
        parse_address(text)
    assert isinstance(info.value, ConfigError) and repr(text)[1:-1][:10] in str(info.value)


def test_qualify_and_default_domain() -> None:
    assert parse_address("bob", default_domain="B.example") == Address("bob", "b.example")
    assert qualify("bob", "b.example") == "bob@b.example"
    assert qualify("bob@c.example", "b.example") == "bob@c.example"
    assert qualify("<>", "b.example") == "<>"
    assert qualify(Address("bob", "c.example"), "b.example") == Address("bob", "c.example")


@pytest.mark.parametrize(("address", "fold", "expected"), [
    ("HEIDI@beta.example", True, "heidi@beta.example"),
    ("heidi@BETA.EXAMPLE", True, "heidi@beta.example"),
    ("HEIDI@BETA.EXAMPLE", False, "HEIDI@beta.example"),  # RFC 5321 §2.4: the local part as given
    ('"Odd Name"@Beta.Example', True, '"odd name"@beta.example'),
    ("Bob", True, "bob"),  # a bare store user
    ("Bob", False, "Bob"),
])  # fmt: skip
def test_user_key_folds_the_domain_and_the_local_part_if_asked(address: str, fold: bool, expected: str) -> None:
    assert user_key(address, fold_local_part=fold) == expected
