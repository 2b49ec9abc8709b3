-- The documents merchants upload for their applications (POST
-- /v3/merchant/media/upload), owned by package onboard: an image or PDF
-- kept under its merchant and its SHA-256 (hex, the upload's media_id),
-- which an application's documents name. id is mchid:sha256; data is the
-- file, base64, sealed under the master key when the node has one (a
-- licence or an identity card is personal data). Staff read a document
-- only through the staff routes, never at a public address.
CREATE TABLE application_documents (
  id TEXT PRIMARY KEY,
  mchid TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  filename TEXT NOT NULL,
  content_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  data TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
