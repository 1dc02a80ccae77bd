/*-------------------------------------------------------------------------
 *
 * call_site.h
 *	  The code path a statement came from, as SQL commenters (sqlcommenter,
 *	  Rails query log tags, marginalia) name it.  See call_site.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_CALL_SITE_H
#define TENANT_GUARD_CALL_SITE_H

#include "tenant_guard.h"

extern bool call_site_from_query(const char *query, char *out, size_t outlen);

#endif							/* TENANT_GUARD_CALL_SITE_H */
