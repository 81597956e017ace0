"""The mail server of a host, along Postfix's own programs (``src/smtpd``, ``src/cleanup``, ``src/qmgr`` ...).

=====================================  ==========================================================================
module                                 Postfix program: what it does here
=====================================  ==========================================================================
:mod:`~netlab.mail.mta.master`         master: the host's server (:class:`Mta`), wiring the programs below,
                                       listening, crash and restart
:mod:`~netlab.mail.mta.smtpd`          smtpd: AUTH, sender, relay and recipient checks, hop limit, spam,
                                       ``Received:``
:mod:`~netlab.mail.mta.cleanup`        cleanup: queue id, missing ``Date``/``Message-ID``, into the queue
:mod:`~netlab.mail.mta.rewrite`        trivial-rewrite: local or remote, next hop, ``myorigin``
:mod:`~netlab.mail.mta.qmgr`           qmgr: incoming/active/deferred, backoff, expiry, delivery jobs
:mod:`~netlab.mail.mta.scheduler`      qmgr's scheduler: per-destination concurrency, dead destinations
:mod:`~netlab.mail.mta.smtp`           smtp: MX lookup, SMTP transactions, next MX on failure
:mod:`~netlab.mail.mta.local`          local: ``Return-Path``, filing into the host's mailboxes
:mod:`~netlab.mail.mta.bounce`         bounce: the DSN to the envelope sender
=====================================  ==========================================================================

Importing this package imports none of them; import what you use.
"""
