"""What the OpenID Connect provider keeps: its clients (the portals), its signing keys, the
people's single sign-on sessions, and the codes and tokens it has issued.

Secrets (client secrets, codes, tokens, session ids) are stored as SHA-256 digests: they are
random and long, so a fast digest is enough, and a copy of the database gives nobody a usable
credential. Only the session cookie and the relying parties hold the raw values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.clock import utcnow
from hub.database import Base, BigId
from hub.portals.models import Portal
from hub.users.models import User

# What a portal may ask for: `admin` lets its admins call `/api/v1/admin` (R2, R9).
DEFAULT_SCOPE = "openid profile email accounts admin"


class OidcClient(Base):
    """A relying party. Every client is a portal: the `accounts` claim and R5's expiry check are
    about the accounts on `portal`."""

    __tablename__ = "oidc_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(100), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    token_endpoint_auth_method: Mapped[str] = mapped_column(
        String(32), default="client_secret_basic"
    )
    id_token_signed_response_alg: Mapped[str] = mapped_column(String(10), default="RS256")
    scope: Mapped[str] = mapped_column(String(255), default=DEFAULT_SCOPE)
    first_party: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    portal: Mapped[Portal] = relationship(lazy="joined")

    audit_type: ClassVar[str] = "client"

    @property
    def audit_label(self) -> str:
        return self.client_id

    def __repr__(self) -> str:
        return f"<OidcClient {self.client_id}>"


class SigningKey(Base):
    """A key pair for ID tokens and logout tokens. The newest active key of an algorithm signs;
    a retired key stays published until `unpublish_after`, when every token it signed has
    expired, so relying parties can still verify them (`hub keys rotate`)."""

    __tablename__ = "oidc_signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(10))
    private_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
    unpublish_after: Mapped[datetime | None]


class BrowserSession(Base):
    """A person's single sign-on session at the hub; `sid` is the OIDC session id the portals
    see (in ID and logout tokens), the cookie holds another secret whose digest is `key_hash`."""

    __tablename__ = "browser_sessions"
    __table_args__ = (Index("ix_browser_sessions_user_ended", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sid: Mapped[str] = mapped_column(String(43), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    auth_time: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship(lazy="joined")
    clients: Mapped[list[SessionClient]] = relationship(
        back_populates="browser_session", cascade="all, delete-orphan", passive_deletes=True
    )


class SessionClient(Base):
    """A portal a session has signed in to: back-channel logout notifies each of them, and
    « Mes portails » shows them as « connecté »."""

    __tablename__ = "session_clients"
    __table_args__ = (UniqueConstraint("browser_session_id", "client_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    browser_session_id: Mapped[int] = mapped_column(
        ForeignKey("browser_sessions.id", ondelete="CASCADE")
    )
    client_id: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    browser_session: Mapped[BrowserSession] = relationship(back_populates="clients")
    client: Mapped[OidcClient] = relationship(lazy="joined")


class AuthorizationCode(Base):
    """Single-use and short-lived; a second use revokes every token issued from it."""

    __tablename__ = "oidc_authorization_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    browser_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("browser_sessions.id", ondelete="SET NULL")
    )
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(255))
    nonce: Mapped[str | None] = mapped_column(String(255))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    auth_time: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OAuthToken(Base):
    """An access token and, usually, a refresh token issued together. Refresh tokens rotate:
    using one issues a new row in the same `family` and marks this one used; presenting a used
    refresh token again revokes the whole family (a stolen token is worth nothing)."""

    __tablename__ = "oidc_tokens"
    __table_args__ = (Index("ix_oidc_tokens_family", "family"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32))
    client_id: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    browser_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("browser_sessions.id", ondelete="SET NULL"), index=True
    )
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("oidc_authorization_codes.id", ondelete="SET NULL"), index=True
    )
    scope: Mapped[str] = mapped_column(String(255))
    auth_time: Mapped[datetime]
    issued_at: Mapped[datetime]
    access_expires_at: Mapped[datetime]
    refresh_expires_at: Mapped[datetime | None]
    refresh_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    client: Mapped[OidcClient] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")


class LogoutDelivery(Base):
    """A back-channel logout token waiting for its portal to accept it. A portal that is down
    is retried with back-off and never delays the person's logout."""

    __tablename__ = "oidc_logout_deliveries"
    __table_args__ = (Index("ix_oidc_logout_deliveries_due", "delivered_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    logout_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    abandoned_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    client: Mapped[OidcClient] = relationship(lazy="joined")
