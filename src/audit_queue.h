/*-------------------------------------------------------------------------
 *
 * audit_queue.h
 *	  The shared-memory queue of violations waiting to be written to
 *	  tenant_guard.violations, and the audit trail's counters.  See
 *	  audit_queue.c.
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
/* A break-glass reason, longer ones are refused. */
#define AUDIT_REASON_MAX		512
/* The call site as JSON object text (call_site.c caps what it produces). */
#define AUDIT_CALL_SITE_MAX		512

/* One violation, with everything the audit row needs, in fixed-size fields. */
typedef struct AuditEntry
{
	uint64		entry_id;		/* random, unique: makes writing idempotent */
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
	char		call_site[AUDIT_CALL_SITE_MAX];	/* empty when none */
	char		query[AUDIT_QUERY_MAX];
	/* the tenant context and the tenant value outside it; empty: none */
	char		tenant[AUDIT_TENANT_MAX];
	char		row_tenant[AUDIT_TENANT_MAX];
	char		reason[AUDIT_REASON_MAX];	/* break glass; empty: none */
} AuditEntry;

/*
 * Every violation raised since the cluster was created ends up in exactly
 * one of persisted, sampled, dropped, refused, lost or pending:
 *	raised = persisted + sampled + dropped + refused + lost + pending
 * The counters survive clean shutdowns, immediate shutdowns and crash
 * restarts (audit_queue.c).
 */
typedef struct AuditCounters
{
	uint64		raised;			/* violations reported by backends */
	uint64		queued;			/* accepted into the queue */
	uint64		persisted;		/* a row in a violations table */
	uint64		sampled;		/* no row, counted in violation_counts */
	uint64		dropped;		/* neither row nor count: no room, or
								 * database gone */
	uint64		refused;		/* the table refused the row */
	uint64		lost;			/* unreadable after a crash */
	uint64		pending;		/* rows and counts not yet written */
} AuditCounters;

/* Counted repeats of one statement shape, on their way to the table. */
typedef struct AuditShapeCount
{
	uint64		batch_id;		/* random, unique: makes writing idempotent */
	uint64		query_id;
	char		kind[24];
	char		relation[2 * NAMEDATALEN + 8];
	char		call_site[AUDIT_CALL_SITE_MAX];
	NameData	user_name;
	char		application_name[NAMEDATALEN];
	uint64		count;
	TimestampTz first_seen;
	TimestampTz last_seen;
} AuditShapeCount;

/* What became of an entry a writer claimed. */
typedef enum AuditOutcome
{
	AUDIT_RETURNED,				/* back to waiting */
	AUDIT_PERSISTED,
	AUDIT_REFUSED
} AuditOutcome;

/* What became of a violation handed to the queue. */
typedef enum AuditPushResult
{
	AUDIT_PUSH_ROW,				/* waits to be written as a detail row */
	AUDIT_PUSH_SAMPLED,			/* a repeat within the sampling interval: counted */
	AUDIT_PUSH_COUNTED,			/* wanted a row, no room: counted instead */
	AUDIT_PUSH_DROPPED			/* neither row nor count */
} AuditPushResult;

extern int	audit_queue_size;
extern int	audit_sample_interval_ms;

extern void audit_queue_request_shmem(void);
extern void audit_queue_init_shmem(void);
extern bool audit_queue_count_repeat(const AuditEntry *key);
extern AuditPushResult audit_queue_push(const AuditEntry *entry);
extern int	audit_queue_claim(Oid dboid, AuditEntry *entries, uint64 *positions,
							  int max);
extern void audit_queue_finish(const uint64 *positions, const AuditOutcome *outcomes,
							   int count);
extern int	audit_queue_claim_counts(Oid dboid, AuditShapeCount *counts, int max);
extern void audit_queue_counts_written(Oid dboid, const AuditShapeCount *counts, int n);
extern void audit_queue_discard_counts(Oid dboid, const AuditShapeCount *counts, int n);
extern int	audit_queue_counts_waiting(Oid dboid);
extern bool audit_queue_counts_requested(Oid dboid);
extern uint64 audit_queue_counts_passes(Oid dboid);
extern int	audit_queue_waiting(Oid dboid, uint64 before);
extern uint64 audit_queue_tail(void);
extern int	audit_queue_discard_database(Oid dboid);
extern int	audit_queue_waiting_databases(Oid *dboids, int max);
extern void audit_queue_counters(AuditCounters *counters);

/* Processes: the launcher and one writer per database, and their backoff. */
extern void audit_queue_set_launcher(bool running);
extern void audit_queue_set_writer(Oid dboid, bool running);
extern void audit_queue_writer_exited(Oid dboid, bool failed);
extern void audit_queue_writer_succeeded(Oid dboid);
extern bool audit_queue_writer_may_start(Oid dboid, TimestampTz now);
extern void audit_queue_wake_writers(Oid dboid);

#endif							/* TENANT_GUARD_AUDIT_QUEUE_H */
