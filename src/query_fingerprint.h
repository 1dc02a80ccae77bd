/*-------------------------------------------------------------------------
 *
 * query_fingerprint.h
 *	  The query id recorded with a violation.  See query_fingerprint.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_QUERY_FINGERPRINT_H
#define TENANT_GUARD_QUERY_FINGERPRINT_H

#include "tenant_guard.h"

extern uint64 statement_fingerprint(const char *text);
extern uint64 violation_query_id(const char *statement_text);

#endif							/* TENANT_GUARD_QUERY_FINGERPRINT_H */
