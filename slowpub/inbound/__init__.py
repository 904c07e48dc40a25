"""The incoming flow: from a POST to an inbox to items filed for a user.

``accept`` (signature and origin checks, then store and acknowledge),
``group_commit`` (many inbox requests share one transaction), ``processing``
(what each stored activity does to us), ``intake`` (posts, boosts, likes,
edits, deletes), ``items`` (filing inbound items once), ``remote_actors``
(fetching and caching actors and keys), ``sanitize`` (the one gate for
remote HTML). May import the other domain packages, storage and
``federation/``; never a face.
"""
