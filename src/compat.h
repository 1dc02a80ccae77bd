/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every difference between the PostgreSQL major versions tenant_guard
 *	  builds against lives here, so the logic files never test
 *	  PG_VERSION_NUM themselves.
 *
 * Supported today: PostgreSQL 15.  Adding 13, 14, 16 or 17 means adding
 * branches to this file only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_COMPAT_H
#define TENANT_GUARD_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "tenant_guard supports PostgreSQL 15; add the differences to compat.h"
#endif

#endif							/* TENANT_GUARD_COMPAT_H */
