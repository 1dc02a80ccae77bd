/*-------------------------------------------------------------------------
 *
 * scope_values.c
 *	  Value checks of scoped statements (doc/tenant-context.md): with a
 *	  tenant context set, every tenant value a statement's tenant scope
 *	  names must be one of the context's.
 *
 * Planning.  For a scan that scope_analysis.c found scoped, the value side
 * of each scoping term is kept: X of "tenant_col = X", the array of
 * "tenant_col = ANY (X)" (also IN (...)), and every arm of an OR.  The
 * expressions are carried in the plan (plan_carrier.c), whatever the
 * context at planning, since plans are cached and the context changes per
 * request.
 *
 * Execution.  At ExecutorStart, before the first row, the expressions are
 * evaluated with the plan's parameters against the context in force then:
 * constants, parameters of generic plans, stable expressions, and outputs of
 * initplans (run then, once, as they would be at the first row).  An
 * initplan that depends on an outer query's row cannot be run up front; its
 * scope is then reported as unknown, never passed silently.  A correlated
 * reference to an outer column ("i.firm_id = f.id") is checked through
 * the outer WHERE term that restricts that column to X: X is checked.  A NULL value
 * matches no row and is not checked, except in "IS NOT DISTINCT FROM",
 * where it reads the rows without a tenant, which are outside every
 * context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "scope_values.h"

#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/value.h"
#include "optimizer/optimizer.h"
#include "plan_carrier.h"
#include "scope_analysis.h"
#include "scope_params.h"
#include "scoping_guard.h"
#include "settings.h"
#include "tenant_catalog.h"
#include "tenant_context.h"
#include "utils/array.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"

/*
 * A value check, as carried in the plan: a List of (an IntList of relid,
 * flags and the type of the tenant column; String tenant column; the value
 * expression).  The flags are worked out at planning, so that the common
 * check (a constant or a parameter of the column's own type) does no more
 * than compare.
 */
#define CHECK_WRITES			0x01	/* in UPDATE, DELETE, MERGE of the table */
#define CHECK_ARRAY				0x02	/* the value is the array of = ANY */
#define CHECK_READS_INITPLAN	0x04	/* reads a PARAM_EXEC (an initplan's output) */
#define CHECK_OTHER_TYPE		0x08	/* of another type than the column's */
#define CHECK_WRITTEN			0x10	/* a value written into the column */
#define CHECK_NULL_MATCHES		0x20	/* IS NOT DISTINCT FROM: NULL reads NULLs */
#define CHECK_UNKNOWN			0x40	/* no value can be known up front */
#define CHECK_CHANGEABLE		0x80	/* an expression the scan evaluates again */

typedef struct ValueCheck
{
	Oid			relid;
	int			flags;
	const char *column;
	Expr	   *value;
	Oid			value_type;		/* InvalidOid: not known yet */
	Oid			column_type;
} ValueCheck;

static inline int
check_flags(List *carried)
{
	return lsecond_int(linitial(carried));
}

static inline void
add_flags(List *carried, int flags)
{
	lfirst_int(list_nth_cell(linitial(carried), 1)) |= flags;
}

static void
read_check(List *carried, ValueCheck *check)
{
	List	   *numbers = linitial(carried);

	check->relid = (Oid) linitial_int(numbers);
	check->flags = lsecond_int(numbers);
	check->column_type = (Oid) lthird_int(numbers);
	check->column = strVal(lsecond(carried));
	check->value = (Expr *) lthird(carried);
	check->value_type = InvalidOid;
}

/* A String node holding a copy of the text, in one allocation. */
static String *
make_string_copy(const char *text)
{
	size_t		len = strlen(text);
	String	   *node = palloc(sizeof(String) + len + 1);

	node->type = T_String;
	node->sval = (char *) (node + 1);
	memcpy(node->sval, text, len + 1);
	return node;
}

static bool is_unchanging_value(Node *value);

static bool
reads_exec_param(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
		return true;
	return expression_tree_walker(node, reads_exec_param, context);
}

static bool
refers_to_rel(Node *node, void *context)
{
	Index		relid = *(Index *) context;

	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return ((Var *) node)->varno == (int) relid &&
			((Var *) node)->varlevelsup == 0;
	return expression_tree_walker(node, refers_to_rel, context);
}

