/*-------------------------------------------------------------------------
 *
 * audit_writer.h
 *	  Writing queued violations into tenant_guard.violations: the audit
 *	  workers and tenant_guard.flush().  See audit_writer.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_AUDIT_WRITER_H
#define TENANT_GUARD_AUDIT_WRITER_H

#include "tenant_guard.h"

extern void audit_writer_register_launcher(void);
extern int64 audit_flush_current_database(void);

#endif							/* TENANT_GUARD_AUDIT_WRITER_H */
