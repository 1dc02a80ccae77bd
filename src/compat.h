/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Every difference between the PostgreSQL major versions tenant_guard
 *	  builds against lives here, so the logic files never test
 *	  PG_VERSION_NUM themselves.
 *
 * Supported today: PostgreSQL 15.  Adding 13, 14, 16 or 17 means adding
 * branches to this file only.  The PostgreSQL 15 APIs the logic relies on
 * that are spelled differently elsewhere, for whoever adds a version:
 *	- MarkGUCPrefixReserved (15+; EmitWarningsOnPlaceholders before);
 *	- InitMaterializedSRF (named SetSingleFuncCall in some 15 releases;
 *	  hand-built tuplestores before 15);
 *	- pg_analyze_and_rewrite_varparams (15+; pg_analyze_and_rewrite with
 *	  varparams before);
 *	- range-table permissions move to RTEPermissionInfo in 16, which
 *	  changes what an RTE_RESULT entry in a plan's range table needs;
 *	- ExecutorStart_hook's return type changes in 18.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_COMPAT_H
#define TENANT_GUARD_COMPAT_H

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 160000
#error "tenant_guard supports PostgreSQL 15; add the differences to compat.h"
#endif

#endif							/* TENANT_GUARD_COMPAT_H */
