/*-------------------------------------------------------------------------
 *
 * citus_operations.h
 *	  Citus's own operations (distributing a table, moving shards, ...)
 *	  run unjudged.  See citus_operations.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_CITUS_OPERATIONS_H
#define TENANT_GUARD_CITUS_OPERATIONS_H

#include "tenant_guard.h"

extern void citus_operations_init(void);
extern bool in_citus_operation(void);

#endif							/* TENANT_GUARD_CITUS_OPERATIONS_H */
