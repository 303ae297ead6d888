"""The hub's JSON API (`/api/v1`), called by the portals with the signed-in person's access
token: every decision is taken here, from the token's person and scopes."""
