-- What a token may do: 'full' (everything its user's role allows, except alert intake) or
-- 'alerts' (alert intake only). Tokens made before scopes keep 'full'.
ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';
