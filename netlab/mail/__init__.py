"""Mail on netlab: the story of one message from a sender's client to the recipient's screen.

The pure modules (no SimPy, no network) hold the protocol knowledge and are shared by the simulation and the
live bridge: :mod:`~netlab.mail.content.address` (envelope addresses), :mod:`~netlab.mail.content.message` (RFC 5322 content,
trace headers, dot-stuffing), :mod:`~netlab.mail.smtp` (sans-IO SMTP server and client state machines),
:mod:`~netlab.mail.content.spam` (deterministic rule scoring), :mod:`~netlab.mail.content.dsn` (RFC 3464 bounces),
:mod:`~netlab.mail.maillog` (Postfix-style log lines), :mod:`~netlab.mail.mailbox.store` (message store and MDA),
:mod:`~netlab.mail.pop3` and :mod:`~netlab.mail.imap` (sans-IO sessions). Errors live in :mod:`~netlab.mail.errors`.
On the network: :mod:`~netlab.mail.mta.master`, :mod:`~netlab.mail.clients.mua` (submission), :mod:`~netlab.mail.mailbox.inbox` (POP3 and
IMAP servers on an mx), :mod:`~netlab.mail.clients.fetch` (the recipients' mail programs), :mod:`~netlab.mail.system`.

Nothing is imported here on purpose: ``import netlab.mail.smtp`` must not pull SimPy, DNS or pandas in.
"""
