-- A v3 order's scene_info, which risk rules read: the merchant's terminal
-- (device_id) and the payer's address as the merchant saw it
-- (payer_client_ip). Empty when the order gave none.
ALTER TABLE orders ADD COLUMN scene_device TEXT NOT NULL DEFAULT '';
ALTER TABLE orders ADD COLUMN scene_ip TEXT NOT NULL DEFAULT '';