static List *
add_check(List *checks, Oid relid, bool writes, Node *value, bool is_array)
{
	TenantTableInfo info;
	Expr	   *copy = (Expr *) copyObject(value);
	Oid			value_type = exprType(value);
	int			flags = 0;

	tenant_table_describe(relid, &info);
	if (is_array)
		value_type = get_element_type(value_type);
	if (writes)
		flags |= CHECK_WRITES;
	if (is_array)
		flags |= CHECK_ARRAY;
	if (value_type != info.tenant_atttype)
		flags |= CHECK_OTHER_TYPE;
	/* constants and parameters, most values, read no initplan and call nothing */
	if (!is_unchanging_value(value))
	{
		fix_opfuncids((Node *) copy);
		if (reads_exec_param((Node *) copy, NULL))
			flags |= CHECK_READS_INITPLAN;
		flags |= CHECK_CHANGEABLE;
	}
	return lappend(checks,
				   list_make3(list_make3_int((int) relid, flags, (int) info.tenant_atttype),
							  make_string_copy(NameStr(info.tenant_column)),
							  copy));
}

/*
 * A constant or a parameter of the statement (or an array of them): the
 * same value for every row.  Anything else (current_setting(...), a
 * function the role declared STABLE) the scan evaluates again, and what it
 * reads the statement itself may change after the check at its start.
 */
static bool
is_unchanging_value(Node *value)
{
	while (IsA(value, RelabelType))
		value = (Node *) ((RelabelType *) value)->arg;
	if (IsA(value, ArrayExpr))
	{
		ListCell   *lc;

		foreach(lc, ((ArrayExpr *) value)->elements)
			if (!is_unchanging_value(lfirst(lc)))
				return false;
		return true;
	}
	return IsA(value, Const) ||
		(IsA(value, Param) && ((Param *) value)->paramkind == PARAM_EXTERN);
}

/*
 * The tables scoped by a value the scan evaluates again
 * (CHECK_CHANGEABLE): their rows are verified too (row_verification.c).
 */
List *
scope_values_changeable_tables(List *checks)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, checks)
	{
		List	   *carried = lfirst(lc);

		if ((check_flags(carried) & (CHECK_CHANGEABLE | CHECK_WRITTEN)) == CHECK_CHANGEABLE)
			relids = list_append_unique_oid(relids, (Oid) linitial_int(linitial(carried)));
	}
	return relids;
}

/*
 * A value the statement writes into the tenant column, known before the
 * first row (written_rows_known_values): a cross_tenant_write when outside
 * the context, NULL included.
 */
List *
scope_values_add_written(List *checks, Oid relid, Expr *value)
{
	List	   *check;

	checks = add_check(checks, relid, true, (Node *) value, false);
	check = llast(checks);
	add_flags(check, CHECK_WRITTEN);
	return checks;
}

/*
 * The value a table of a plain statement is pinned to as written
 * (written_scopes.c): a constant or a parameter of the statement.
 */
List *
scope_values_add_pinned(List *checks, Oid relid, Node *value)
{
	return add_check(checks, relid, false, value, false);
}

/*
 * Does the value read a correlated reference to an outer query's column?
 * Such a scope holds because the outer query's WHERE restricts that column
 * to a tenant value (scope_params.c); it has no value of its own before
 * the statement runs, and is checked through the outer query's scope.
 */
static bool
reads_outer_row(Node *node, void *context)
{
	PlannerInfo *root = (PlannerInfo *) context;

	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
	{
		int			paramid = ((Param *) node)->paramid;

		for (PlannerInfo *level = root; level != NULL; level = level->parent_root)
		{
			ListCell   *lc;

			foreach(lc, level->init_plans)
			{
				if (list_member_int(((SubPlan *) lfirst(lc))->setParam, paramid))
					return false;
			}
		}
		return true;
	}
	return expression_tree_walker(node, reads_outer_row, context);
}

static List *term_values(List *checks, PlannerInfo *root, Node *clause, Index rti,
						 AttrNumber attnum, Oid relid, bool writes);

/*
 * A value read from an outer row: "i.firm_id = f.id" in a correlated
 * sublink or a LATERAL subquery, scoped because the outer WHERE restricts
 * f.id to X (scope_params.c).  The scan then reads the tenant X, so X is
 * checked, as a scope of this table, whether or not f.id is a tenant
 * column.  Any other value read from an outer row cannot be known before
 * the statement runs: with a context it is reported as unknown.
 */
