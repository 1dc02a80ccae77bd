/*-------------------------------------------------------------------------
 *
 * signed_context.c
 *	  A tenant context that SQL cannot forge (doc/tenant-context.md,
 *	  "Signed contexts"): the application signs the value it sets with a
 *	  key only it and the server hold,
 *
 *		<tenants>;exp=<unix seconds>[;pid=<backend pid>];sig=<hex>
 *
 *	  where sig is the HMAC-SHA256, under tenant_guard.tenant_key (or,
 *	  while keys are rotated, tenant_guard.tenant_key_previous), of every
 *	  character before ";sig=".  A value is refused when its signature does
 *	  not hold, when exp has passed, or when pid is not this backend's.
 *
 * The keys are reloadable settings that only superusers and members of
 * pg_read_all_settings can read (GUC_SUPERUSER_ONLY keeps them out of
 * SHOW, current_setting and pg_settings for everyone else).  No message
 * names a key, not even a key too short to be accepted, nor the line the
 * postmaster logs when a reload changes one; the signature is compared in
 * constant time.  No SQL function signs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "signed_context.h"

#include <time.h>

#include "common/hmac.h"
#include "hex_digits.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/resowner.h"

#define KEY_MIN_LENGTH	32
#define SIGNATURE_BYTES 32		/* SHA-256 */
#define SIGNATURE_MARK	";sig="

static char *tenant_key = NULL;
static char *tenant_key_previous = NULL;

static emit_log_hook_type prev_emit_log_hook = NULL;

/*
 * On reload the postmaster logs every changed setting with its new value:
 * for the keys, the line keeps only the name.
 */
static void
redact_key_changes(ErrorData *edata)
{
	static const char *const keys[] = {
		"\"tenant_guard.tenant_key_previous\"", "\"tenant_guard.tenant_key\""
	};

	if (edata->message_id != NULL && edata->message != NULL &&
		strcmp(edata->message_id, "parameter \"%s\" changed to \"%s\"") == 0)
	{
		for (int i = 0; i < lengthof(keys); i++)
		{
			if (strstr(edata->message, keys[i]) != NULL)
			{
				edata->message = psprintf("parameter %s changed", keys[i]);
				break;
			}
		}
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

static bool
check_key(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && (*newval)[0] != '\0' && strlen(*newval) < KEY_MIN_LENGTH)
	{
		/* the message must not name the value: it is the key */
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errmsg("a tenant_guard tenant key must be at least %d characters long",
						 KEY_MIN_LENGTH);
		return false;
	}
	return true;
}

void
signed_context_define(void)
{
	DefineCustomStringVariable("tenant_guard.tenant_key",
							   "The key that signed values of tenant_guard.tenant are verified with.",
							   "At least 32 characters; empty means signed values cannot be set.",
							   &tenant_key,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   check_key, NULL, NULL);
	DefineCustomStringVariable("tenant_guard.tenant_key_previous",
							   "A second key signed values of tenant_guard.tenant may be signed with, while keys are rotated.",
							   NULL,
							   &tenant_key_previous,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY | GUC_NOT_IN_SAMPLE,
							   check_key, NULL, NULL);
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = redact_key_changes;
}

static inline bool
key_is_set(const char *key)
{
	return key != NULL && key[0] != '\0';
}

/*
 * HMAC-SHA256 of message under key.  PostgreSQL's implementation registers
 * its OpenSSL state with the current resource owner: one is lent when the
 * caller runs without.
 */
static bool
hmac_sha256(const char *key, const char *message, size_t len,
			uint8 signature[SIGNATURE_BYTES])
{
	ResourceOwner saved = CurrentResourceOwner;
	ResourceOwner lent = NULL;
	pg_hmac_ctx *ctx;
	bool		ok;

	if (CurrentResourceOwner == NULL)
		CurrentResourceOwner = lent = ResourceOwnerCreate(NULL, "tenant_guard signature");
	ctx = pg_hmac_create(PG_SHA256);
	ok = ctx != NULL &&
		pg_hmac_init(ctx, (const uint8 *) key, strlen(key)) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) message, len) == 0 &&
		pg_hmac_final(ctx, signature, SIGNATURE_BYTES) == 0;
	pg_hmac_free(ctx);
	if (lent != NULL)
	{
		ResourceOwnerRelease(lent, RESOURCE_RELEASE_BEFORE_LOCKS, false, true);
		ResourceOwnerRelease(lent, RESOURCE_RELEASE_LOCKS, false, true);
		ResourceOwnerRelease(lent, RESOURCE_RELEASE_AFTER_LOCKS, false, true);
		CurrentResourceOwner = saved;
		ResourceOwnerDelete(lent);
	}
	return ok;
}

