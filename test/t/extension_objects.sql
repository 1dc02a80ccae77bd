-- Every object of the tenant_guard extension in the current database, one
-- line each, with everything that defines it: used by 008_upgrade.pl to
-- compare an upgraded database with a fresh install.  OIDs never appear.
WITH members AS (
	SELECT d.classid, d.objid, d.objsubid
	  FROM pg_depend d
	  JOIN pg_extension e ON e.oid = d.refobjid
	 WHERE d.refclassid = 'pg_extension'::regclass
	   AND e.extname = 'tenant_guard'
	   AND d.deptype = 'e'
)
SELECT pg_describe_object(m.classid, m.objid, m.objsubid) || ' | ' ||
	   coalesce(obj_description(m.objid, m.classid::regclass::name), '-') || ' | ' ||
	   CASE m.classid
		   WHEN 'pg_proc'::regclass THEN
			   (SELECT pg_get_functiondef(p.oid) || ' acl=' || coalesce(p.proacl::text, 'default')
				  FROM pg_proc p WHERE p.oid = m.objid)
		   WHEN 'pg_class'::regclass THEN
			   (SELECT c.relkind::text || ' acl=' || coalesce(c.relacl::text, 'default') ||
					   coalesce(' view=' || pg_get_viewdef(c.oid), '') ||
					   ' columns=' || coalesce((
						   SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
											 CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
											 coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '') ||
											 coalesce(' -- ' || col_description(c.oid, a.attnum), ''),
											 ', ' ORDER BY a.attnum)
							 FROM pg_attribute a
							 LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
							WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') ||
					   ' constraints=' || coalesce((
						   SELECT string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), ', ' ORDER BY co.conname)
							 FROM pg_constraint co WHERE co.conrelid = c.oid), '') ||
					   ' indexes=' || coalesce((
						   SELECT string_agg(pg_get_indexdef(i.indexrelid), ', ' ORDER BY 1)
							 FROM pg_index i WHERE i.indrelid = c.oid), '') ||
					   ' triggers=' || coalesce((
						   SELECT string_agg(pg_get_triggerdef(t.oid), ', ' ORDER BY t.tgname)
							 FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '')
				  FROM pg_class c WHERE c.oid = m.objid)
		   WHEN 'pg_event_trigger'::regclass THEN
			   (SELECT et.evtevent || ' ' || et.evtfoid::regprocedure::text || ' ' || et.evtenabled::text
				  FROM pg_event_trigger et WHERE et.oid = m.objid)
		   ELSE ''
	   END
  FROM members m
UNION ALL
SELECT 'configuration tables: ' || coalesce((
		   SELECT string_agg(c::regclass::text || ' [' || coalesce(cond, '') || ']', ', ' ORDER BY c::regclass::text)
			 FROM pg_extension e,
				  unnest(e.extconfig, e.extcondition) AS x(c, cond)
			WHERE e.extname = 'tenant_guard'), '')
UNION ALL
SELECT 'schema acl: ' || coalesce(n.nspacl::text, 'default')
  FROM pg_namespace n WHERE n.nspname = 'tenant_guard'
ORDER BY 1;
