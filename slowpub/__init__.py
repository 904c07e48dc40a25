"""slowpub: a self-hosted ActivityPub server for using the Fediverse slowly.

The folder reads like the data flow: ``outbound`` (posting, the cooling
queue, release) and ``delivery`` carry what a user writes out; ``inbound``
takes what arrives and files it; ``bundles`` hands it over once a day;
``auth`` and ``social`` are who may do what and who knows whom; ``storage``
holds it all. The faces (``web``, ``commands``, ``cli``) call the domain,
never the reverse. The protocol layer is the separate ``federation``
package, which never imports this one.
"""

__version__ = "0.1.0"