/* Does the signature under key equal given?  Every byte is compared. */
static bool
signature_holds(const char *key, const char *message, size_t len,
				const uint8 given[SIGNATURE_BYTES])
{
	uint8		expected[SIGNATURE_BYTES];
	uint8		diff = 0;

	if (!key_is_set(key) || !hmac_sha256(key, message, len, expected))
		return false;
	for (int i = 0; i < SIGNATURE_BYTES; i++)
		diff |= expected[i] ^ given[i];
	return diff == 0;
}

/* 64 hex digits, and nothing after them, into bytes. */
static bool
read_signature(const char *hex, uint8 signature[SIGNATURE_BYTES])
{
	if (strlen(hex) != 2 * SIGNATURE_BYTES)
		return false;
	for (int i = 0; i < SIGNATURE_BYTES; i++)
	{
		int			high = hex_digit_value(hex[2 * i]);
		int			low = hex_digit_value(hex[2 * i + 1]);

		if (high < 0 || low < 0)
			return false;
		signature[i] = (uint8) (high << 4 | low);
	}
	return true;
}

/* A decimal number of 1 to 18 digits, no sign, no spaces. */
static bool
read_number(const char *digits, size_t len, int64 *result)
{
	int64		value = 0;

	if (len == 0 || len > 18)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (digits[i] < '0' || digits[i] > '9')
			return false;
		value = value * 10 + (digits[i] - '0');
	}
	*result = value;
	return true;
}

/*
 * The last ";name=<number>" field of message[0..*len): if it is there,
 * read it and cut it off *len.
 */
static bool
take_field(const char *message, size_t *len, const char *name, int64 *value)
{
	size_t		namelen = strlen(name);

	for (size_t i = *len; i > 0; i--)
	{
		if (message[i - 1] != ';')
			continue;
		if (*len - i < namelen || strncmp(message + i, name, namelen) != 0 ||
			!read_number(message + i + namelen, *len - i - namelen, value))
			return false;
		*len = i - 1;
		return true;
	}
	return false;
}

typedef struct SignedValue
{
	size_t		message_len;	/* what was signed: value[0..message_len) */
	size_t		tenants_len;	/* the tenants: value[0..tenants_len) */
	int64		exp;
	int64		pid;			/* -1: not bound to a backend */
	uint8		signature[SIGNATURE_BYTES];
} SignedValue;

static bool
read_signed_value(const char *value, const char *mark, SignedValue *parsed)
{
	size_t		len = mark - value;

	parsed->message_len = len;
	if (!read_signature(mark + strlen(SIGNATURE_MARK), parsed->signature))
		return false;
	if (!take_field(value, &len, "pid=", &parsed->pid))
		parsed->pid = -1;
	if (!take_field(value, &len, "exp=", &parsed->exp))
		return false;
	parsed->tenants_len = len;
	return len > 0;
}

static SignedContextCheck
refuse(const char *message, const char *detail)
{
	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("%s", message);
	if (detail != NULL)
		GUC_check_errdetail("%s", detail);
	return SIGNED_CONTEXT_REFUSED;
}

SignedContextCheck
signed_context_check(const char *value, bool verify, char **tenants)
{
	const char *mark = NULL;
	const char *found = value;
	SignedValue parsed;
	int64		now;

	while ((found = strstr(found, SIGNATURE_MARK)) != NULL)
		mark = found++;
	if (mark == NULL)
		return SIGNED_CONTEXT_NONE;
	if (!read_signed_value(value, mark, &parsed))
		return refuse("malformed signed tenant context",
					  "A signed tenant context has the form <tenants>;exp=<unix seconds>[;pid=<backend pid>];sig=<64 hex digits>.");
	*tenants = pnstrdup(value, parsed.tenants_len);
	if (!verify)
		return SIGNED_CONTEXT_VALID;
	if (!key_is_set(tenant_key) && !key_is_set(tenant_key_previous))
		return refuse("signed tenant context cannot be verified",
					  "tenant_guard.tenant_key is not set on this server.");
	if (!signature_holds(tenant_key, value, parsed.message_len, parsed.signature) &&
		!signature_holds(tenant_key_previous, value, parsed.message_len, parsed.signature))
		return refuse("signed tenant context has an invalid signature", NULL);
	now = (int64) time(NULL);
	if (parsed.exp <= now)
	{
		GUC_check_errdetail("It expired at " INT64_FORMAT "; the server's time is " INT64_FORMAT ".",
							parsed.exp, now);
		return refuse("signed tenant context has expired", NULL);
	}
	if (parsed.pid >= 0 && parsed.pid != MyProcPid)
	{
		GUC_check_errdetail("It is bound to backend " INT64_FORMAT "; this session's backend is %d.",
							parsed.pid, MyProcPid);
		return refuse("signed tenant context is bound to another session", NULL);
	}
	return SIGNED_CONTEXT_VALID;
}
