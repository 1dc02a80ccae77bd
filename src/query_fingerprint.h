/*-------------------------------------------------------------------------
 *
 * query_fingerprint.h
 *	  Query ids for the statements that can raise a violation.  See
 *	  query_fingerprint.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_QUERY_FINGERPRINT_H
#define TENANT_GUARD_QUERY_FINGERPRINT_H

#include "tenant_guard.h"

#include "nodes/parsenodes.h"
#include "parser/parse_node.h"

extern void query_fingerprint_statement(ParseState *pstate, Query *query);

#endif							/* TENANT_GUARD_QUERY_FINGERPRINT_H */
