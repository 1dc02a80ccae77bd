-- An ORM's save(): UPDATE by primary key with no tenant condition; with the
-- tenant context set, tenant_guard verifies the updated row.  It changes
-- no protected amount column.
\set id (:firm - 1) * :invoices_per_firm + random(1, :invoices_per_firm)
UPDATE invoices SET autopay_opt_in = NOT autopay_opt_in
 WHERE id = :id;
