/*-------------------------------------------------------------------------
 *
 * row_verification.h
 *	  Row verification of statements without a tenant scope: a check of
 *	  each row they return, join, aggregate, update or delete against the
 *	  tenant context.  See row_verification.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_ROW_VERIFICATION_H
#define TENANT_GUARD_ROW_VERIFICATION_H

#include "tenant_guard.h"

#include "nodes/bitmapset.h"
#include "nodes/parsenodes.h"

extern Query *row_verification_candidate(Query *parse);
extern Bitmapset *row_verification_instrument(Query *query, List *findings);

#endif							/* TENANT_GUARD_ROW_VERIFICATION_H */