static List *
add_outer_value(List *checks, PlannerInfo *root, Oid relid, bool writes,
				Node *value)
{
	PlannerInfo *owner = NULL;
	Var		   *column;
	Node	   *term = NULL;

	while (IsA(value, RelabelType))
		value = (Node *) ((RelabelType *) value)->arg;
	if (IsA(value, Param) && ((Param *) value)->paramkind == PARAM_EXEC)
		term = correlated_scope_term(root, ((Param *) value)->paramid, &owner,
									 &column);
	if (term != NULL)
		return term_values(checks, owner, term, column->varno, column->varattno,
						   relid, writes);
	checks = add_check(checks, relid, writes, (Node *) makeBoolConst(true, false),
					   false);
	add_flags(llast(checks), CHECK_UNKNOWN);
	return checks;
}

static List *
add_value(List *checks, PlannerInfo *root, Oid relid, bool writes,
		  Node *value, bool is_array)
{
	if (reads_outer_row(value, root))
		return add_outer_value(checks, root, relid, writes, value);
	return add_check(checks, relid, writes, value, is_array);
}

/* The value side of "col = X", "X = col" (casts of col included). */
static Node *
value_side(List *args, Index rti)
{
	Node	   *left = linitial(args);
	Node	   *right = lsecond(args);

	return refers_to_rel(right, &rti) ? left : right;
}

/* The values of one scoping term, which scope_analysis.c accepted. */
static List *
term_values(List *checks, PlannerInfo *root, Node *clause, Index rti,
			AttrNumber attnum, Oid relid, bool writes)
{
	ListCell   *lc;

	check_stack_depth();
	if (is_andclause(clause) || is_orclause(clause))
	{
		/* AND: every scoped term names values; OR: every arm is scoped */
		foreach(lc, ((BoolExpr *) clause)->args)
		{
			if (clause_is_tenant_scope(root, lfirst(lc), rti, attnum))
				checks = term_values(checks, root, lfirst(lc), rti, attnum,
									 relid, writes);
		}
	}
	else if (is_notclause(clause) && IsA(linitial(((BoolExpr *) clause)->args), DistinctExpr))
	{
		int			before = list_length(checks);

		checks = add_value(checks, root, relid, writes,
						   value_side(((DistinctExpr *) linitial(((BoolExpr *) clause)->args))->args, rti),
						   false);
		if (list_length(checks) > before)
			add_flags(llast(checks), CHECK_NULL_MATCHES);
	}
	else if (IsA(clause, OpExpr))
		checks = add_value(checks, root, relid, writes,
						   value_side(((OpExpr *) clause)->args, rti), false);
	else if (IsA(clause, ScalarArrayOpExpr))
		checks = add_value(checks, root, relid, writes,
						   lsecond(((ScalarArrayOpExpr *) clause)->args), true);
	else if (IsA(clause, BooleanTest))
		checks = term_values(checks, root, (Node *) ((BooleanTest *) clause)->arg,
							 rti, attnum, relid, writes);
	/* WHERE CURRENT OF names no value: the cursor's rows were checked. */
	return checks;
}

/*
 * The values of one scoping clause of a statement Citus planned without
 * PostgreSQL's planner (unplanned_query.c), its table at range-table
 * index 1.
 */
List *
scope_values_collect_clause(List *checks, PlannerInfo *root, Node *clause,
							Oid relid, AttrNumber tenant_attnum, bool writes)
{
	return term_values(checks, root, clause, 1, tenant_attnum, relid, writes);
}

List *
scope_values_collect(List *checks, PlannerInfo *root, RelOptInfo *rel,
					 Oid relid, AttrNumber tenant_attnum, bool writes)
{
	ListCell   *lc;

	if (IS_DUMMY_REL(rel))
		return checks;
	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		if (rinfo->pseudoconstant ||
			!clause_is_tenant_scope(root, (Node *) rinfo->clause, rel->relid,
								  tenant_attnum))
			continue;
		checks = term_values(checks, root, (Node *) rinfo->clause, rel->relid,
							 tenant_attnum, relid, writes);
	}
	return checks;
}

/*-----------
 * Execution
 *-----------
 */

/*
 * True when the expression reads an initplan output that cannot be
 * computed before the first row: one that depends on an outer row.
 */
static bool
needs_outer_row(Node *node, void *context)
{
	EState	   *estate = (EState *) context;

	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
	{
		ParamExecData *prm = &estate->es_param_exec_vals[((Param *) node)->paramid];

		return prm->execPlan == NULL ||
			!bms_is_empty(((SubPlanState *) prm->execPlan)->planstate->plan->extParam);
	}
	return expression_tree_walker(node, needs_outer_row, context);
}

/*
 * Is every non-null tenant value of the evaluated scope in the context?  A
 * value of another type than the column's is compared with the context's
 * values as the column holds them (firm_id::text = '1' names tenant "01").
 */
