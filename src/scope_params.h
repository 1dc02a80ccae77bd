/*-------------------------------------------------------------------------
 *
 * scope_params.h
 *	  What a PARAM_EXEC Param in a scan's restriction stands for: one value
 *	  for the whole statement, or a value that changes from row to row?
 *	  See scope_params.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_SCOPE_PARAMS_H
#define TENANT_GUARD_SCOPE_PARAMS_H

#include "tenant_guard.h"

#include "nodes/pathnodes.h"

extern bool exec_param_is_tenant_value(PlannerInfo *root, int paramid);
extern bool exec_param_is_correlation(PlannerInfo *root, int paramid);
extern bool exec_param_is_initplan_output(PlannerInfo *root, int paramid);
extern Node *correlated_scope_term(PlannerInfo *root, int paramid,
								   PlannerInfo **owner, Var **column);
extern bool semi_join_correlation_is_scope(PlannerInfo *root, Index relid,
										   AttrNumber tenant_attnum);

#endif							/* TENANT_GUARD_SCOPE_PARAMS_H */
