/*-------------------------------------------------------------------------
 *
 * signed_context.h
 *	  Signed values of tenant_guard.tenant, verified with the key in
 *	  tenant_guard.tenant_key.  See signed_context.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_SIGNED_CONTEXT_H
#define TENANT_GUARD_SIGNED_CONTEXT_H

#include "tenant_guard.h"

typedef enum SignedContextCheck
{
	SIGNED_CONTEXT_NONE,		/* not a signed value: taken as written */
	SIGNED_CONTEXT_VALID,		/* signed, and the signature holds */
	SIGNED_CONTEXT_REFUSED		/* the GUC_check_err fields say why */
} SignedContextCheck;

extern void signed_context_define(void);

/*
 * Is value a signed context, and a valid one?  If signed, *tenants is set
 * to its tenants part (palloc'd).  verify = false checks the form only.
 */
extern SignedContextCheck signed_context_check(const char *value, bool verify,
											   char **tenants);

#endif							/* TENANT_GUARD_SIGNED_CONTEXT_H */