static bool
value_in_context(const ValueCheck *check, Oid typid, Datum value, char **bad)
{
	if (check->flags & CHECK_ARRAY)
	{
		ArrayType  *array = DatumGetArrayTypeP(value);
		Oid			elemtype = ARR_ELEMTYPE(array);
		int16		typlen;
		bool		typbyval;
		char		typalign;
		Datum	   *elems;
		bool	   *nulls;
		int			count;

		get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
		deconstruct_array(array, elemtype, typlen, typbyval, typalign,
						  &elems, &nulls, &count);
		for (int i = 0; i < count; i++)
		{
			if (!nulls[i] &&
				!tenant_context_contains_as(elemtype, elems[i], check->column_type,
											check->relid, check->column))
			{
				*bad = tenant_value_text(elemtype, elems[i], false);
				return false;
			}
		}
		return true;
	}
	if (tenant_context_contains_as(typid, value, check->column_type, check->relid,
								   check->column))
		return true;
	*bad = tenant_value_text(typid, value, false);
	return false;
}

/*
 * The value of a scope: constants and the parameters of a generic plan,
 * the common cases, without building an expression state.
 */
static Datum
evaluate(Expr *expr, EState *estate, ExprContext **econtext, bool *isnull)
{
	ParamListInfo params = estate->es_param_list_info;

	while (IsA(expr, RelabelType))
		expr = ((RelabelType *) expr)->arg;
	if (IsA(expr, Const))
	{
		*isnull = ((Const *) expr)->constisnull;
		return ((Const *) expr)->constvalue;
	}
	if (IsA(expr, Param) && ((Param *) expr)->paramkind == PARAM_EXTERN &&
		params != NULL && ((Param *) expr)->paramid > 0 &&
		((Param *) expr)->paramid <= params->numParams)
	{
		int			paramid = ((Param *) expr)->paramid;
		ParamExternData workspace;
		ParamExternData *prm;

		/* as ExecEvalParamExtern does, PL/pgSQL's variables included */
		prm = params->paramFetch != NULL ?
			params->paramFetch(params, paramid, false, &workspace) :
			&params->params[paramid - 1];
		if (OidIsValid(prm->ptype) && prm->ptype == ((Param *) expr)->paramtype)
		{
			*isnull = prm->isnull;
			return prm->value;
		}
	}
	if (*econtext == NULL)
		*econtext = CreateExprContext(estate);
	return ExecEvalExprSwitchContext(ExecInitExpr(expr, NULL), *econtext, isnull);
}

static inline Oid
value_type_of(const ValueCheck *check)
{
	return OidIsValid(check->value_type) ? check->value_type : exprType((Node *) check->value);
}

/* Check one scope; false when it was reported. */
static bool
check_scope(const ValueCheck *check, EState *estate, ExprContext **econtext)
{
	Datum		value;
	bool		isnull;
	char	   *bad = NULL;
	ViolationKind kind = (check->flags & CHECK_WRITES) ?
		VIOLATION_CROSS_TENANT_WRITE : VIOLATION_CROSS_TENANT_READ;

	if (check->flags & CHECK_UNKNOWN)
	{
		report_cross_tenant(kind, TENANT_VALUE_UNKNOWN, check->relid, check->column, NULL);
		return false;
	}
	/* a column type the value does not have must accept the context too */
	if (check->flags & CHECK_OTHER_TYPE)
		tenant_context_validate(check->column_type, check->relid, check->column);
	value = evaluate(check->value, estate, econtext, &isnull);
	if (check->flags & CHECK_WRITTEN)
	{
		/* NULL is outside every context */
		if (isnull)
			bad = pstrdup("null");
		else if (value_in_context(check, value_type_of(check), value, &bad))
			return true;
		report_cross_tenant(kind, TENANT_VALUE_WRITTEN, check->relid, check->column, bad);
		return false;
	}
	if (isnull && (check->flags & CHECK_NULL_MATCHES))
		bad = pstrdup("null");
	else if (isnull || value_in_context(check, value_type_of(check), value, &bad))
		return true;
	report_cross_tenant(kind, TENANT_VALUE_SCOPE, check->relid, check->column, bad);
	return false;
}

/*
 * The value check of a table pinned as written, from the value on its
 * range-table entry (plan_carrier_pin) and the registry: false when the
 * entry carries no value, or the table is no tenant table any more.
 */
