/*-------------------------------------------------------------------------
 *
 * registry_shared.h
 *	  The committed contents of tenant_guard.registry in shared memory, one
 *	  copy per database.  See registry_shared.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_REGISTRY_SHARED_H
#define TENANT_GUARD_REGISTRY_SHARED_H

#include "tenant_guard.h"

/* One row of the registry, as the caches keep it. */
typedef struct RegistryRow
{
	Oid			relid;
	bool		excluded;
	NameData	tenant_column;	/* empty when excluded */
} RegistryRow;

#define REGISTRY_SHARED_ROWS 256

extern void registry_shared_request_shmem(void);
extern void registry_shared_init_shmem(void);
extern int	registry_shared_copy(Oid registry, RegistryRow *rows, uint64 *ticket);
extern void registry_shared_offer(uint64 ticket, Oid registry, const RegistryRow *rows,
								  int count);
extern void registry_shared_note_change(void);

#endif							/* TENANT_GUARD_REGISTRY_SHARED_H */
