/* The output buffer of the irllrec tool and its error line (cli.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

void cli_buf_free(cli_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int reserve(cli_buf *b, size_t extra)
{
    size_t want, cap;
    char *p;
    if (b->oom) return -1;
    if (extra >= SIZE_MAX - b->len - 1) {
        b->oom = 1;
        return -1;
    }
    want = b->len + extra + 1;
    if (want <= b->cap) return 0;
    cap = b->cap ? b->cap : 4096;
    while (cap < want) cap = cap > SIZE_MAX / 2 ? want : 2 * cap;
    p = (char *)realloc(b->data, cap);
    if (p == NULL) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void cli_printf(cli_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (reserve(b, (size_t)n) != 0) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void escaped(cli_buf *b, const char *s, int json)
{
    cli_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            cli_printf(b, "\\%c", c);
        else if (c == '\n')
            cli_printf(b, "\\n");
        else if (c == '\t')
            cli_printf(b, "\\t");
        else if (c < 0x20 || c == 0x7f)
            cli_printf(b, json ? "\\u%04x" : "\\x%02x", c);
        else
            cli_printf(b, "%c", c);
    }
    cli_printf(b, "\"");
}

void cli_json_str(cli_buf *b, const char *s) { escaped(b, s, 1); }

void cli_text_str(cli_buf *b, const char *s) { escaped(b, s, 0); }

void cli_num(cli_buf *b, double v)
{
    char s[40];
    /* The fewest digits that read back as the same double: 0.2, not
     * 0.20000000000000001. */
    for (int p = 1; p <= 17; p++) {
        snprintf(s, sizeof s, "%.*g", p, v);
        if (strtod(s, NULL) == v) break;
    }
    cli_printf(b, "%s", s);
}

void cli_json_num(cli_buf *b, double v)
{
    /* JSON has no NaN or Infinity; a parser would reject the whole line. */
    if (!isfinite(v))
        cli_printf(b, "null");
    else
        cli_num(b, v);
}

int cli_buf_emit(cli_buf *b, const char *cmd)
{
    if (b->oom) return cli_fail(CLI_FAIL, cmd, "out of memory while building the output");
    if (b->len > 0 && fwrite(b->data, 1, b->len, stdout) != b->len)
        return cli_fail(CLI_FAIL, cmd, "cannot write the output: %s", strerror(errno));
    if (fflush(stdout) != 0)
        return cli_fail(CLI_FAIL, cmd, "cannot write the output: %s", strerror(errno));
    return CLI_OK;
}

int cli_fail(int code, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "irllrec %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}
