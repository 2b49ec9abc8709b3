-- Which API created an order ('v3' or 'v2'): its payment notification is
-- sent in that API's format.
ALTER TABLE orders ADD COLUMN api TEXT NOT NULL DEFAULT 'v3';
