"""Signing in through the hub (OIDC code flow + PKCE), keeping the sign-in fresh, single logout
(RP-initiated and back-channel), and the access decorators built on the hub's claims."""
