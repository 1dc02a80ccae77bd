/*-------------------------------------------------------------------------
 *
 * citus_cluster.c
 *	  tenant_guard on a Citus cluster (doc/citus.md).
 *
 * Citus is optional and never a build dependency: it is detected at run
 * time, by its settings being defined when tenant_guard is loaded (Citus
 * must come first in shared_preload_libraries).
 *
 * The coordinator judges every client statement, once.  What Citus then
 * does on its behalf is not judged again:
 *
 *	- On the coordinator (and on a worker a client queries directly), Citus
 *	  calls planner() with no query string, which PostgreSQL itself never
 *	  does, for the fragments of a statement it is planning (recursively
 *	  planned CTEs and subqueries, the SELECT of INSERT ... SELECT), which
 *	  are not judged again, and for the shard queries it executes locally,
 *	  whose shards are not judged: see citus_internal_planning and
 *	  scoping_guard_begin_planning.  Some Citus functions plan a client's SQL
 *	  text the same way (create_intermediate_result): that is judged by the
 *	  tables it names.
 *
 *	- On a worker, the connections Citus opens between nodes (shard queries,
 *	  shard copies and moves, DDL propagation, metadata sync) are left
 *	  alone.  Citus tells its own connections by their application_name
 *	  ("citus_internal gpid=...", "citus_rebalancer gpid=..."), which any
 *	  client can set.  So a connection must also prove that it comes from a
 *	  node of the cluster: it carries tenant_guard.cluster_proof, set at
 *	  connection start, equal to the worker's tenant_guard.cluster_secret,
 *	  which only superusers can read.  Every node sets PGOPTIONS in its own
 *	  environment to "-c tenant_guard.cluster_proof=<secret>", which libpq
 *	  sends with every connection the server makes, Citus's among them
 *	  (citus.node_conninfo refuses an "options" keyword).  Both the
 *	  application_name and the proof are taken from the connection's start,
 *	  and a connection that changes its application_name is judged from
 *	  then on, whatever it changes it to: run_command_on_workers() and the
 *	  like open a "citus_internal" connection and set its application_name
 *	  to "citus_run_command gpid=..." before they run a client's SQL on it,
 *	  which is judged, and which must not win the exemption back by setting
 *	  the application_name again.
 *
 * A shard ("invoices_102008", next to its table in the same schema) follows
 * its distributed table's registry entry and is named by its table in
 * amount-guard reports: citus_shard_table finds the table through Citus's
 * catalog pg_dist_shard.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "citus_cluster.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_namespace.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

char	   *tenant_guard_cluster_secret = NULL;
char	   *tenant_guard_cluster_proof = NULL;

bool		citus_loaded = false;

/* The PGOPTIONS the server was started with, before we added the proof. */
static char *original_pgoptions = NULL;
static bool original_pgoptions_saved = false;

#define MIN_SECRET_LENGTH 16

/* application_name prefixes of the connections Citus opens for itself */
static const char *const citus_internal_prefixes[] = {
	"citus_internal gpid=",
	"citus_rebalancer gpid=",
};

static GucStringAssignHook prev_application_name_assign = NULL;

/* Has this backend's application_name changed since the connection start? */
static bool application_name_changed = false;

static const char *startup_application_name(void);

/* Wraps application_name's assign hook (Citus's, which wraps PostgreSQL's). */
static void
assign_application_name(const char *newval, void *extra)
{
	const char *startup;

	if (prev_application_name_assign)
		prev_application_name_assign(newval, extra);
	if (MyProcPort == NULL || application_name_changed)
		return;
	startup = startup_application_name();
	if (startup == NULL || newval == NULL || strcmp(newval, startup) != 0)
		application_name_changed = true;
}

static void
watch_application_name(void)
{
	int			count;
	struct config_generic **variables = tg_guc_variables(&count);

	for (int i = 0; i < count; i++)
	{
		if (strcmp(variables[i]->name, "application_name") == 0 &&
			variables[i]->vartype == PGC_STRING)
		{
			struct config_string *variable = (struct config_string *) variables[i];

			prev_application_name_assign = variable->assign_hook;
			variable->assign_hook = assign_application_name;
			return;
		}
	}
}

