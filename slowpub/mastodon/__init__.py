"""The Mastodon client API's view of slowpub: entities and the queries behind them.

Everything here translates; posting, the queue and the bundle live in the
domain modules, which the Mastodon API calls like every other face.
"""
