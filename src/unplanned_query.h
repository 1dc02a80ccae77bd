/*-------------------------------------------------------------------------
 *
 * unplanned_query.h
 *	  Judging a statement that a planner hook below tenant_guard planned
 *	  without PostgreSQL's planner (Citus's fast-path router planner).
 *	  See unplanned_query.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_UNPLANNED_QUERY_H
#define TENANT_GUARD_UNPLANNED_QUERY_H

#include "tenant_guard.h"

#include "nodes/parsenodes.h"

/* A single-table statement, as it was before the planner saw it. */
typedef struct UnplannedQuery
{
	Oid			relid;			/* the one table it reads or writes */
	AttrNumber	tenant_attnum;
	bool		writes;			/* UPDATE or DELETE */
	Node	   *quals;			/* a copy of its WHERE clause */
	bool		covered;		/* its rows are verified (row_verification.c) */
} UnplannedQuery;

extern bool unplanned_query_remember(Query *parse, UnplannedQuery *query);
extern bool unplanned_query_is_scoped(UnplannedQuery *query, List **value_checks);

#endif							/* TENANT_GUARD_UNPLANNED_QUERY_H */
