"""Auth: who is calling, and what they may do.

The OAuth 2.0 authorization server's decisions: ``clients`` (registration,
redirect URIs, client authentication, metadata documents), ``client_documents``
(the bounds on fetching those documents for strangers), ``grants``
(codes with PKCE, password and client-credentials grants, revocation),
``scopes``, ``access`` (the bearer token on an API request), ``errors``.
Local passwords are checked in ``slowpub.social.accounts``; the login
cookie is the web face's (``slowpub.web.sessions``). May import storage and
``slowpub.social``; never a face.
"""
