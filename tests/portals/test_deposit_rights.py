"""Who may deposit for whom on Certificateurs (R7, R12, R13), from the hub's claims alone."""

from __future__ import annotations

from portals.certificateurs.rights import deposit_rights
from portals.kit.auth.access import Person
from portals.kit.messages import right_missing, right_not_delegated
from portals.kit.structures import StructureRef
from tests.portals.conftest import account, claims

ALPHA = StructureRef("100001", "Organisme Alpha Formation")
BETA = StructureRef("100002", "Certif Beta")
DELTA = StructureRef("100004", "Delta Certification")
GAMMA = StructureRef("100003", "Gamma Dépôts (tiers de confiance)")


def rights_of(*accounts):
    return deposit_rights(Person.from_claims(claims(*accounts)))


def test_r13_a_certifier_s_account_with_data_exchange_deposits_for_its_own_structure():
    rights = rights_of(account())

    assert rights.may_deposit
    assert rights.certifiers == (ALPHA,)
    assert not rights.for_several
    assert rights.channel("100001").depositor == ALPHA


def test_r7_without_data_exchange_nothing_and_the_reason():
    rights = rights_of(account(rights=()))

    assert not rights.may_deposit
    assert rights.refusal == right_missing("data_exchange")


def test_r5_an_expired_account_deposits_nothing():
    assert not rights_of(account(expired=True)).may_deposit


def test_r9_a_delegated_administrator_is_told_the_right_belongs_to_the_structure_s_accounts():
    rights = rights_of(account(role="admin", via="soltea", rights=()))

    assert rights.refusal == right_not_delegated("data_exchange", "soltea")


def test_r12_a_tiers_de_confiance_deposits_for_the_certifiers_it_is_mandated_by_only():
    gamma = account(
        matricule=GAMMA.matricule,
        name=GAMMA.name,
        deposits_for=((DELTA.matricule, DELTA.name), (BETA.matricule, BETA.name)),
    )

    rights = rights_of(gamma)

    assert rights.certifiers == (BETA, DELTA)
    assert rights.for_several
    assert rights.channel("100002").depositor == GAMMA
    assert rights.channel("100002").mandated
    assert rights.channel("100003") is None  # not for itself
    assert rights.channel("100001") is None
