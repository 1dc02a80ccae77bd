/*-------------------------------------------------------------------------
 *
 * tenant_guard.c
 *	  Loading: _PG_init and the installation of tenant_guard's hooks.
 *
 * The library must be in shared_preload_libraries: the guard has to be in
 * place before the first query of every backend, and later issues put an
 * audit queue in shared memory.  Loaded any other way it refuses with an
 * error that says how to fix it.  In binary-upgrade mode (pg_upgrade) it
 * does nothing at all.
 *
 * Hooks live here and stay thin: each one calls into the file that owns the
 * concern and chains to the previous hook exactly once.
 *
 *-------------------------------------------------------------------------
 */
#include "tenant_guard.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("tenant_guard must be loaded via shared_preload_libraries"),
				 errhint("Add tenant_guard to shared_preload_libraries in postgresql.conf and restart the server.")));

	if (IsBinaryUpgrade)
		return;

	settings_define();
	MarkGUCPrefixReserved(TENANT_GUARD_NAME);

	extension_state_init();
	tenant_catalog_init();
}
