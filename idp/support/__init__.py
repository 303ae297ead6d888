"""Support (R11): the « Changer d'administrateur » request anyone files, and the console where
support operators, signed in from the organisation's directory, act on it."""

from idp.support import console, request_handling, request_views, search
from idp.support.blueprint import bp

__all__ = ["bp", "console", "request_handling", "request_views", "search"]
