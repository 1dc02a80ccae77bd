/*-------------------------------------------------------------------------
 *
 * citus_cluster.h
 *	  tenant_guard on a Citus cluster: whether Citus is loaded, and which
 *	  connections and planner calls are Citus's own.  See citus_cluster.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_CITUS_CLUSTER_H
#define TENANT_GUARD_CITUS_CLUSTER_H

#include "tenant_guard.h"

#include "utils/guc.h"

extern char *tenant_guard_cluster_secret;
extern char *tenant_guard_cluster_proof;

extern void citus_cluster_init(void);

/* Is Citus loaded in this server?  Inline: every statement asks. */
extern PGDLLIMPORT bool citus_loaded;

static inline bool
citus_is_loaded(void)
{
	return citus_loaded;
}

extern bool citus_internal_connection(void);
extern bool citus_internal_planning(const char *query_string);
extern Oid	citus_shard_table(Oid relid);
extern Oid	citus_table_of(Oid relid);
extern bool citus_is_citus_table(Oid relid);

extern bool citus_cluster_check_secret(char **newval, void **extra,
									   GucSource source);
extern void citus_cluster_assign_secret(const char *newval, void *extra);

#endif							/* TENANT_GUARD_CITUS_CLUSTER_H */
