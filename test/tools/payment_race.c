/*-------------------------------------------------------------------------
 *
 * payment_race.c
 *	  Concurrent payments against one invoice, to show which ways of
 *	  updating a money column lose updates.
 *
 *	  payment_race CONNINFO PATTERN CLIENTS SECONDS [protected|unprotected]
 *
 * CLIENTS threads, each with its own connection, pay into invoice 1 of firm
 * 1 of the table race_invoices (created afresh, its amount_paid protected
 * with tenant_guard.protect_amount() unless "unprotected" is given) for
 * SECONDS seconds, in one PATTERN:
 *	rmw			read amount_paid, then SET amount_paid = <read value + 1>:
 *				the audited "invoice.amount_paid += x; invoice.save()"
 *	relative	SET amount_paid = amount_paid + 1
 *	lock		BEGIN; SELECT ... FOR UPDATE; SET amount_paid = <read + 1>; COMMIT
 *	webhook		every payment event is delivered 3 times at once; the handler
 *				records the event id and pays only for a new one (relative)
 *	refund		relative payments of +2 and refunds of -1, alternating
 *
 * It reports attempts, applied, rejected (SQLSTATE class 23, how an
 * integrity rule such as tenant_guard's amount protection refuses a write)
 * and other errors, and the expected against the actual total.  It exits 1
 * when they differ, that is when an applied update was lost; and, with the
 * column protected, when a safe pattern had a payment refused or rmw had
 * none refused.  It exits 2 on a usage or setup error.
 *
 *-------------------------------------------------------------------------
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libpq-fe.h"

#define WEBHOOK_DELIVERIES	3
#define MAX_CLIENTS			256

typedef enum Pattern
{
	PATTERN_RMW,
	PATTERN_RELATIVE,
	PATTERN_LOCK,
	PATTERN_WEBHOOK,
	PATTERN_REFUND
} Pattern;

static const char *const pattern_names[] = {"rmw", "relative", "lock", "webhook", "refund"};

static const char *conninfo;
static Pattern pattern;
static int	protect = 1;
static time_t deadline;
static atomic_long next_delivery;

typedef struct ClientResult
{
	long		attempts;
	long		applied;
	long		applied_amount; /* what this client's applied payments added */
	long		rejected;
	long		failed;
} ClientResult;

#define READ_PAID	"SELECT amount_paid FROM race_invoices WHERE firm_id = 1 AND id = 1"
#define SET_PAID	"UPDATE race_invoices SET amount_paid = $1 WHERE firm_id = 1 AND id = 1"
#define ADD_PAID	"UPDATE race_invoices SET amount_paid = amount_paid + $1 WHERE firm_id = 1 AND id = 1"
#define NEW_EVENT	"INSERT INTO race_events VALUES ($1) ON CONFLICT DO NOTHING"

static PGconn *
connect_or_exit(void)
{
	PGconn	   *conn = PQconnectdb(conninfo);

	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "payment_race: %s", PQerrorMessage(conn));
		exit(2);
	}
	return conn;
}

static void
exec_or_exit(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "payment_race: %s: %s", sql, PQerrorMessage(conn));
		exit(2);
	}
	PQclear(res);
}

/*
 * One statement of a payment.  On failure, copy its SQLSTATE into
 * sqlstate and return NULL.
 */
static PGresult *
step(PGconn *conn, const char *sql, const char *param, char *sqlstate)
{
	PGresult   *res = PQexecParams(conn, sql, param ? 1 : 0, NULL,
								   param ? &param : NULL, NULL, NULL, 0);
	const char *code;

	if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	snprintf(sqlstate, 6, "%s", code ? code : "?????");
	PQclear(res);
	return NULL;
}

/* Run a statement whose result is not needed; false on failure. */
static int
step_ok(PGconn *conn, const char *sql, const char *param, char *sqlstate)
{
	PGresult   *res = step(conn, sql, param, sqlstate);

	PQclear(res);
	return res != NULL;
}

/* Read amount_paid (FOR UPDATE or not) and write it back, plus amount. */
static int
pay_from_read(PGconn *conn, int lock, long amount, char *sqlstate)
{
	PGresult   *res;
	char		value[32];

	if (!step_ok(conn, "BEGIN", NULL, sqlstate))
		return 0;
	res = step(conn, lock ? READ_PAID " FOR UPDATE" : READ_PAID, NULL, sqlstate);
	if (res == NULL)
		return 0;
	snprintf(value, sizeof(value), "%.2f", atof(PQgetvalue(res, 0, 0)) + amount);
	PQclear(res);
	return step_ok(conn, SET_PAID, value, sqlstate) &&
		step_ok(conn, "COMMIT", NULL, sqlstate);
}

/* Pay for a webhook event unless an earlier delivery of it already did. */
static int
pay_for_event(PGconn *conn, long *amount, char *sqlstate)
{
	PGresult   *res;
	char		event[32];

	snprintf(event, sizeof(event), "%ld",
			 atomic_fetch_add(&next_delivery, 1) / WEBHOOK_DELIVERIES);
	if (!step_ok(conn, "BEGIN", NULL, sqlstate))
		return 0;
	res = step(conn, NEW_EVENT, event, sqlstate);
	if (res == NULL)
		return 0;
	if (strcmp(PQcmdTuples(res), "1") != 0)
		*amount = 0;			/* a repeated delivery: nothing to pay */
	PQclear(res);
	if (*amount != 0 && !step_ok(conn, ADD_PAID, "1", sqlstate))
		return 0;
	return step_ok(conn, "COMMIT", NULL, sqlstate);
}

