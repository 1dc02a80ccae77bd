-- An inner and a left join scoped through their join conditions: only
-- invoices is restricted to the firm; the planner carries firm_id = :firm
-- over to clients, and to payments on the nullable side.
\set id (:firm - 1) * :invoices_per_firm + random(1, :invoices_per_firm)
SELECT i.id, c.name, p.amount
  FROM invoices i
  JOIN clients c ON c.id = i.client_id AND c.firm_id = i.firm_id
  LEFT JOIN payments p ON p.invoice_id = i.id AND p.firm_id = i.firm_id
 WHERE i.firm_id = :firm AND i.id = :id;
