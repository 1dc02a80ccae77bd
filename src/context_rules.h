/*-------------------------------------------------------------------------
 *
 * context_rules.h
 *	  What a role may do with the tenant context: require_signed_tenant,
 *	  require_local_tenant, require_tenant.  See context_rules.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_CONTEXT_RULES_H
#define TENANT_GUARD_CONTEXT_RULES_H

#include "tenant_guard.h"

#include "executor/execdesc.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/guc.h"

extern void context_rules_define(void);
extern void context_rules_refresh(void);
extern void context_rules_need_xact_callback(void);

/* From tenant_guard.tenant's check and assign hooks. */
extern bool context_rules_verify_signatures(GucSource source);
extern bool context_rules_check_value(const char *value, bool signed_value,
									  GucSource source);
extern void context_rules_value_checked(const char *value, GucSource source);
extern void context_rules_value_assigned(const char *value, bool non_empty);

/* A statement on tenant tables is about to run under the setting. */
extern void context_rules_check_use(bool signed_value);

/* After a cross-tenant refusal, where contexts must be signed. */
extern bool context_rules_closed;
extern void context_rules_note_refusal(void);
extern void context_rules_note_error(MemoryContext cxt);
extern void context_rules_utility_failed(Node *parsetree, ProcessUtilityContext context);
extern void context_rules_refuse_closed(void);

static inline void
context_rules_check_closed(void)
{
	if (unlikely(context_rules_closed))
		context_rules_refuse_closed();
}

/* A session-level change of the context waits to be refused. */
extern bool context_rules_session_change_pending;
extern void context_rules_refuse_session_change(void);

static inline void
context_rules_check_session_change(void)
{
	if (unlikely(context_rules_session_change_pending))
		context_rules_refuse_session_change();
}

/* Statements checked whatever they carry: require_tenant, break glass. */
extern bool context_rules_statement_checks;
extern void context_rules_check_statement(QueryDesc *queryDesc, int eflags);
extern void context_rules_check_utility(Node *parsetree);
extern void context_rules_check_explain(Node *parsetree);
extern bool context_rules_tenant_required(void);
extern bool context_rules_withhold_details(void);
extern void context_rules_report_missing_tenant(Oid relid, const char *command);

#endif							/* TENANT_GUARD_CONTEXT_RULES_H */
