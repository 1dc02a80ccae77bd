/*-------------------------------------------------------------------------
 *
 * tenant_context.h
 *	  The tenant context: tenant_guard.tenant, the tenant (or tenants) the
 *	  session or transaction acts for, and the comparison of tenant values
 *	  with it.  See tenant_context.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_TENANT_CONTEXT_H
#define TENANT_GUARD_TENANT_CONTEXT_H

#include "tenant_guard.h"

#include "fmgr.h"
#include "violation.h"

extern bool tenant_guard_verify_rows;

extern void tenant_context_define(void);

extern bool tenant_context_maybe;

/* Cheap and inline: false means no context is set nor in force. */
static inline bool
tenant_context_may_be_set(void)
{
	return tenant_context_maybe;
}

/* The context one statement runs under (statement_context.c). */
typedef struct TenantContextSnapshot TenantContextSnapshot;

/* One pinned executor call: what to restore and check when it returns. */
typedef struct TenantContextPin
{
	TenantContextSnapshot *before;	/* the snapshot in force before */
	uint64		changes;		/* the setting's change count at the pin */
} TenantContextPin;

extern TenantContextSnapshot *tenant_context_hold(void);
extern void tenant_context_release(TenantContextSnapshot *snapshot);
extern void tenant_context_activate(TenantContextSnapshot *snapshot);
extern void tenant_context_pin(TenantContextPin *pin, TenantContextSnapshot *snapshot);
extern void tenant_context_unpin(const TenantContextPin *pin);
extern void tenant_context_check_unchanged(const TenantContextPin *pin);
extern void tenant_context_report_change(void);	/* does not return */
extern void tenant_context_refuse_reset(void);
extern bool tenant_context_is_set(void);
extern const char *tenant_context_text(void);

/* Row verification applies: a context is set and verify_rows is on. */
extern bool row_verification_in_force(void);

extern void tenant_context_validate(Oid typid, Oid relid, const char *column);
extern bool tenant_context_contains_as(Oid typid, Datum value, Oid column_type,
									   Oid relid, const char *column);

/* Is the value, of the tenant column's own type, in the context?  Every row check asks. */
static inline bool
tenant_context_contains(Oid typid, Datum value, Oid relid, const char *column)
{
	return tenant_context_contains_as(typid, value, InvalidOid, relid, column);
}
extern char *tenant_value_text(Oid typid, Datum value, bool isnull);

/* What the offending tenant value is: read, written, or named by a scope. */
typedef enum TenantValueSource
{
	TENANT_VALUE_READ,			/* a row the statement reads */
	TENANT_VALUE_CHANGED,		/* a row the statement updates or deletes */
	TENANT_VALUE_WRITTEN,		/* a row the statement inserts or stores */
	TENANT_VALUE_SCOPE,			/* the statement's condition names it */
	TENANT_VALUE_UNKNOWN		/* cannot be known before the first row */
} TenantValueSource;

extern Oid	tenant_guard_function(const char *name, int nargs,
								  const Oid *argtypes, Oid *cached);

extern void require_planned_check(FunctionCallInfo fcinfo, const char *name);
extern char *cross_tenant_detail(TenantValueSource source, const char *column,
								 const char *row_tenant);
extern void report_cross_tenant(ViolationKind kind, TenantValueSource source,
								Oid relid, const char *column,
								const char *row_tenant);

#endif							/* TENANT_GUARD_TENANT_CONTEXT_H */
