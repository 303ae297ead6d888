"""Starts the hub and the portals together, as processes that speak HTTP to each other: the one
place that knows both. The identity provider (`idp`) never imports the portals, and the portals
never import the hub; this package only starts them (`hub run --demo`) and stops them."""
