"""Changing one's e-mail address (issue 6 §2): the new address is validated before it replaces
the old one, which is told of the request."""
