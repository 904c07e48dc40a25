"""The implementations of the ``slowpub`` commands, one module per area.

``slowpub.cli`` owns the parser and the error handling and calls into these
modules; they never import it back.
"""