static bool
read_pinned(RangeTblEntry *rte, TenantTableInfo *info, ValueCheck *check)
{
	Node	   *value = plan_carrier_pinned_value(rte);

	if (value == NULL)
		return false;
	tenant_table_describe(rte->relid, info);
	if (info->tenant_attnum == InvalidAttrNumber)
		return false;
	check->relid = rte->relid;
	check->value = (Expr *) value;
	check->value_type = exprType(value);
	check->flags = check->value_type == info->tenant_atttype ? 0 : CHECK_OTHER_TYPE;
	check->column = NameStr(info->tenant_column);
	check->column_type = info->tenant_atttype;
	return true;
}

/*
 * Checks every pinned table of the plan, when the scoping guard judges
 * the statement; stops at the first report.
 */
static void
check_pinned(PlannedStmt *stmt, EState *estate)
{
	ExprContext *econtext = NULL;
	bool		judged = false;
	ListCell   *lc;

	foreach(lc, stmt->rtable)
	{
		TenantTableInfo info;
		ValueCheck	check;

		if (!read_pinned(lfirst(lc), &info, &check))
			continue;
		if (!judged && !scoping_guard_judges_execution())
			return;
		judged = true;
		if (!check_scope(&check, estate, &econtext))
			return;				/* reported once per statement */
	}
}

static void
check_all(List *checks, EState *estate)
{
	ExprContext *econtext = NULL;
	ListCell   *lc;

	/* Decide what can run up front before running any initplan. */
	foreach(lc, checks)
	{
		ValueCheck	check;

		if (!(check_flags(lfirst(lc)) & CHECK_READS_INITPLAN))
			continue;
		read_check(lfirst(lc), &check);
		if (needs_outer_row((Node *) check.value, estate))
		{
			report_cross_tenant((check.flags & CHECK_WRITES) ? VIOLATION_CROSS_TENANT_WRITE :
								VIOLATION_CROSS_TENANT_READ, TENANT_VALUE_UNKNOWN,
								check.relid, check.column, NULL);
			return;
		}
	}
	foreach(lc, checks)
	{
		ValueCheck	check;

		read_check(lfirst(lc), &check);
		if (!check_scope(&check, estate, &econtext))
			return;				/* reported once per statement */
	}
}

/*
 * At ExecutorStart, after the standard start (which sets up the
 * parameters and the initplans), with the context in force now.
 */
void
scope_values_check_execution(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *stmt;
	List	   *checks;
	bool		pinned;
	MemoryContext old;

	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 ||
		tenant_guard_mode == GUARD_MODE_OFF ||
		!tenant_context_is_set())
		return;
	/* a plan carries its value checks or pinned tables, never both */
	stmt = queryDesc->plannedstmt;
	pinned = !plan_carrier_is_attached(stmt, &checks);
	if (!pinned && (checks == NIL || !scoping_guard_judges_execution()))
		return;
	old = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
	if (pinned)
		check_pinned(stmt, queryDesc->estate);
	else
		check_all(checks, queryDesc->estate);
	MemoryContextSwitchTo(old);
}

/* A check of a constant value outside the context: appended to result. */
static List *
add_constant_violation(List *result, const ValueCheck *check)
{
	Const	   *constant = (Const *) check->value;
	char	   *bad = NULL;
	ScopeValueViolation *v;

	while (constant != NULL && IsA(constant, RelabelType))
		constant = (Const *) ((RelabelType *) constant)->arg;
	if (constant == NULL || !IsA(constant, Const))
		return result;
	tenant_context_validate(check->column_type, check->relid, check->column);
	if (constant->constisnull ||
		value_in_context(check, constant->consttype, constant->constvalue, &bad))
		return result;
	v = palloc(sizeof(ScopeValueViolation));
	v->relid = check->relid;
	v->column = check->column;
	v->writes = (check->flags & CHECK_WRITES) != 0;
	v->value = bad;
	return lappend(result, v);
}

/*
 * For tenant_guard.check(): the constant values of a plan's scopes that
 * are outside the current context.
 */
List *
scope_values_constant_violations(PlannedStmt *stmt)
{
	List	   *result = NIL;
	ListCell   *lc;

	if (!tenant_context_is_set())
		return NIL;
	foreach(lc, plan_carrier_value_checks(stmt))
	{
		ValueCheck	check;

		read_check(lfirst(lc), &check);
		result = add_constant_violation(result, &check);
	}
	foreach(lc, stmt->rtable)
	{
		TenantTableInfo info;
		ValueCheck	check;

		if (read_pinned(lfirst(lc), &info, &check))
		{
			check.column = pstrdup(check.column);	/* outlives info */
			result = add_constant_violation(result, &check);
		}
	}
	return result;
}
