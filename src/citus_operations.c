/*-------------------------------------------------------------------------
 *
 * citus_operations.c
 *	  Citus's own operations run unjudged (doc/citus.md).
 *
 * Distributing a table, undistributing or altering it, copying and moving
 * shards, rebalancing and draining a node read whole tables on purpose:
 * Citus checks that a table is empty with "SELECT TRUE FROM t LIMIT 1" and
 * copies rows with INSERT ... SELECT, run through SPI inside its C
 * functions.  While one of the functions below runs, the statements it runs
 * are Citus's, not the client's, and are not judged.  The statement that
 * calls the function is judged as usual, before the function starts, so
 * "SELECT create_distributed_table(...) FROM invoices" still reports the
 * scan of invoices.
 *
 * The functions are recognised by fmgr's hook, which PostgreSQL calls
 * around a function when needs_fmgr_hook says so: a C function of the
 * citus library in pg_catalog with one of the names below (only a superuser
 * can create a C function, or put a function into pg_catalog).  Citus
 * functions that run SQL a client passes them (run_command_on_workers,
 * citus_run_local_command, create_intermediate_result, ...) are not in the
 * list: what they run is judged.  The hooks are installed only when Citus
 * is loaded.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "citus_operations.h"

#include "access/htup_details.h"
#include "catalog/pg_language.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_proc.h"
#include "citus_cluster.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/syscache.h"

/* Citus's operations that read or copy whole tables; sorted for bsearch. */
static const char *const citus_operation_names[] = {
	"alter_distributed_table",
	"alter_table_set_access_method",
	"citus_activate_node",
	"citus_add_local_table_to_metadata",
	"citus_add_node",
	"citus_copy_shard_placement",
	"citus_drain_node",
	"citus_move_shard_placement",
	"citus_promote_clone_and_rebalance",
	"citus_rebalance_start",
	"citus_schema_distribute",
	"citus_schema_move",
	"citus_schema_undistribute",
	"citus_split_shard_by_split_points",
	"create_citus_local_table",
	"create_distributed_table",
	"create_distributed_table_concurrently",
	"create_reference_table",
	"isolate_tenant_to_new_shard",
	"master_add_node",
	"master_copy_shard_placement",
	"master_drain_node",
	"master_move_shard_placement",
	"rebalance_table_shards",
	"remove_local_tables_from_metadata",
	"replicate_reference_tables",
	"replicate_table_shards",
	"undistribute_table",
	"upgrade_to_reference_table",
};

static needs_fmgr_hook_type prev_needs_fmgr_hook = NULL;
static fmgr_hook_type prev_fmgr_hook = NULL;

/* How many of Citus's operations are running in this backend. */
static int	citus_operation_depth = 0;

bool
in_citus_operation(void)
{
	return citus_operation_depth > 0;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static bool
is_citus_operation_name(const char *name)
{
	return bsearch(&name, citus_operation_names,
				   lengthof(citus_operation_names), sizeof(char *),
				   compare_names) != NULL;
}

/* A C function of the citus library in pg_catalog, named in the list. */
static bool
is_citus_operation(Oid fn_oid)
{
	HeapTuple	tuple;
	Form_pg_proc proc;
	bool		result = false;

	if (fn_oid < FirstNormalObjectId)
		return false;
	tuple = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (!HeapTupleIsValid(tuple))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tuple);
	if (proc->prolang == ClanguageId &&
		proc->pronamespace == PG_CATALOG_NAMESPACE &&
		is_citus_operation_name(NameStr(proc->proname)))
	{
		bool		isnull;
		Datum		probin = SysCacheGetAttr(PROCOID, tuple,
											 Anum_pg_proc_probin, &isnull);

		result = !isnull &&
			strstr(TextDatumGetCString(probin), "citus") != NULL;
	}
	ReleaseSysCache(tuple);
	return result;
}

static bool
tenant_guard_needs_fmgr_hook(Oid fn_oid)
{
	if (prev_needs_fmgr_hook && prev_needs_fmgr_hook(fn_oid))
		return true;
	return is_citus_operation(fn_oid);
}

/*
 * The hook also runs for the functions another extension's needs_fmgr_hook
 * asked for, and *private belongs to that extension: whether a call is an
 * operation is looked up again at its end (START and END pair up, nested).
 */
static void
tenant_guard_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	switch (event)
	{
		case FHET_START:
			if (is_citus_operation(flinfo->fn_oid))
				citus_operation_depth++;
			break;
		case FHET_END:
		case FHET_ABORT:
			if (citus_operation_depth > 0 && is_citus_operation(flinfo->fn_oid))
				citus_operation_depth--;
			break;
	}
	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, private);
}

void
citus_operations_init(void)
{
	if (!citus_is_loaded())
		return;
	prev_needs_fmgr_hook = needs_fmgr_hook;
	needs_fmgr_hook = tenant_guard_needs_fmgr_hook;
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = tenant_guard_fmgr_hook;
}
