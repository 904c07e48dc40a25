"""Auth: who is calling, and what they may do.

The OAuth 2.0 authorization server's decisions: ``clients`` (registration,
redirect URIs, client authentication, metadata documents), ``client_documents``
(the bounds on fetching those documents for strangers), ``grants``
(codes with PKCE, password and client-credentials grants, revocation),
``scopes``, ``access`` (the bearer token on an API request), ``errors``.
Password logins, for every face: ``logins`` (the one door),
``password_checks`` (Argon2 off the event loop), ``login_limits`` (failures
per address and account). ``web_sessions``: the browser sessions behind the
login cookie (the cookie itself is the web face's, ``slowpub.web.sessions``).
Password hashes are ``slowpub.social.passwords``'. May import storage and
``slowpub.social``; never a face.
"""
