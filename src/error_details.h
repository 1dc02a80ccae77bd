/*-------------------------------------------------------------------------
 *
 * error_details.h
 *	  Constraint errors that would show another tenant's values keep their
 *	  DETAIL out of the client's sight while a tenant context is set.  See
 *	  error_details.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_ERROR_DETAILS_H
#define TENANT_GUARD_ERROR_DETAILS_H

#include "tenant_guard.h"

extern void error_details_init(void);
extern void error_details_rethrow(MemoryContext cxt);	/* does not return */

extern bool error_details_withheld(void);

#endif							/* TENANT_GUARD_ERROR_DETAILS_H */
