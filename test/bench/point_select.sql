-- Tenant-scoped point select: one invoice of the benchmark's firm by id.
\set id (:firm - 1) * :invoices_per_firm + random(1, :invoices_per_firm)
SELECT id, client_id, amount_due, amount_paid
  FROM invoices
 WHERE firm_id = :firm AND id = :id;