/* At _PG_init, after Citus's own _PG_init has defined its settings. */
void
citus_cluster_init(void)
{
	citus_loaded = GetConfigOption("citus.node_conninfo", true, false) != NULL;
	if (citus_loaded)
		watch_application_name();
}

/*
 * The secret goes into PGOPTIONS unquoted: letters, digits, '-' and '_'
 * only, long enough not to be guessed.
 */
bool
citus_cluster_check_secret(char **newval, void **extra, GucSource source)
{
	const char *c;

	if (*newval == NULL || **newval == '\0')
		return true;
	for (c = *newval; *c; c++)
	{
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
		{
			GUC_check_errdetail("The secret may contain letters, digits, \"-\" and \"_\" only.");
			return false;
		}
	}
	if (strlen(*newval) < MIN_SECRET_LENGTH)
	{
		GUC_check_errdetail("The secret must be at least %d characters long.",
							MIN_SECRET_LENGTH);
		return false;
	}
	return true;
}

/*
 * Runs in the postmaster at start and in every process at each reload, so
 * the environment of every server process (backends and background
 * workers, which fork from the postmaster) carries the current secret.
 */
void
citus_cluster_assign_secret(const char *newval, void *extra)
{
	char		options[1024];
	const char *original;

	if (!original_pgoptions_saved)
	{
		original = getenv("PGOPTIONS");
		original_pgoptions = original ? strdup(original) : NULL;
		original_pgoptions_saved = true;
	}
	original = original_pgoptions ? original_pgoptions : "";
	if (newval == NULL || *newval == '\0')
	{
		if (original_pgoptions)
			setenv("PGOPTIONS", original_pgoptions, 1);
		else
			unsetenv("PGOPTIONS");
		return;
	}
	snprintf(options, sizeof(options), "%s%s-c tenant_guard.cluster_proof=%s",
			 original, *original ? " " : "", newval);
	setenv("PGOPTIONS", options, 1);
}

/* The application_name the client sent when it connected, or NULL. */
static const char *
startup_application_name(void)
{
	ListCell   *lc;

	if (MyProcPort == NULL)
		return NULL;
	/* guc_options alternates names and values */
	for (lc = list_head(MyProcPort->guc_options); lc != NULL;
		 lc = lnext(MyProcPort->guc_options, lc))
	{
		const char *name = lfirst(lc);

		lc = lnext(MyProcPort->guc_options, lc);
		if (lc == NULL)
			break;
		if (strcmp(name, "application_name") == 0)
			return lfirst(lc);
	}
	return NULL;
}

static bool
started_as_citus_connection(void)
{
	const char *name = startup_application_name();

	if (name == NULL)
		return false;
	for (int i = 0; i < lengthof(citus_internal_prefixes); i++)
	{
		const char *prefix = citus_internal_prefixes[i];

		if (strncmp(name, prefix, strlen(prefix)) == 0)
			return true;
	}
	return false;
}

/* Compares every byte, so that timing tells nothing about the secret. */
static bool
secrets_equal(const char *a, const char *b)
{
	size_t		la = strlen(a);
	size_t		lb = strlen(b);
	unsigned char diff = (la != lb);

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char) (a[i] ^ b[i]);
	return diff == 0;
}

/*
 * Is this backend a connection Citus opened from another node of the
 * cluster?  The application_name is looked up once per backend, the proof
 * compared each time (the secret can be changed by a reload).
 */
bool
citus_internal_connection(void)
{
	static int	started_as_citus = -1;

	if (!citus_loaded)
		return false;
	if (started_as_citus < 0)
		started_as_citus = started_as_citus_connection() ? 1 : 0;
	if (!started_as_citus || application_name_changed ||
		tenant_guard_cluster_secret == NULL || *tenant_guard_cluster_secret == '\0' ||
		tenant_guard_cluster_proof == NULL || *tenant_guard_cluster_proof == '\0')
		return false;
	return secrets_equal(tenant_guard_cluster_proof, tenant_guard_cluster_secret);
}

/*
 * Is the planner called by Citus rather than for SQL a client sent?  Citus
 * passes no query string to planner() for recursively planned subqueries
 * and CTEs, the SELECT of INSERT ... SELECT, shard queries it executes
 * locally and SQL text it runs for its functions; PostgreSQL passes the
 * statement's text on every path that plans SQL.
 */
