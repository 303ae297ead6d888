"""Every model, imported once so that `Base.metadata` is complete (migrations, tests)."""

from hub.accounts.models import (
    Account,
    Invitation,
    InvitationStatus,
    RenewalReceipt,
    Right,
    Role,
)
from hub.audit.models import AuditEvent
from hub.database import Base
from hub.email_changes.models import EmailChange
from hub.leases import Lease
from hub.mail.models import MailStatus, OutboxMessage
from hub.oidc.models import (
    AuthorizationCode,
    BrowserSession,
    LogoutDelivery,
    OAuthToken,
    OidcClient,
    SessionClient,
    SigningKey,
)
from hub.portals.models import DelegationRule, Portal
from hub.registration.models import Registration, RegistrationStatus, TermsAcceptance
from hub.reminders.models import ReminderSent
from hub.structures.models import Contract, Mandate, Structure, StructureKind
from hub.support.models import AdminChangeRequest, SupportSession
from hub.throttle import LoginThrottle
from hub.users.models import Civility, User

__all__ = [
    "Account",
    "AdminChangeRequest",
    "AuditEvent",
    "AuthorizationCode",
    "Base",
    "BrowserSession",
    "Civility",
    "Contract",
    "DelegationRule",
    "EmailChange",
    "Invitation",
    "InvitationStatus",
    "Lease",
    "LoginThrottle",
    "LogoutDelivery",
    "MailStatus",
    "Mandate",
    "OAuthToken",
    "OidcClient",
    "OutboxMessage",
    "Portal",
    "Registration",
    "RegistrationStatus",
    "ReminderSent",
    "RenewalReceipt",
    "Right",
    "Role",
    "SessionClient",
    "SigningKey",
    "Structure",
    "StructureKind",
    "SupportSession",
    "TermsAcceptance",
    "User",
]
