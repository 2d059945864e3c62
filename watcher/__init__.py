"""followup-watcher: tells you which proposals and contracts you sent got no reply."""

__version__ = "0.1.0"
