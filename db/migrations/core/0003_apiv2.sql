-- The API v2 key of merchants that integrate with the legacy XML API
-- (MD5 or HMAC-SHA256 signatures). Empty: the merchant has none.
ALTER TABLE merchants ADD COLUMN apiv2_key TEXT NOT NULL DEFAULT '';
