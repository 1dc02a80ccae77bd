/*-------------------------------------------------------------------------
 *
 * amount_guard.c
 *	  The trigger behind tenant_guard.protect_amount(): a protected amount
 *	  column may only change in ways that cannot lose a concurrent update.
 *
 * protect_amount() (install script) puts one row-level BEFORE UPDATE OF
 * <the protected columns> trigger named tenant_guard_amounts on the table,
 * calling amount_guard().  The trigger's column list is the registry: it
 * follows renames, it makes DROP COLUMN of a protected column refuse
 * (without CASCADE), partitions get clones of it, and pg_dump restores it
 * with the table.
 *
 * For each protected column whose value the UPDATE changes, the change is
 * accepted when
 *	1. the statement computes the column from itself in the same row
 *	   (amount_statement.c), or
 *	2. the old row version was written by this transaction: inserted by
 *	   it, or updated by it earlier, which has held the row lock since, or
 *	3. this transaction locked the row FOR UPDATE or FOR NO KEY UPDATE in
 *	   an earlier command (row_locks.c).
 * Anything else is a non_atomic_amount violation, reported under
 * tenant_guard.amount_mode through violation.c.  A value that does not
 * change (by the type's equality: 150.0 = 150.00) is always fine, as
 * ORMs write every column on save.
 *
 * A statement whose protected assignments are all relative would have
 * every row accepted, so it does not call the trigger at all: at
 * ExecutorStart, amount_guard_skip_for_relative_statement() takes the
 * trigger out of that statement's own trigger list.
 *
 * The trigger reads the rows it is given and must not change them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "amount_guard.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "citus_cluster.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "extension_state.h"
#include "fmgr.h"
#include "plan_carrier.h"
#include "settings.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/typcache.h"
#include "violation.h"

PG_FUNCTION_INFO_V1(amount_guard);

/* The relation's trigger of ours, which guards its amounts, or NULL. */
static Trigger *
amount_trigger(Relation rel)
{
	TriggerDesc *trigdesc = rel->trigdesc;
	Oid			guard;

	if (trigdesc == NULL || !trigdesc->trig_update_before_row)
		return NULL;
	guard = extension_amount_guard_oid();
	for (int i = 0; i < trigdesc->numtriggers; i++)
	{
		if (trigdesc->triggers[i].tgfoid == guard && OidIsValid(guard))
			return &trigdesc->triggers[i];
	}
	return NULL;
}

bool
relation_has_amount_guard(Relation rel)
{
	return amount_trigger(rel) != NULL;
}

/*
 * The version column declared for the relation's protected amounts (the
 * trigger's argument, set by tenant_guard.set_amount_version_column), or
 * NULL.  Its name, like a trigger's column list, is what pg_dump restores.
 */
const char *
amount_version_column(Relation rel)
{
	Trigger    *trigger = amount_trigger(rel);

	return trigger != NULL && trigger->tgnargs > 0 ? trigger->tgargs[0] : NULL;
}

/* The version column's number; an error when it no longer exists. */
static AttrNumber
version_attnum(Relation rel, const char *column)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), column);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("version column \"%s\" of table \"%s\" does not exist",
						column, relation_message_name(RelationGetRelid(rel))),
				 errdetail("It was declared for the table's protected amounts, which cannot be judged without it."),
				 errhint("Declare the column again with tenant_guard.set_amount_version_column(), or none with NULL.")));
	return attnum;
}

/* Is the column one of the relation's protected amounts? */
bool
amount_column_is_protected(Relation rel, AttrNumber attnum)
{
	Trigger    *trigger = amount_trigger(rel);

	for (int i = 0; trigger != NULL && i < trigger->tgnattr; i++)
	{
		if (trigger->tgattr[i] == attnum)
			return true;
	}
	return false;
}

static void
check_trigger_protocol(FunctionCallInfo fcinfo)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("amount_guard() must be called as a trigger")));
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("amount_guard() must be fired BEFORE UPDATE FOR EACH ROW"),
				 errhint("Protect amount columns with tenant_guard.protect_amount().")));
}

/* Equal by the type's own equality, or both NULL. */
static bool
amounts_equal(Oid typid, Datum old, bool oldnull, Datum new, bool newnull)
{
	TypeCacheEntry *type;

	if (oldnull || newnull)
		return oldnull && newnull;
	type = lookup_type_cache(typid, TYPECACHE_EQ_OPR_FINFO |
							 TYPECACHE_DOMAIN_BASE_INFO);
	if (OidIsValid(type->domainBaseType))
		type = lookup_type_cache(type->domainBaseType, TYPECACHE_EQ_OPR_FINFO);
	if (!OidIsValid(type->eq_opr_finfo.fn_oid))
		return false;
	return DatumGetBool(FunctionCall2Coll(&type->eq_opr_finfo, InvalidOid,
										  old, new));
}

/* Rules 2 and 3: the row is this transaction's to write. */
static bool
row_is_held_by_transaction(TriggerData *trigdata)
{
	HeapTuple	old = trigdata->tg_trigtuple;

	if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(old->t_data)))
		return true;
	return row_locked_before_statement(trigdata->tg_relation, &old->t_self);
}

