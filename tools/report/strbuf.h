/*
 * strbuf.h: a growable string buffer and allocation helpers that end the
 * program on out-of-memory, so that no caller needs a fixed-size buffer.
 */
#ifndef TG_REPORT_STRBUF_H
#define TG_REPORT_STRBUF_H

#include <stddef.h>

typedef struct StrBuf
{
	char	   *data;			/* always NUL-terminated */
	size_t		len;
	size_t		cap;
} StrBuf;

void		sb_init(StrBuf *sb);
void		sb_free(StrBuf *sb);
void		sb_reset(StrBuf *sb);
void		sb_append(StrBuf *sb, const char *s);
void		sb_append_len(StrBuf *sb, const char *s, size_t n);
void		sb_append_char(StrBuf *sb, char c);
void		sb_printf(StrBuf *sb, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
char	   *sb_steal(StrBuf *sb);

void	   *xmalloc(size_t size);
void	   *xrealloc(void *ptr, size_t size);
char	   *xstrdup(const char *s);
char	   *xstrdup_or_null(const char *s);
void	   *grow_array(void *items, size_t *cap, size_t needed, size_t item_size);

#endif
