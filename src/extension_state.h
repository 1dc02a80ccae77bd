/*-------------------------------------------------------------------------
 *
 * extension_state.h
 *	  Whether the extension exists in the current database, the OIDs of
 *	  its own objects, and which work is its own.  See extension_state.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_EXTENSION_STATE_H
#define TENANT_GUARD_EXTENSION_STATE_H

#include "tenant_guard.h"

#include "access/attnum.h"

/* Column numbers of tenant_guard.registry, read from the catalog. */
typedef struct RegistryColumns
{
	AttrNumber	relid;
	AttrNumber	tenant_column;
	AttrNumber	excluded;
} RegistryColumns;

extern void extension_state_init(void);
extern bool extension_present;
extern bool extension_is_active_lookup(void);

/*
 * True when the extension exists in this database and the guard may act.
 * Every hook asks, so the common answer costs one test.
 */
static inline bool
extension_is_active(void)
{
	return extension_present || extension_is_active_lookup();
}

extern Oid	extension_schema_oid(void);
extern Oid	extension_registry_relid(void);
extern Oid	extension_registry_index_oid(void);
extern void extension_registry_columns(RegistryColumns *columns);
extern Oid	extension_amount_guard_oid(void);
extern Oid	extension_upsert_same_tenant_oid(void);
extern Oid	extension_upsert_keep_tenant_oid(void);

/*
 * The extension's own work (the audit writers' inserts, flush()), which
 * the guards must not judge.  Calls nest; every enter has its leave, also
 * on error (PG_FINALLY).
 */
extern void extension_work_enter(void);
extern void extension_work_leave(void);
extern bool in_extension_work(void);

#endif							/* TENANT_GUARD_EXTENSION_STATE_H */
