-- The point select without its tenant scope: one invoice by id alone.  A
-- violation each time; the audit-trail phase of `make bench` runs it in
-- log mode against point_select.sql.
\set id (:firm - 1) * :invoices_per_firm + random(1, :invoices_per_firm)
SELECT id, client_id, amount_due, amount_paid
  FROM invoices
 WHERE id = :id;
