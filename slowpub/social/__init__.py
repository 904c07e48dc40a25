"""Accounts and the social graph.

``accounts`` (local accounts and their passwords), ``passwords`` (the
Argon2 hasher), ``settings`` (per-user
settings by the names the faces use), ``follows``, ``blocks``, ``moves``,
``instance_actor`` (the Service that signs our fetches), ``documents`` (the
AS2 documents of our actors and collections). May import the other domain
packages, storage and ``federation/``; never a face.
"""
