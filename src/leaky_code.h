/*-------------------------------------------------------------------------
 *
 * leaky_code.h
 *	  Whether an expression passes columns to code that is not leakproof,
 *	  asked for every scoped scan.  See leaky_code.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_LEAKY_CODE_H
#define TENANT_GUARD_LEAKY_CODE_H

#include "tenant_guard.h"

#include "nodes/nodes.h"

extern bool expression_may_leak(Node *node);
extern bool is_constant_array(Node *node);
extern bool node_runs_code(Node *node);

#endif							/* TENANT_GUARD_LEAKY_CODE_H */
