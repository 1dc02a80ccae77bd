-- A join of three tenant tables scoped by equivalence: only clients is
-- restricted to the firm; the planner carries firm_id = :firm over to
-- invoices and payments through the join conditions on firm_id.  One
-- client's invoices and their payments (invoices_per_firm /
-- clients_per_firm rows).
\set client (:firm - 1) * :clients_per_firm + random(1, :clients_per_firm)
SELECT c.name, i.id, i.amount_due, p.amount
  FROM clients c
  JOIN invoices i ON i.client_id = c.id AND i.firm_id = c.firm_id
  JOIN payments p ON p.invoice_id = i.id AND p.firm_id = i.firm_id
 WHERE c.firm_id = :firm AND c.id = :client;
