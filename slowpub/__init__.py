"""slowpub: a self-hosted ActivityPub server for using the Fediverse slowly.

The application lives here; the protocol layer it speaks is the separate
``federation`` package, which never imports this one.
"""

__version__ = "0.1.0"
