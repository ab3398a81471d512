"""Everybody Compose: a desktop instrument that turns tapped rhythm into melody, live."""

__version__ = "0.1.0"
