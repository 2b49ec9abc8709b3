-- Code payment (付款码支付): the keyed hash of the payment code a
-- MICROPAY order was paid with, as package paycode keeps it, so fenfu
-- verify can check, while the code's row is kept, that the code names
-- the order and the order the code: a code row edited back to unused
-- would pay a second order. '' for every other order. Orders made before
-- take it from their code's row, if it is still kept.
ALTER TABLE orders ADD COLUMN code_hash TEXT NOT NULL DEFAULT '';
UPDATE orders SET code_hash = COALESCE((SELECT c.code_hash FROM payment_codes c WHERE c.order_id = orders.id), '')
  WHERE trade_type = 'MICROPAY';
