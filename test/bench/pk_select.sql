-- A primary-key lookup with no tenant condition, as an ORM's get(pk=...)
-- issues it: with the tenant context set, tenant_guard verifies the row
-- (doc/tenant-context.md); the rls cluster filters it by its policy.
\set id (:firm - 1) * :invoices_per_firm + random(1, :invoices_per_firm)
SELECT id, client_id, amount_due, amount_paid
  FROM invoices
 WHERE id = :id;