/*
 * The table protect_amount() was called on: the relation itself, or for a
 * partition the ancestor whose trigger its own was cloned from.
 */
static Oid
protected_relation(TriggerData *trigdata)
{
	Oid			relid = RelationGetRelid(trigdata->tg_relation);
	Oid			trigger = trigdata->tg_trigger->tgoid;
	Relation	pg_trigger;

	if (!trigdata->tg_trigger->tgisclone)
		return relid;
	pg_trigger = table_open(TriggerRelationId, AccessShareLock);
	while (OidIsValid(trigger))
	{
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tuple;

		ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber,
					F_OIDEQ, ObjectIdGetDatum(trigger));
		scan = systable_beginscan(pg_trigger, TriggerOidIndexId, true, NULL, 1, &key);
		tuple = systable_getnext(scan);
		trigger = InvalidOid;
		if (HeapTupleIsValid(tuple))
		{
			relid = ((Form_pg_trigger) GETSTRUCT(tuple))->tgrelid;
			trigger = ((Form_pg_trigger) GETSTRUCT(tuple))->tgparentid;
		}
		systable_endscan(scan);
	}
	table_close(pg_trigger, AccessShareLock);
	return relid;
}

static char *
amount_text(Oid typid, Datum value, bool isnull)
{
	Oid			output;
	bool		varlena;

	if (isnull)
		return "NULL";
	getTypeOutputInfo(typid, &output, &varlena);
	return OidOutputFunctionCall(output, value);
}

static void
report_non_atomic_amount(TriggerData *trigdata, Form_pg_attribute attr,
						 const char *old_text, const char *new_text,
						 const char *version)
{
	/* a Citus shard is reported as its distributed table */
	Oid			relid = citus_table_of(protected_relation(trigdata));
	char	   *relation = relation_message_name(relid);
	const char *column = NameStr(attr->attname);
	const char *quoted = quote_identifier(column);
	Violation	violation;

	violation.kind = VIOLATION_NON_ATOMIC_AMOUNT;
	violation.relid = relid;
	violation.column = column;
	violation.command = amount_statement_command();
	violation.sqlstate = ERRCODE_NON_ATOMIC_AMOUNT;
	violation.message =
		psprintf("non-atomic update of amount column \"%s\" of table \"%s\"",
				 column, relation);
	if (version != NULL)
	{
		violation.detail =
			psprintf("The statement changes %s from %s to %s and leaves its version "
					 "column %s as it was: a writer that compares the version would "
					 "not notice the change.",
					 quoted, old_text, new_text, quote_identifier(version));
		violation.hint =
			psprintf("Change %s with every change of %s (SET %s = %s + 1).",
					 quote_identifier(version), quoted, quote_identifier(version),
					 quote_identifier(version));
	}
	else
	{
		violation.detail =
			psprintf("The statement changes %s from %s to %s with a value not computed "
					 "from the column itself, on a row this transaction neither locked "
					 "FOR UPDATE before the statement nor inserted%s: a concurrent update "
					 "of the row would be lost.",
					 quoted, old_text, new_text,
					 amount_version_column(trigdata->tg_relation) ?
					 ", nor compared with its version column in WHERE" : "");
		violation.hint =
			psprintf("Compute the new value in the UPDATE (SET %s = %s + <amount>), or "
					 "lock the row first with SELECT ... FOR UPDATE in the same transaction.",
					 quoted, quoted);
	}
	violation_report(&violation, (GuardMode) tenant_guard_amount_mode);
}

/* Does the update change the column's value (by its type's equality)? */
static bool
column_changes(TriggerData *trigdata, AttrNumber attnum, char **old_text, char **new_text)
{
	TupleDesc	tupdesc = RelationGetDescr(trigdata->tg_relation);
	Oid			typid = TupleDescAttr(tupdesc, attnum - 1)->atttypid;
	Datum		old;
	Datum		new;
	bool		oldnull;
	bool		newnull;

	old = heap_getattr(trigdata->tg_trigtuple, attnum, tupdesc, &oldnull);
	new = heap_getattr(trigdata->tg_newtuple, attnum, tupdesc, &newnull);
	if (amounts_equal(typid, old, oldnull, new, newnull))
		return false;
	if (old_text != NULL)
	{
		*old_text = amount_text(typid, old, oldnull);
		*new_text = amount_text(typid, new, newnull);
	}
	return true;
}

/*
 * Each protected column the update changes.  With a version column
 * declared, the update must change it too (a relative update that leaves
 * it alone would be lost to a writer's compare-and-set), and a statement
 * that compares it in WHERE is a compare-and-set, safe whatever value it
 * writes.
 */
