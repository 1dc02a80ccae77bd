-- Every rule of doc/scoping.md, scoped and unscoped side by side.  Included
-- by scope_rules_enforce (each unscoped statement fails) and
-- scope_rules_log (each runs and is reported as a NOTICE).

-- scoped: tenant_col = X and X = tenant_col, X a constant
SELECT count(*) FROM s.invoices WHERE firm_id = 1;
SELECT count(*) FROM s.invoices WHERE 1 = firm_id;
-- scoped: IN lists and = ANY
SELECT count(*) FROM s.invoices WHERE firm_id IN (1, 2);
SELECT count(*) FROM s.invoices WHERE firm_id = ANY (ARRAY[1, 2]);
SELECT count(*) FROM s.invoices WHERE firm_id = ANY ('{1}'::int[]);
-- scoped: a top-level AND term is enough
SELECT count(*) FROM s.invoices WHERE amount > 10 AND firm_id = 1;
SELECT count(*) FROM s.invoices WHERE firm_id = 1 AND (amount > 10 OR true);
-- scoped: an OR whose every arm is scoped
SELECT count(*) FROM s.invoices WHERE (firm_id = 1 AND amount > 10) OR firm_id = 2;
SELECT count(*) FROM s.invoices WHERE firm_id = 1 OR firm_id IN (2);
-- scoped: X a function of constants, current_setting(), an uncorrelated
-- scalar subquery, a cross-type comparison
SELECT count(*) FROM s.invoices WHERE firm_id = abs(-1);
SELECT count(*) FROM s.invoices WHERE firm_id = current_setting('app.firm_id')::int;
SELECT count(*) FROM s.invoices WHERE firm_id = (SELECT min(id) FROM s.firms);
SELECT count(*) FROM s.invoices WHERE firm_id = 1::bigint;
-- scoped: a binary-compatible cast around the tenant column is looked through
SELECT count(*) FROM s.docs WHERE org_id::text = 'a';
SELECT count(*) FROM s.uuids WHERE tenant_id = '00000000-0000-0000-0000-000000000001';
-- scoped: the planner derives the constant for both tables of a join
SELECT count(*) FROM s.invoices i JOIN s.clients c ON i.firm_id = c.firm_id
	AND i.client_id = c.id WHERE c.firm_id = 1;
SELECT count(*) FROM s.clients c LEFT JOIN s.invoices i ON i.firm_id = c.firm_id
	AND i.client_id = c.id WHERE c.firm_id = 2;
-- scoped: a scan the planner proves empty reads nothing
SELECT count(*) FROM s.invoices WHERE false;
SELECT count(*) FROM s.invoices WHERE firm_id = NULL;

-- unscoped: no WHERE at all, or one the planner folds away
SELECT count(*) FROM s.invoices;
SELECT count(*) FROM s.invoices WHERE 1 = 1;
SELECT count(*) FROM s.invoices WHERE firm_id = 1 OR true;
-- unscoped: tenant_col = tenant_col becomes IS NOT NULL
SELECT count(*) FROM s.invoices WHERE firm_id = firm_id;
-- unscoped: conditions that are not equality with a tenant value
SELECT count(*) FROM s.invoices WHERE firm_id IS NOT NULL;
SELECT count(*) FROM s.invoices WHERE firm_id <> 2;
SELECT count(*) FROM s.invoices WHERE firm_id >= 1;
SELECT count(*) FROM s.docs WHERE org_id LIKE 'a%';
SELECT count(*) FROM s.invoices WHERE firm_id + 0 = 1;
SELECT count(*) FROM s.invoices WHERE firm_id = ALL (ARRAY[1]);
-- unscoped: right-hand sides that read the same row or another row
SELECT count(*) FROM s.invoices WHERE firm_id = COALESCE(firm_id, 0);
SELECT count(*) FROM s.invoices WHERE firm_id = client_id;
SELECT count(*) FROM s.invoices i
 WHERE i.firm_id = (SELECT c.firm_id FROM s.clients c WHERE c.id = i.client_id AND c.firm_id = 1);
-- unscoped: a join column alone scopes neither table
SELECT count(*) FROM s.invoices i JOIN s.clients c ON i.firm_id = c.firm_id;
-- unscoped: only the scoped table of a join passes
SELECT count(*) FROM s.invoices i JOIN s.clients c ON i.client_id = c.id WHERE i.firm_id = 1;
-- unscoped: volatile right-hand side
SELECT count(*) FROM s.invoices WHERE firm_id = (random() * 0)::int + 1;
-- unscoped: an OR with an unscoped arm
SELECT count(*) FROM s.invoices WHERE firm_id = 1 OR amount > 30;
SELECT count(*) FROM s.invoices WHERE firm_id = 1 OR firm_id > 1;
