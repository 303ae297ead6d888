"""Expiry reminders (R3): account holders are told before their account lapses, and their
structure's administrators get one digest of what to renew (R4), delegated ones included (R9)."""
