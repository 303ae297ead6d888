"""« Administration » (R2, R4, R7, R9, R15): for a structure's administrators on this portal —
and, by delegation, on the portals it leads to — « Gérer les comptes existants » (filter by
portal, renew, change, delete, export), « Créer un compte » and « Historique ». Every decision
is the hub's, through its administration API with the admin's access token."""
