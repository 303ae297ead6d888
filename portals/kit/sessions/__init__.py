"""Server-side portal sessions: the cookie carries a random key, the portal's database holds the
rest, so that a back-channel logout from the hub really ends them (`store.end_by_sid`)."""
