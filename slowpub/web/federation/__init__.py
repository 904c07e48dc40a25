"""What other servers call: discovery, our actors, our posts, the inboxes.

``wellknown`` (WebFinger, host-meta, NodeInfo), ``actors`` (actors and their
collections, AS2 or HTML), ``statuses`` (a post at its id, or its
Tombstone), ``inbox`` (the inbox routes onto ``slowpub.inbound.accept``).
"""
