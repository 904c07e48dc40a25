"""The outgoing flow: from what a user writes to the activities that leave.

``posting`` (the one posting service every face calls) with ``drafts``
(validating and rendering a post) and ``retraction`` (deletes and undos),
``text`` (plain text to HTML and tags), ``policy`` and ``timing`` (when an
item may leave), ``release`` (the scheduler's work), ``audience`` (who
receives it), ``notes`` and ``activities`` (the AS2 we send), ``queue_views``
(read-only views for the faces). Delivery itself is in ``slowpub.delivery``.
May import the other domain packages, storage and ``federation/``; never a
face.
"""
