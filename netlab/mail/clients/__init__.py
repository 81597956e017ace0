"""The mail programs of the users: the sender's (:mod:`~netlab.mail.clients.mua`, submission) and the recipient's
(:mod:`~netlab.mail.clients.fetch`, POP3/IMAP).
"""
