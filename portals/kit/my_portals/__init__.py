"""« Mes portails » (R8): the person's accounts on every portal, and where they are signed in."""
