/*-------------------------------------------------------------------------
 *
 * tenant_guard.h
 *	  What every tenant_guard source file needs: the names under which the
 *	  extension and its schema exist.  Each module declares its own API in
 *	  a header of its own (settings.h, extension_state.h, tenant_catalog.h,
 *	  ...); nothing else belongs here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_H
#define TENANT_GUARD_H

#include "compat.h"

/* The extension's name (CREATE EXTENSION, GUC prefix, log lines). */
#define TENANT_GUARD_NAME		"tenant_guard"

/* The schema the install script creates; never holds a tenant table. */
#define TENANT_GUARD_SCHEMA		"tenant_guard"

#endif							/* TENANT_GUARD_H */
