-- A relative amount update, the safe way to record a payment: the new
-- amount is computed from the column itself in the same row.
\set id (:firm - 1) * :invoices_per_firm + random(1, :invoices_per_firm)
UPDATE invoices SET amount_paid = amount_paid + 1
 WHERE firm_id = :firm AND id = :id;
