/*-------------------------------------------------------------------------
 *
 * break_glass.h
 *	  tenant_guard.break_glass(reason): an audited way across tenants for
 *	  the rest of a transaction.  See break_glass.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_BREAK_GLASS_H
#define TENANT_GUARD_BREAK_GLASS_H

#include "tenant_guard.h"

extern bool break_glass_active;

/* Is this transaction breaking glass?  Inline: every violation asks. */
static inline bool
break_glass_in_force(void)
{
	return break_glass_active;
}

extern const char *break_glass_reason(void);
extern void break_glass_end(void);
extern void break_glass_init(void);

#endif							/* TENANT_GUARD_BREAK_GLASS_H */
