"""The OAuth 2.0 face: discovery, registration, consent and tokens over HTTP.

Thin on purpose: every decision about clients, codes and tokens is made in
:mod:`slowpub.auth`. ``params`` (bodies and answers), ``registration``,
``consent`` (the authorization endpoint), ``tokens``, ``routes``.
"""