bool
citus_internal_planning(const char *query_string)
{
	return citus_loaded && query_string == NULL;
}

/* The shard id a shard's name ends with ("_102008"), or 0. */
static int64
shard_id_suffix(const char *relname)
{
	const char *underscore = strrchr(relname, '_');
	int64		shardid = 0;

	if (underscore == NULL || underscore[1] == '\0')
		return 0;
	for (const char *c = underscore + 1; *c; c++)
	{
		if (*c < '0' || *c > '9' || shardid > PG_INT64_MAX / 10 - 9)
			return 0;
		shardid = shardid * 10 + (*c - '0');
	}
	return shardid;
}

/*
 * The Oid in column result of the row of a Citus catalog (in pg_catalog)
 * whose column key equals value, found through the given unique index;
 * InvalidOid without such a row or catalog.
 */
static Oid
citus_catalog_lookup(const char *catalog_name, const char *index_name,
					 const char *key, RegProcedure eqproc, Datum value,
					 const char *result)
{
	Oid			catalog = get_relname_relid(catalog_name, PG_CATALOG_NAMESPACE);
	Oid			index = get_relname_relid(index_name, PG_CATALOG_NAMESPACE);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData scankey;
	HeapTuple	tuple;
	AttrNumber	key_attnum;
	AttrNumber	result_attnum;
	Oid			found = InvalidOid;

	if (!OidIsValid(catalog) || !OidIsValid(index))
		return InvalidOid;
	key_attnum = get_attnum(catalog, key);
	result_attnum = get_attnum(catalog, result);
	if (key_attnum == InvalidAttrNumber || result_attnum == InvalidAttrNumber)
		return InvalidOid;
	rel = table_open(catalog, AccessShareLock);
	ScanKeyInit(&scankey, key_attnum, BTEqualStrategyNumber, eqproc, value);
	scan = systable_beginscan(rel, index, true, NULL, 1, &scankey);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		datum = heap_getattr(tuple, result_attnum,
										 RelationGetDescr(rel), &isnull);

		if (!isnull)
			found = DatumGetObjectId(datum);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/* pg_dist_shard's logicalrelid for a shard id, or InvalidOid. */
static Oid
pg_dist_shard_table(int64 shardid)
{
	return citus_catalog_lookup("pg_dist_shard", "pg_dist_shard_shardid_index",
								"shardid", F_INT8EQ, Int64GetDatum(shardid),
								"logicalrelid");
}

/*
 * Is the relation a Citus table (distributed, single-shard, reference or
 * Citus-local), one with a row in pg_dist_partition?  Reads catalogs.
 */
bool
citus_is_citus_table(Oid relid)
{
	return citus_loaded &&
		OidIsValid(citus_catalog_lookup("pg_dist_partition",
										"pg_dist_partition_logical_relid_index",
										"logicalrelid", F_OIDEQ,
										ObjectIdGetDatum(relid), "logicalrelid"));
}

/*
 * The distributed table whose shard relid is, or InvalidOid.  Only a
 * relation named "<table>_<shard id>", in its table's schema, for a shard
 * id pg_dist_shard assigns to that table, is a shard (Citus shortens the
 * names of shards of tables with long names; those are not recognised).
 * Reads catalogs: for the tenant-table cache's misses only.
 */
Oid
citus_shard_table(Oid relid)
{
	char	   *relname;
	int64		shardid;
	Oid			table;
	char	   *table_name;

	if (!citus_loaded || (relname = get_rel_name(relid)) == NULL ||
		(shardid = shard_id_suffix(relname)) == 0)
		return InvalidOid;
	table = pg_dist_shard_table(shardid);
	if (!OidIsValid(table) || table == relid ||
		get_rel_namespace(table) != get_rel_namespace(relid) ||
		(table_name = get_rel_name(table)) == NULL)
		return InvalidOid;
	if (strlen(relname) != strlen(table_name) + 1 + strlen(strrchr(relname, '_') + 1) ||
		strncmp(relname, table_name, strlen(table_name)) != 0)
		return InvalidOid;
	return table;
}

/* The distributed table for a shard, the relation itself otherwise. */
Oid
citus_table_of(Oid relid)
{
	Oid			table = citus_shard_table(relid);

	return OidIsValid(table) ? table : relid;
}
