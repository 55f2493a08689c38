DROP TABLE oidc_logins;
ALTER TABLE sessions DROP COLUMN id_token;
ALTER TABLE users DROP COLUMN break_glass;
DROP INDEX users_oidc_subject;
ALTER TABLE users DROP COLUMN oidc_subject;
