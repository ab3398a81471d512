"""Exceptions that carry a plain-words message for the user (shown without a traceback)."""


class UserError(Exception):
    """A problem with the user's input or environment, worded for the user."""


class Cancelled(UserError):
    """The player asked a long job (a recolouring, a fine-tuning run) to stop.

    Raised from inside the job's loop (its progress callback) so the job unwinds at once; the job's runner catches
    it before any other error and reports a cancellation, not a failure. One class for every job, in this Qt-free
    module, so the GUI and the training code agree on what "cancelled" is.
    """
