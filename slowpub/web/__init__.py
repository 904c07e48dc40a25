"""The HTTP faces of slowpub: thin routes that parse, call the domain, and map errors."""
