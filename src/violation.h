/*-------------------------------------------------------------------------
 *
 * violation.h
 *	  The one hand-off point where every violation is reported, whichever
 *	  guard found it.  See violation.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_VIOLATION_H
#define TENANT_GUARD_VIOLATION_H

#include "lib/stringinfo.h"
#include "settings.h"

typedef enum ViolationKind
{
	VIOLATION_UNSCOPED_READ,
	VIOLATION_UNSCOPED_WRITE,
	VIOLATION_NON_ATOMIC_AMOUNT,
	VIOLATION_CROSS_TENANT_READ,
	VIOLATION_CROSS_TENANT_WRITE,
	VIOLATION_MISSING_TENANT,
	VIOLATION_BREAK_GLASS		/* not a violation: a statement on record */
} ViolationKind;

typedef struct Violation
{
	ViolationKind kind;
	Oid			relid;			/* the tenant or protected table */
	const char *column;			/* its tenant column, or the amount column */
	const char *command;		/* command tag of the statement, e.g. "UPDATE" */
	int			sqlstate;		/* the error's code in enforce mode */
	const char *message;		/* errmsg, errdetail and errhint, formatted */
	const char *detail;
	const char *hint;
} Violation;

extern const char *violation_kind_name(ViolationKind kind);
extern void append_json_field(StringInfo buf, const char *key, const char *value);
extern void violation_json_begin(StringInfo buf, const Violation *violation,
								 const char *relation, bool rejected);
extern char *relation_qualified_name(Oid relid);
extern char *relation_message_name(Oid relid);
extern void violation_report(const Violation *violation, GuardMode mode);
/* A statement of a break-glass transaction on this tenant table. */
extern void violation_record_break_glass(Oid relid, const char *command,
										 const char *reason);
/* The same, with the tenant context and the offending tenant value. */
extern void violation_report_tenant(const Violation *violation, GuardMode mode,
									const char *tenant, const char *row_tenant);
/* What a worker found for this node's statement, named as it named it. */
extern void violation_report_relayed(const Violation *violation,
									 const char *relation, bool rejected,
									 const char *tenant, const char *row_tenant,
									 bool tell_client);

#endif							/* TENANT_GUARD_VIOLATION_H */
