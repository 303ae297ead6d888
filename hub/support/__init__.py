"""R11's support: the operators of the organisation, who sign in from its directory."""
