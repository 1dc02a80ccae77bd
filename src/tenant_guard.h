/*-------------------------------------------------------------------------
 *
 * tenant_guard.h
 *	  Declarations shared between tenant_guard's source files.  Each
 *	  section belongs to the file named in its heading.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_H
#define TENANT_GUARD_H

#include "compat.h"

#include "access/attnum.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

#define TENANT_GUARD_NAME		"tenant_guard"
#define TENANT_GUARD_SCHEMA		"tenant_guard"

/* tenant_guard.c */
extern int	tenant_guard_internal_depth;

/* settings.c */
typedef enum GuardMode
{
	GUARD_MODE_OFF,
	GUARD_MODE_LOG,
	GUARD_MODE_ENFORCE
} GuardMode;

typedef struct TenantColumnList
{
	int			count;
	NameData	names[FLEXIBLE_ARRAY_MEMBER];
} TenantColumnList;

typedef enum ClientMessageLevel
{
	CLIENT_MESSAGE_OFF,
	CLIENT_MESSAGE_NOTICE,
	CLIENT_MESSAGE_WARNING
} ClientMessageLevel;

extern int	tenant_guard_mode;
extern int	tenant_guard_amount_mode;
extern int	tenant_guard_client_messages;
extern const TenantColumnList *tenant_column_list;

extern void settings_define(void);

/* extension_state.c */
extern void extension_state_init(void);
extern bool extension_present;
extern bool extension_is_active_lookup(void);

/*
 * True when the extension exists in this database and the guard may act.
 * Every hook asks, so the common answer costs one test.
 */
static inline bool
extension_is_active(void)
{
	return extension_present || extension_is_active_lookup();
}
extern Oid	extension_schema_oid(void);
extern Oid	extension_registry_relid(void);
extern Oid	extension_registry_index_oid(void);
extern Oid	extension_amount_guard_oid(void);

/* tenant_catalog.c */
typedef enum TenantSource
{
	TENANT_SOURCE_NONE,			/* not a tenant table */
	TENANT_SOURCE_DETECTED,		/* has a column named in tenant_columns */
	TENANT_SOURCE_REGISTERED	/* register_table() named the column */
} TenantSource;

typedef struct TenantTableInfo
{
	Oid			relid;			/* hash key */
	TenantSource source;
	AttrNumber	tenant_attnum;	/* InvalidAttrNumber when not a tenant table */
	NameData	tenant_column;
	bool		may_raise_violation;	/* see relation_may_raise_violation */
} TenantTableInfo;

extern void tenant_catalog_init(void);
extern void tenant_catalog_reset(void);
extern AttrNumber tenant_table_attnum(Oid relid);
extern void tenant_table_describe(Oid relid, TenantTableInfo *info);
extern bool relation_may_raise_violation(Oid relid);

/* query_fingerprint.c */
struct ParseState;
extern void query_fingerprint_statement(struct ParseState *pstate, Query *query);

#endif							/* TENANT_GUARD_H */
