"""Adviser alerts without Telegram: who subscribed, what changed for them, and the outbox.

- :mod:`bot.alerts.subscriptions`: one subscription per chat, to some routes or all;
- :mod:`bot.alerts.digest`: what one subscriber hears about one refresh, rendered;
- :mod:`bot.alerts.outbox`: notices written to SQLite before anything is sent, and their states;
- :mod:`bot.alerts.stats`: what ``/stats`` shows admins.

A stored map version reaches advisers like this: the refresh job (:mod:`jobs.refresh`) calls
:func:`bot.alerts.outbox.enqueue_digests` with the version's change list, then wakes the sender
(:mod:`jobs.outbox`), which delivers the rows. Versions stored by the CLI are picked up by
:func:`bot.alerts.outbox.catch_up_digests`, run by the sender's polling job.
"""
