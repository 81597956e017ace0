"""Mail on netlab: the story of one message from a sender's client to the recipient's screen.

The folders are the programs of that story:

* :mod:`~netlab.mail.content` (address, message, dsn, spam): what a message is made of;
* :mod:`~netlab.mail.smtp`, :mod:`~netlab.mail.imap`, :mod:`~netlab.mail.pop3`: the protocols as sans-IO sessions,
  shared by the simulation and the live bridge, with their drivers over a transport stream;
* :mod:`~netlab.mail.dns` (zone, server, resolver): MX and A lookups over the simulated network;
* :mod:`~netlab.mail.clients` (mua, fetch): the users' mail programs, submitting and fetching;
* :mod:`~netlab.mail.mta`: the mail server of a host along Postfix's programs (master, smtpd, cleanup,
  trivial-rewrite, qmgr and its scheduler, smtp, local, bounce);
* :mod:`~netlab.mail.mailbox` (agent, store, inbox, table): where mail ends, the MDA and the POP3/IMAP servers;
* :mod:`~netlab.mail.config`: the scenario's ``mail:`` section.

At the root: :mod:`~netlab.mail.system` (the runner extension that builds and wires the agents),
:mod:`~netlab.mail.context` (the small view of the run every agent gets), :mod:`~netlab.mail.workload` (scripted
and random mail), :mod:`~netlab.mail.tracker` (the books and mail conservation), :mod:`~netlab.mail.maillog`
(Postfix-style log lines) and :mod:`~netlab.mail.errors`.

Nothing is imported here on purpose: ``import netlab.mail.smtp`` must not pull SimPy, DNS or pandas in.
"""
