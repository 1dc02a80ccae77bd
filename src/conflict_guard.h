/*-------------------------------------------------------------------------
 *
 * conflict_guard.h
 *	  The cross-tenant write rule of INSERT ... ON CONFLICT DO UPDATE.  See
 *	  conflict_guard.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_CONFLICT_GUARD_H
#define TENANT_GUARD_CONFLICT_GUARD_H

#include "tenant_guard.h"

#include "nodes/parsenodes.h"

extern void conflict_guard_add_checks(Query *parse);

#endif							/* TENANT_GUARD_CONFLICT_GUARD_H */