static void
judge_row(TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	Trigger    *trigger = trigdata->tg_trigger;
	const char *version = trigger->tgnargs > 0 ? trigger->tgargs[0] : NULL;
	bool		version_known = false;
	bool		version_changes = false;
	bool		held_known = false;
	bool		held = false;

	for (int i = 0; i < trigger->tgnattr; i++)
	{
		AttrNumber	attnum = trigger->tgattr[i];
		Form_pg_attribute attr;
		char	   *old_text;
		char	   *new_text;

		if (attnum <= 0 || attnum > tupdesc->natts)
			continue;
		attr = TupleDescAttr(tupdesc, attnum - 1);
		if (attr->attisdropped)
			continue;
		/* without a version column, relative first: it needs neither row */
		if (version == NULL && amount_statement_is_relative(rel, NameStr(attr->attname)))
			continue;
		if (!column_changes(trigdata, attnum, &old_text, &new_text))
			continue;
		if (version != NULL && !version_known)
		{
			version_changes = column_changes(trigdata, version_attnum(rel, version), NULL, NULL);
			version_known = true;
		}
		if (version != NULL && !version_changes)
		{
			report_non_atomic_amount(trigdata, attr, old_text, new_text, version);
			continue;
		}
		if (version != NULL &&
			(amount_statement_is_relative(rel, NameStr(attr->attname)) ||
			 amount_statement_compares(rel, version)))
			continue;
		if (!held_known)
		{
			held = row_is_held_by_transaction(trigdata);
			held_known = true;
		}
		if (!held)
			report_non_atomic_amount(trigdata, attr, old_text, new_text, NULL);
	}
}

/*
 * Would the amount trigger accept every row this result relation gets
 * from the statement?  It would when each protected column is either not
 * assigned (then BEFORE UPDATE OF does not fire) or assigned relatively.
 */
static bool
trigger_accepts_every_row(QueryDesc *queryDesc, ResultRelInfo *rri,
						  Trigger *trigger)
{
	TupleDesc	tupdesc = RelationGetDescr(rri->ri_RelationDesc);
	Bitmapset  *updated = NULL;
	bool		updated_known = false;

	/* with a version column, a relative update must change it too */
	if (trigger->tgnargs > 0)
		return false;
	for (int i = 0; i < trigger->tgnattr; i++)
	{
		AttrNumber	attnum = trigger->tgattr[i];

		if (attnum <= 0 || attnum > tupdesc->natts ||
			amount_plan_is_relative(queryDesc->plannedstmt, rri->ri_RelationDesc,
									NameStr(TupleDescAttr(tupdesc, attnum - 1)->attname)))
			continue;
		/* not relative: fine only if the statement does not assign it */
		if (!updated_known)
		{
			updated = ExecGetAllUpdatedCols(rri, queryDesc->estate);
			updated_known = true;
		}
		if (bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, updated))
			return false;
	}
	return true;
}

/*
 * After ExecutorStart: take the amount trigger out of the statement's own
 * trigger list (ResultRelInfo.ri_TrigDesc, a per-statement copy) for each
 * result relation where it would accept every row.  A relative payment then
 * costs what it costs without protection: PostgreSQL locks a row before any
 * BEFORE ROW trigger runs (GetTupleForTrigger, a WAL record of its own),
 * and calls the trigger, only while one is in the list.  Nothing has fired
 * yet, so the per-trigger caches that parallel the list are still empty
 * and stay consistent when it shrinks.  EXPLAIN ANALYZE therefore shows no
 * amount trigger for such statements.
 */
void
amount_guard_skip_for_relative_statement(QueryDesc *queryDesc)
{
	Oid			guard;
	ListCell   *lc;

	if (plan_carrier_relative_amounts(queryDesc->plannedstmt) == NIL)
		return;
	guard = extension_amount_guard_oid();
	foreach(lc, queryDesc->estate->es_opened_result_relations)
	{
		ResultRelInfo *rri = lfirst(lc);
		TriggerDesc *trigdesc = rri->ri_TrigDesc;
		int			kept = 0;
		bool		before_row_update = false;

		if (trigdesc == NULL || !trigdesc->trig_update_before_row)
			continue;
		for (int i = 0; i < trigdesc->numtriggers; i++)
		{
			Trigger    *trigger = &trigdesc->triggers[i];

			if (trigger->tgfoid == guard && OidIsValid(guard) &&
				trigger_accepts_every_row(queryDesc, rri, trigger))
				continue;
			if (TRIGGER_FOR_ROW(trigger->tgtype) &&
				TRIGGER_FOR_BEFORE(trigger->tgtype) &&
				TRIGGER_FOR_UPDATE(trigger->tgtype))
				before_row_update = true;
			trigdesc->triggers[kept++] = *trigger;
		}
		trigdesc->numtriggers = kept;
		trigdesc->trig_update_before_row = before_row_update;
	}
}

/*
 * amount_guard() RETURNS trigger: BEFORE UPDATE OF <amount columns> FOR
 * EACH ROW.  Returns the new row unchanged, or raises in enforce mode.
 */
Datum
amount_guard(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	check_trigger_protocol(fcinfo);
	if (tenant_guard_amount_mode != GUARD_MODE_OFF)
		judge_row(trigdata);
	return PointerGetDatum(trigdata->tg_newtuple);
}
