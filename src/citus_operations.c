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
#include "access/xact.h"
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

/*
 * The fmgr hook's calls nest: whether each running call is an operation,
 * innermost last, so that its end needs no catalog lookup (it may come
 * while an error is being thrown).  Calls nested deeper than the array
 * are not operations.
 */
#define MAX_HOOKED_DEPTH 64
static bool hooked_is_operation[MAX_HOOKED_DEPTH];
static int	hooked_depth = 0;

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
 * asked for, and *private belongs to that extension.
 */
static void
tenant_guard_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	bool		operation;

	switch (event)
	{
		case FHET_START:
			operation = hooked_depth < MAX_HOOKED_DEPTH &&
				is_citus_operation(flinfo->fn_oid);
			if (hooked_depth < MAX_HOOKED_DEPTH)
				hooked_is_operation[hooked_depth] = operation;
			hooked_depth++;
			if (operation)
				citus_operation_depth++;
			break;
		case FHET_END:
		case FHET_ABORT:
			if (hooked_depth > 0)
			{
				hooked_depth--;
				if (hooked_depth < MAX_HOOKED_DEPTH &&
					hooked_is_operation[hooked_depth] && citus_operation_depth > 0)
					citus_operation_depth--;
			}
			break;
	}
	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, private);
}

/*
 * Every error passes through the hook's FHET_ABORT, but should one ever
 * not, an aborted transaction must not leave the backend exempt.
 */
static void
reset_on_abort(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		citus_operation_depth = 0;
		hooked_depth = 0;
	}
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
	RegisterXactCallback(reset_on_abort, NULL);
}
