-- Single sign-on: the provider's subject of a user who signed in that way, break-glass
-- accounts (password sign-in even when it is off), the ID token of an OIDC session (for the
-- provider's logout), and sign-ins under way (state, nonce and PKCE verifier, bound to the
-- browser by a cookie whose hash is kept here).
ALTER TABLE users ADD COLUMN oidc_subject TEXT;
CREATE UNIQUE INDEX users_oidc_subject ON users (oidc_subject);
ALTER TABLE users ADD COLUMN break_glass BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE sessions ADD COLUMN id_token TEXT;
CREATE TABLE oidc_logins (
    state TEXT PRIMARY KEY NOT NULL,
    browser_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