/*
 * One payment in the chosen pattern.  Returns whether it was applied, and
 * sets *amount to what it added.
 */
static int
pay_once(PGconn *conn, long attempt, long *amount, char *sqlstate)
{
	char		value[32];

	*amount = 1;
	switch (pattern)
	{
		case PATTERN_RMW:
			return pay_from_read(conn, 0, *amount, sqlstate);
		case PATTERN_LOCK:
			return pay_from_read(conn, 1, *amount, sqlstate);
		case PATTERN_WEBHOOK:
			return pay_for_event(conn, amount, sqlstate);
		case PATTERN_REFUND:
			*amount = (attempt % 2 == 0) ? 2 : -1;
			/* fall through */
		case PATTERN_RELATIVE:
			snprintf(value, sizeof(value), "%ld", *amount);
			return step_ok(conn, ADD_PAID, value, sqlstate);
	}
	return 0;
}

static void *
client_main(void *arg)
{
	ClientResult *result = arg;
	PGconn	   *conn = connect_or_exit();

	while (time(NULL) < deadline)
	{
		char		sqlstate[6] = "";
		long		amount;

		if (pay_once(conn, result->attempts++, &amount, sqlstate))
		{
			result->applied++;
			result->applied_amount += amount;
			continue;
		}
		if (strncmp(sqlstate, "23", 2) == 0)
			result->rejected++;
		else
			result->failed++;
		/* leave any failed transaction block */
		exec_or_exit(conn, "ROLLBACK");
	}
	PQfinish(conn);
	return NULL;
}

static void
set_up(void)
{
	PGconn	   *conn = connect_or_exit();

	exec_or_exit(conn, "SET client_min_messages = warning");
	exec_or_exit(conn, "DROP TABLE IF EXISTS race_invoices, race_events");
	exec_or_exit(conn, "CREATE TABLE race_invoices (id int, firm_id int, amount_paid numeric(14, 2) NOT NULL,"
				 " PRIMARY KEY (firm_id, id))");
	exec_or_exit(conn, "CREATE TABLE race_events (event_id bigint PRIMARY KEY)");
	exec_or_exit(conn, "INSERT INTO race_invoices VALUES (1, 1, 0)");
	if (protect)
		exec_or_exit(conn, "SELECT tenant_guard.protect_amount('race_invoices', 'amount_paid')");
	PQfinish(conn);
}

static long
final_total(void)
{
	PGconn	   *conn = connect_or_exit();
	PGresult   *res = PQexec(conn, READ_PAID);
	long		total;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		fprintf(stderr, "payment_race: cannot read the total: %s", PQerrorMessage(conn));
		exit(2);
	}
	total = atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(conn);
	return total;
}

int
main(int argc, char **argv)
{
	pthread_t	threads[MAX_CLIENTS];
	ClientResult results[MAX_CLIENTS];
	ClientResult sum = {0};
	int			clients;
	int			seconds;
	long		actual;
	const char *verdict = "no lost update";

	if (argc < 5 || argc > 6 || (clients = atoi(argv[3])) < 1 || clients > MAX_CLIENTS ||
		(seconds = atoi(argv[4])) < 1 ||
		(argc == 6 && strcmp(argv[5], "protected") != 0 && strcmp(argv[5], "unprotected") != 0))
	{
		fprintf(stderr, "usage: payment_race CONNINFO rmw|relative|lock|webhook|refund CLIENTS(1-%d) SECONDS [protected|unprotected]\n",
				MAX_CLIENTS);
		return 2;
	}
	protect = (argc == 5 || strcmp(argv[5], "protected") == 0);
	conninfo = argv[1];
	for (pattern = 0; pattern <= PATTERN_REFUND; pattern++)
		if (strcmp(argv[2], pattern_names[pattern]) == 0)
			break;
	if (pattern > PATTERN_REFUND)
	{
		fprintf(stderr, "payment_race: unknown pattern \"%s\"\n", argv[2]);
		return 2;
	}

	set_up();
	memset(results, 0, sizeof(results));
	deadline = time(NULL) + seconds;
	for (int i = 0; i < clients; i++)
		pthread_create(&threads[i], NULL, client_main, &results[i]);
	for (int i = 0; i < clients; i++)
	{
		pthread_join(threads[i], NULL);
		sum.attempts += results[i].attempts;
		sum.applied += results[i].applied;
		sum.applied_amount += results[i].applied_amount;
		sum.rejected += results[i].rejected;
		sum.failed += results[i].failed;
	}
	actual = final_total();

	if (actual != sum.applied_amount)
		verdict = "LOST UPDATES";
	else if (protect && pattern != PATTERN_RMW && sum.rejected > 0)
		verdict = "SAFE PAYMENTS REFUSED";
	else if (protect && pattern == PATTERN_RMW && sum.rejected == 0)
		verdict = "UNSAFE PAYMENTS NOT REFUSED";
	printf("pattern %-8s %-11s clients %3d seconds %3d: attempts %7ld applied %7ld rejected %7ld errors %5ld"
		   "  expected total %7ld actual %7ld  %s\n",
		   pattern_names[pattern], protect ? "protected" : "unprotected",
		   clients, seconds, sum.attempts, sum.applied,
		   sum.rejected, sum.failed, sum.applied_amount, actual, verdict);
	return strcmp(verdict, "no lost update") == 0 ? 0 : 1;
}
