/*
 * strbuf.c: growable strings and allocation that never returns NULL.
 */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

void *
xmalloc(size_t size)
{
	void	   *p = malloc(size ? size : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		die("out of memory");
	return p;
}

char *
xstrdup(const char *s)
{
	size_t		n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

char *
xstrdup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Make room for "needed" items of an array, doubling its capacity. */
void *
grow_array(void *items, size_t *cap, size_t needed, size_t item_size)
{
	size_t		newcap = *cap ? *cap : 8;

	if (needed <= *cap)
		return items;
	while (newcap < needed)
		newcap *= 2;
	*cap = newcap;
	return xrealloc(items, newcap * item_size);
}

void
sb_init(StrBuf *sb)
{
	sb->cap = 256;
	sb->len = 0;
	sb->data = xmalloc(sb->cap);
	sb->data[0] = '\0';
}

void
sb_free(StrBuf *sb)
{
	free(sb->data);
	sb->data = NULL;
	sb->len = sb->cap = 0;
}

void
sb_reset(StrBuf *sb)
{
	sb->len = 0;
	sb->data[0] = '\0';
}

static void
sb_reserve(StrBuf *sb, size_t extra)
{
	size_t		needed = sb->len + extra + 1;

	if (needed <= sb->cap)
		return;
	while (sb->cap < needed)
		sb->cap *= 2;
	sb->data = xrealloc(sb->data, sb->cap);
}

void
sb_append_len(StrBuf *sb, const char *s, size_t n)
{
	sb_reserve(sb, n);
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

void
sb_append(StrBuf *sb, const char *s)
{
	sb_append_len(sb, s, strlen(s));
}

void
sb_append_char(StrBuf *sb, char c)
{
	sb_append_len(sb, &c, 1);
}

void
sb_printf(StrBuf *sb, const char *fmt,...)
{
	va_list		args;
	int			n;

	va_start(args, fmt);
	n = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	if (n < 0)
		die("cannot format output");
	sb_reserve(sb, (size_t) n);
	va_start(args, fmt);
	vsnprintf(sb->data + sb->len, (size_t) n + 1, fmt, args);
	va_end(args);
	sb->len += (size_t) n;
}

/* Hand the string to the caller, who frees it; the buffer is left empty. */
char *
sb_steal(StrBuf *sb)
{
	char	   *s = sb->data;

	sb->data = NULL;
	sb->len = sb->cap = 0;
	return s;
}
