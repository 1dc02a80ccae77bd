/*-------------------------------------------------------------------------
 *
 * audit_queue.h
 *	  The shared-memory queue of violations waiting to be written to
 *	  tenant_guard.violations.  See audit_queue.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_AUDIT_QUEUE_H
#define TENANT_GUARD_AUDIT_QUEUE_H

#include "tenant_guard.h"

#include "datatype/timestamp.h"

/* Longer statements are cut to this many bytes in the audit trail. */
#define AUDIT_QUERY_MAX			2048
#define AUDIT_DETAIL_MAX		256
#define AUDIT_TENANT_MAX		128

/* One violation, with everything the audit row needs, in fixed-size fields. */
typedef struct AuditEntry
{
	Oid			dboid;
	int32		backend_pid;
	TimestampTz occurred_at;
	uint64		query_id;
	bool		rejected;
	char		kind[24];
	char		command[32];
	NameData	user_name;
	char		application_name[NAMEDATALEN];
	char		client_addr[64];	/* empty when not over TCP */
	char		relation[2 * NAMEDATALEN + 8];
	NameData	tenant_column;
	char		detail[AUDIT_DETAIL_MAX];
	char		query[AUDIT_QUERY_MAX];
	/* the tenant context and the tenant value outside it; empty: none */
	char		tenant[AUDIT_TENANT_MAX];
	char		row_tenant[AUDIT_TENANT_MAX];
} AuditEntry;

typedef struct AuditCounters
{
	uint64		queued;			/* accepted into the queue since start */
	uint64		persisted;		/* written to a violations table */
	uint64		dropped;		/* refused (queue full) or discarded */
	uint64		pending;		/* in the queue now */
} AuditCounters;

extern int	audit_queue_size;

extern void audit_queue_request_shmem(void);
extern void audit_queue_init_shmem(void);
extern bool audit_queue_push(const AuditEntry *entry);
extern int	audit_queue_claim(Oid dboid, AuditEntry *entries, uint64 *positions,
							  int max);
extern void audit_queue_finish(const uint64 *positions, int count, bool persisted);
extern int	audit_queue_waiting(Oid dboid);
extern int	audit_queue_claimed_elsewhere(Oid dboid);
extern int	audit_queue_discard_database(Oid dboid);
extern int	audit_queue_waiting_databases(Oid *dboids, int max);
extern void audit_queue_counters(AuditCounters *counters);

#endif							/* TENANT_GUARD_AUDIT_QUEUE_H */
