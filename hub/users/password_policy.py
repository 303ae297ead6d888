"""What a new password must be (R14): long, varied, and not guessable from who the person is or
from the lists attackers try first. The rules are shown on every page that asks for one
(`RULES`), so a refusal never comes as a surprise.
"""

from __future__ import annotations

import string
import unicodedata

from hub.errors import InvalidField
from hub.passwords import PASSWORD_MAX

MIN_LENGTH = 12
MIN_CLASSES = 3
FIELD = "password"

RULES = (
    f"au moins {MIN_LENGTH} caractères",
    f"au moins {MIN_CLASSES} types de caractères parmi : minuscules, majuscules, chiffres, "
    "caractères spéciaux",
    "différent de votre identifiant et de votre adresse e-mail",
    "pas un mot de passe courant",
)

# The most common passwords of public breach lists, lower-cased, that would otherwise pass the
# length and variety rules once capitalised or suffixed (« Azerty123456! »): their stems are
# refused whatever the case, digits or symbols around them.
COMMON_STEMS = frozenset(
    {
        "password", "motdepasse", "azerty", "qwerty", "azertyuiop", "qwertyuiop", "123456",
        "1234567890", "111111", "000000", "abc123", "iloveyou", "jetaime", "soleil", "bonjour",
        "doudou", "loulou", "chouchou", "marseille", "football", "welcome", "bienvenue",
        "admin", "administrateur", "changeme", "letmein", "monkey", "dragon", "sunshine",
        "princess", "master", "secret", "portail", "soltea", "certificateurs", "formation",
    }
)  # fmt: skip


def character_classes(password: str) -> int:
    """How many of lower case, upper case, digits and other characters the password uses."""
    kinds = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return sum(kinds)


def _stem(password: str) -> str:
    """The password folded to lower-case ASCII letters and digits, without the digits and
    symbols people add around a word to satisfy rules."""
    folded = unicodedata.normalize("NFKD", password).encode("ascii", "ignore").decode().lower()
    core = "".join(c for c in folded if c.isalnum())
    return core.strip(string.digits) or core


def check(password: str, *, username: str, email: str) -> None:
    """Raises `InvalidField("password", …)` with the first rule `password` breaks."""
    if len(password) < MIN_LENGTH:
        raise InvalidField(
            FIELD, f"Le mot de passe doit contenir au moins {MIN_LENGTH} caractères."
        )
    if len(password) > PASSWORD_MAX:
        raise InvalidField(FIELD, "Le mot de passe est trop long.")
    if character_classes(password) < MIN_CLASSES:
        raise InvalidField(
            FIELD,
            f"Le mot de passe doit mélanger au moins {MIN_CLASSES} types de caractères : "
            "minuscules, majuscules, chiffres, caractères spéciaux.",
        )
    lowered = password.lower()
    local_part = email.split("@", 1)[0].lower()
    if username.lower() in lowered or (len(local_part) >= 4 and local_part in lowered):
        raise InvalidField(
            FIELD, "Le mot de passe ne doit contenir ni votre identifiant ni votre adresse e-mail."
        )
    stem = _stem(password)
    if stem in COMMON_STEMS or any(stem.startswith(s) and len(s) >= 6 for s in COMMON_STEMS):
        raise InvalidField(FIELD, "Ce mot de passe est trop courant. Choisissez-en un autre.")
