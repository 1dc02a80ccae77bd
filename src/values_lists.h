/*-------------------------------------------------------------------------
 *
 * values_lists.h
 *	  "x IN (VALUES ...)" as "x = ANY (...)" before a judged statement is
 *	  planned, where PostgreSQL's planner does not do it itself.  See
 *	  values_lists.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_VALUES_LISTS_H
#define TENANT_GUARD_VALUES_LISTS_H

#include "tenant_guard.h"

#include "nodes/parsenodes.h"

extern void values_lists_as_arrays(Query *parse);

#endif							/* TENANT_GUARD_VALUES_LISTS_H */
