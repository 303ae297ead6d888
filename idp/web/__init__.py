"""What every blueprint of the identity provider shares, and nothing else: the app's settings,
the browser's session at the hub and its cookies, CSRF, the registry of clients and portals,
the pages that only say something and their French messages, the address throttling counts
against. This layer imports no blueprint (`idp.auth`, `idp.oidc`, `idp.registration`,
`idp.api`): import-linter's contracts in pyproject.toml keep it so."""
