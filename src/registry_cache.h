/*-------------------------------------------------------------------------
 *
 * registry_cache.h
 *	  The contents of tenant_guard.registry, read once per session.  See
 *	  registry_cache.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_REGISTRY_CACHE_H
#define TENANT_GUARD_REGISTRY_CACHE_H

#include "tenant_guard.h"

extern bool registry_entry(Oid relid, bool *excluded, NameData *column);
extern bool registry_is_empty(void);
extern void registry_cache_reset(void);
extern bool registry_entries_have_children(void);
extern void registry_cache_relation_changed(Oid relid);

#endif							/* TENANT_GUARD_REGISTRY_CACHE_H */
