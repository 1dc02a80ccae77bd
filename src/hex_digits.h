/*-------------------------------------------------------------------------
 *
 * hex_digits.h
 *	  One hexadecimal digit's value, for the parsers that read hex without
 *	  raising errors: sqlcommenter's %XX escapes (call_site.c) and the
 *	  signature of a signed context (signed_context.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef TENANT_GUARD_HEX_DIGITS_H
#define TENANT_GUARD_HEX_DIGITS_H

/* 0 to 15, or -1 when c is not a hexadecimal digit. */
static inline int
hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif							/* TENANT_GUARD_HEX_DIGITS_H */
