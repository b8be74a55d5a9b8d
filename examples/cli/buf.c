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

void cli_json_f32(cli_buf *b, float v)
{
    char s[40];
    if (!isfinite(v)) {
        cli_printf(b, "null");
        return;
    }
    /* float32 results: the fewest digits that read back as the same float */
    for (int p = 1; p <= 9; p++) {
        snprintf(s, sizeof s, "%.*g", p, (double)v);
        if (strtof(s, NULL) == v) break;
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

void cli_table_init(cli_table *t, int ncol, const char *const *header)
{
    memset(t, 0, sizeof *t);
    t->ncol = ncol < CLI_TABLE_MAX_COLS ? ncol : CLI_TABLE_MAX_COLS;
    for (int c = 0; c < t->ncol; c++) cli_table_cell(t, "%s", header[c]);
}

void cli_table_cell(cli_table *t, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;
    if (t->oom) return;
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **p = (char **)realloc(t->cells, cap * sizeof *p);
        if (p == NULL) {
            t->oom = 1;
            return;
        }
        t->cells = p;
        t->cap = cap;
    }
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (s = (char *)malloc((size_t)n + 1)) == NULL) {
        t->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->cells[t->n++] = s;
}

void cli_table_emit(cli_table *t, cli_buf *b, const char *indent)
{
    int w[CLI_TABLE_MAX_COLS] = {0};
    if (t->oom || t->ncol == 0) b->oom |= t->oom;
    for (size_t i = 0; !t->oom && i < t->n; i++) {
        int l = (int)strlen(t->cells[i]), c = (int)(i % (size_t)t->ncol);
        w[c] = l > w[c] ? l : w[c];
    }
    for (size_t i = 0; !t->oom && i < t->n; i++) {
        int c = (int)(i % (size_t)t->ncol);
        cli_printf(b, "%s%*s%s", c == 0 ? indent : "  ", w[c], t->cells[i],
                   c == t->ncol - 1 || i + 1 == t->n ? "\n" : "");
    }
    for (size_t i = 0; i < t->n; i++) free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}
