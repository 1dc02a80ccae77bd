/*-------------------------------------------------------------------------
 *
 * row_checks.h
 *	  The row checks of a plan's output, applied as the rows come out.  See
 *	  row_checks.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_ROW_CHECKS_H
#define TENANT_GUARD_ROW_CHECKS_H

#include "tenant_guard.h"

#include "executor/execdesc.h"

extern void row_checks_start(QueryDesc *queryDesc, int eflags);

#endif							/* TENANT_GUARD_ROW_CHECKS_H */
