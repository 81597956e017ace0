"""Mail on netlab: the story of one message from a sender's client to a recipient's mailbox.

The pure modules (no SimPy, no network) hold the protocol knowledge and are shared by the simulation and the
live bridge: :mod:`~netlab.mail.address` (envelope addresses), :mod:`~netlab.mail.message` (RFC 5322 content,
trace headers, dot-stuffing), :mod:`~netlab.mail.smtp` (sans-IO SMTP server and client state machines),
:mod:`~netlab.mail.spam` (deterministic rule scoring), :mod:`~netlab.mail.dsn` (RFC 3464 bounces) and
:mod:`~netlab.mail.maillog` (Postfix-style log lines). Errors live in :mod:`~netlab.mail.errors`.

Nothing is imported here on purpose: ``import netlab.mail.smtp`` must not pull SimPy, DNS or pandas in.
"""
