/*-------------------------------------------------------------------------
 *
 * citus_relay.h
 *	  Violations a worker finds for the coordinator's statement are recorded
 *	  by the coordinator.  See citus_relay.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_CITUS_RELAY_H
#define TENANT_GUARD_CITUS_RELAY_H

#include "citus_cluster.h"
#include "violation.h"

/* The SQLSTATE of the warning that carries a violation to the coordinator. */
#define ERRCODE_TENANT_GUARD_RELAY	MAKE_SQLSTATE('0','1','T','G','R')

extern void citus_relay_init(void);

/* On a worker */
extern bool citus_relay_send(const Violation *violation, const char *relation,
							 bool rejected, const char *tenant,
							 const char *row_tenant);

/* On the node the client is connected to */
extern bool citus_relay_begin_window(void);

/* Open the window for a statement's relayed violations; false without Citus. */
static inline bool
citus_relay_begin(void)
{
	return citus_is_loaded() && citus_relay_begin_window();
}
extern void citus_relay_end(bool failed, MemoryContext cxt);
extern void citus_relay_note_recorded(const Violation *violation);

#endif							/* TENANT_GUARD_CITUS_RELAY_H */
