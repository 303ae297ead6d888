"""People signing in to the hub: the sign-in page, the single sign-on session cookie, CSRF,
throttling of failed attempts."""
