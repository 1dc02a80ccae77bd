/*-------------------------------------------------------------------------
 *
 * tenant_catalog.h
 *	  Which relations are tenant tables, and by which column.  See
 *	  tenant_catalog.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_TENANT_CATALOG_H
#define TENANT_GUARD_TENANT_CATALOG_H

#include "tenant_guard.h"

#include "access/attnum.h"

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
	Oid			tenant_atttype; /* its type (a change of it resets the entry) */
	bool		citus_shard;	/* a tenant table that is a Citus shard */
	bool		may_have_children;	/* partitioned, or has had inheritance
									 * children (relhassubclass) */
} TenantTableInfo;

extern void tenant_catalog_init(void);
extern void tenant_catalog_reset(void);
extern AttrNumber tenant_table_attnum(Oid relid);
extern void tenant_table_describe(Oid relid, TenantTableInfo *info);
extern bool registry_has_entry(Oid relid);
extern bool tenant_table_is_citus_shard(Oid relid);
extern bool tenant_table_ruled_out(Oid relid);

/* The catalog facts the install script asks the C code for, too. */
extern bool relkind_can_be_tenant_table(char relkind);
extern bool namespace_never_holds_tenant_tables(Oid nsp);

#endif							/* TENANT_GUARD_TENANT_CATALOG_H */
