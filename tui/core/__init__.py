"""The watch list as one controller over the poller, the store and the outputs; config and locations."""
