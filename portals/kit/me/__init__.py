"""« Mes informations » (R6, R14): the person's one identity, read and edited at the hub, and the
deletion of their own account on this portal."""
