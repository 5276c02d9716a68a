"""Voice role-play trainer for networking conversations."""

__version__ = "0.1.0"
