/*-------------------------------------------------------------------------
 *
 * written_rows.h
 *	  Rows written into a tenant table must carry a tenant of the tenant
 *	  context.  See written_rows.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_WRITTEN_ROWS_H
#define TENANT_GUARD_WRITTEN_ROWS_H

#include "tenant_guard.h"

#include "nodes/parsenodes.h"

extern void written_rows_instrument(Query *parse);
extern Node *written_rows_copy_from(Node *parsetree);
extern List *written_rows_known_values(Query *parse);

#endif							/* TENANT_GUARD_WRITTEN_ROWS_H */
