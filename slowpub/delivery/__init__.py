"""Delivery: signed POSTs of released activities to remote inboxes, retried.

``sending`` (claiming due deliveries and sending them), ``outcomes``
(recording what each attempt did, in batches), ``hosts`` (per-host health,
by Mastodon's rule), ``clients`` (the keep-alive pool or httpx per host).
May import storage, config and ``federation/``; never a face.
"""
