"""The Mastodon client API: the routes and the entities they answer with.

``statuses``, ``reactions`` (favourites and boosts), ``scheduled`` (the
cooling queue), ``accounts``, ``timelines`` (home, notifications, markers:
sealed bundles only), ``notifications`` (4.3's groups, unread count, policy
and requests), ``status_batch`` (several statuses by id), ``bookmarks``
(bookmarks and favourites lists), ``push`` (no Web Push, said clearly),
``misc`` (instance, preferences, empty lists), ``entities`` and ``lookups``.
Everything here translates; posting, the queue and the bundle live in the
domain, which this face calls like every other.
"""
