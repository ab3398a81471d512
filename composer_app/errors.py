"""Exceptions that carry a plain-words message for the user (shown without a traceback)."""


class UserError(Exception):
    """A problem with the user's input or environment, worded for the user."""
