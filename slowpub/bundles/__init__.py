"""Bundles: what came in, sealed once a day and handed over in one piece.

``sealing`` (closing each user's bundle at their time), ``view`` (a bundle
arranged for reading, as text, HTML and JSON), ``mail`` (sending it by
e-mail). Templates come from ``slowpub.templating``, never from ``web/``.
May import the other domain packages and storage; never a face.
"""
