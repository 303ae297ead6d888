"""Registration of a structure on a portal (R1, R10, R12): matricule and contract number, the
person's details and the CGU, a validation link by mail, then a password — and the person is the
structure's first administrator on that portal."""
