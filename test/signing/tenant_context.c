/*
 * The C signing function of doc/tenant-context.md, section "Signing the
 * context" (C): the lines between the snippet markers are the doc's code,
 * word for word, and test/signing/run.sh checks that they still are.
 * set_tenant_context() is compiled, not run (it needs a server).
 *
 *     tenant_context KEY TENANTS EXP [PID]   prints the signed value
 *
 * cc -Wall -Wextra -Werror tenant_context.c -I/usr/include/postgresql -lpq -lcrypto
 */
#include <stdlib.h>

/* --- snippet begin --- */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <libpq-fe.h>

/*
 * The signed value of tenant_guard.tenant in out: tenants ("5" or "5,7")
 * until exp (unix seconds), bound to backend pid unless 0.  Returns 0, or -1
 * when out (at least strlen(tenants) + 128 bytes) is too small.
 */
static int
tenant_context(char *out, size_t outlen, const char *tenants, long long exp,
			   const char *key, int pid)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	int			n;

	if (pid != 0)
		n = snprintf(out, outlen, "%s;exp=%lld;pid=%d", tenants, exp, pid);
	else
		n = snprintf(out, outlen, "%s;exp=%lld", tenants, exp);
	if (n < 0 || (size_t) n + strlen(";sig=") + 64 + 1 > outlen)
		return -1;
	if (HMAC(EVP_sha256(), key, (int) strlen(key), (unsigned char *) out,
			 (size_t) n, mac, &maclen) == NULL)
		return -1;
	n += sprintf(out + n, ";sig=");
	for (unsigned int i = 0; i < maclen; i++)
		n += sprintf(out + n, "%02x", mac[i]);
	return 0;
}

/* Set the context for the current transaction, as a bind parameter. */
static int
set_tenant_context(PGconn *conn, const char *tenants, const char *key)
{
	char		value[256];
	const char *params[1] = {value};
	PGresult   *res;
	int			ok;

	if (tenant_context(value, sizeof(value), tenants, (long long) time(NULL) + 300,
					   key, 0) != 0)
		return -1;
	res = PQexecParams(conn, "SELECT set_config('tenant_guard.tenant', $1, true)",
					   1, NULL, params, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "%s", PQerrorMessage(conn));
	PQclear(res);
	return ok ? 0 : -1;
}
/* --- snippet end --- */

int
main(int argc, char **argv)
{
	char		value[1024];

	if (argc < 4)
	{
		fprintf(stderr, "usage: tenant_context KEY TENANTS EXP [PID]\n");
		return 2;
	}
	if (tenant_context(value, sizeof(value), argv[2], atoll(argv[3]), argv[1],
					   argc > 4 ? atoi(argv[4]) : 0) != 0)
	{
		fprintf(stderr, "value too long\n");
		return 1;
	}
	puts(value);
	/* compiled and linked, not called: it needs a server */
	if (argc > 5)
		return set_tenant_context(NULL, argv[2], argv[1]) == 0 ? 0 : 1;
	return 0;
}
