"""What a message is made of, apart from any program: envelope addresses, RFC 5322 content, DSNs, spam scores.

Pure modules (no SimPy, no network): :mod:`~netlab.mail.content.address`, :mod:`~netlab.mail.content.message`,
:mod:`~netlab.mail.content.dsn`, :mod:`~netlab.mail.content.spam`.
"""
