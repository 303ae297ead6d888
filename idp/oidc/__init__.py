"""The OpenID Connect provider: discovery, JWKS, authorization, token, userinfo, revocation,
introspection, logout (RP-initiated and back-channel)."""
