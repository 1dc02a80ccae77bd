/*-------------------------------------------------------------------------
 *
 * statement_context.h
 *	  The tenant context a statement runs under, from its start to its end,
 *	  cursors included.  See statement_context.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_STATEMENT_CONTEXT_H
#define TENANT_GUARD_STATEMENT_CONTEXT_H

#include "tenant_guard.h"

#include "executor/execdesc.h"
#include "tenant_context.h"

/* A statement that runs under a snapshot of the context. */
typedef struct StatementContext StatementContext;

extern bool statement_contexts_present;
extern bool statement_context_needed_slow(QueryDesc *queryDesc);
extern TenantContextSnapshot *statement_context_keep(QueryDesc *queryDesc);
extern TenantContextSnapshot *statement_context_of(QueryDesc *queryDesc);
/* Are there statements with a snapshot?  Inline: every statement asks. */
static inline bool
statement_contexts_exist(void)
{
	return statement_contexts_present;
}

/*
 * Must the statement about to start run under a snapshot of the context?
 * Without a context, the common case, one test.
 */
static inline bool
statement_context_needed(QueryDesc *queryDesc)
{
	return tenant_context_may_be_set() && statement_context_needed_slow(queryDesc);
}

#endif							/* TENANT_GUARD_STATEMENT_CONTEXT_H */
