/* The irllrec tool's command line (cli.h): one strict parser for every
 * subcommand, and the --allow / --deny id files. Every refusal names the
 * flag as the user typed it and the value it did not accept. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli.h"

typedef struct flag_def {
    const char *name, *alt; /* long name, short alias or NULL */
    uint32_t bit;
    char kind; /* 'f' switch, 'i' integer, 'l' id list, 's' string */
    int32_t lo, hi;
} flag_def;

static const flag_def FLAGS[] = {
    {"--user", NULL, CLI_F_USER, 'l', 0, INT32_MAX},
    {"--item", NULL, CLI_F_ITEM, 'l', 0, INT32_MAX},
    {"--k", "-k", CLI_F_K, 'i', 1, IRLLREC_RANK_MAX_K},
    {"--top", NULL, CLI_F_TOP, 'i', 1, 65536},
    {"--include-seen", NULL, CLI_F_INCLUDE_SEEN, 'f', 0, 0},
    {"--allow", NULL, CLI_F_ALLOW, 's', 0, 0},
    {"--deny", NULL, CLI_F_DENY, 's', 0, 0},
    {"--json", NULL, CLI_F_JSON, 'f', 0, 0},
    {"--threads", NULL, CLI_F_THREADS, 'i', 1, 256},
};
#define N_FLAGS (sizeof FLAGS / sizeof FLAGS[0])

/* The largest --allow / --deny file read: far more ids than any model has
 * items, small enough that a wrong path (a disk image) is refused at once. */
#define ID_FILE_MAX ((off_t)256 << 20)

void cli_args_free(cli_args *a)
{
    free(a->users.v);
    free(a->items.v);
    a->users.v = a->items.v = NULL;
}

static int ids_push(cli_ids *ids, int32_t v)
{
    if (ids->n == ids->cap) {
        int64_t cap = ids->cap ? 2 * ids->cap : 16;
        int32_t *p = (int32_t *)realloc(ids->v, (size_t)cap * sizeof *p);
        if (p == NULL) return -1;
        ids->v = p;
        ids->cap = cap;
    }
    ids->v[ids->n++] = v;
    return 0;
}

/* A decimal integer, digits only after an optional '-': 0 ok, -1 not an
 * integer, -2 outside [lo, hi]. */
static int parse_int(const char *s, size_t len, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    int64_t v = 0;
    if (len > 0 && s[0] == '-') neg = 1, i = 1;
    if (i == len) return -1;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        if (v > (INT64_MAX - 9) / 10) v = INT64_MAX / 2; /* saturate: out of range anyway */
        else v = 10 * v + (s[i] - '0');
    }
    if (neg) v = -v;
    if (v < lo || v > hi) return -2;
    *out = v;
    return 0;
}

static int parse_list(const char *cmd, const char *flag, const char *s, cli_ids *ids)
{
    const char *p = s;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int64_t v = 0;
        int r = parse_int(p, len, 0, INT32_MAX, &v);
        if (len == 0)
            return cli_fail(CLI_USAGE, cmd, "%s '%s': empty id in the list (want ID[,ID...])",
                            flag, s);
        if (r != 0)
            return cli_fail(CLI_USAGE, cmd, "%s '%s': '%.*s' is not an id (want integers "
                            "0..2147483647, comma-separated)", flag, s, (int)len, p);
        if (ids_push(ids, (int32_t)v) != 0)
            return cli_fail(CLI_FAIL, cmd, "%s: out of memory", flag);
        if (e == NULL) return CLI_OK;
        p = e + 1;
    }
}

static const flag_def *find_flag(const char *arg, size_t len)
{
    for (size_t q = 0; q < N_FLAGS; q++) {
        if ((strlen(FLAGS[q].name) == len && strncmp(arg, FLAGS[q].name, len) == 0) ||
            (FLAGS[q].alt && strlen(FLAGS[q].alt) == len && strncmp(arg, FLAGS[q].alt, len) == 0))
            return &FLAGS[q];
    }
    return NULL;
}

static int set_value(const char *cmd, const flag_def *f, const char *flag, const char *v,
                     cli_args *out)
{
    int64_t x = 0;
    int r;
    switch (f->kind) {
    case 'l':
        return parse_list(cmd, flag, v, f->bit == CLI_F_USER ? &out->users : &out->items);
    case 's':
        if (v[0] == '\0') return cli_fail(CLI_USAGE, cmd, "%s: empty file name", flag);
        if (f->bit == CLI_F_ALLOW) out->allow = v;
        else out->deny = v;
        return CLI_OK;
    default:
        r = parse_int(v, strlen(v), f->lo, f->hi, &x);
        if (r == -1)
            return cli_fail(CLI_USAGE, cmd, "%s: '%s' is not an integer", flag, v);
        if (r == -2)
            return cli_fail(CLI_USAGE, cmd, "%s: %s is out of range (want %d..%d)", flag, v,
                            (int)f->lo, (int)f->hi);
        if (f->bit == CLI_F_K) out->k = (int32_t)x;
        else if (f->bit == CLI_F_TOP) out->top = (int32_t)x;
        else out->threads = (int32_t)x;
        return CLI_OK;
    }
}

/* One option at argv[*a] (a "--name=value" form included); advances *a past its value. */
static int parse_option(int argc, char **argv, int *a, const char *cmd, uint32_t accepted,
                        cli_args *out)
{
    const char *arg = argv[*a], *eq = strchr(arg, '='), *val;
    size_t len = eq && arg[1] == '-' ? (size_t)(eq - arg) : strlen(arg);
    const flag_def *f = find_flag(arg, len);
    char flag[64];
    snprintf(flag, sizeof flag, "%.*s", (int)(len < 60 ? len : 60), arg);
    if (f == NULL)
        return cli_fail(CLI_USAGE, cmd, "unknown option '%s' (see irllrec %s --help)", flag,
                        cmd);
    if (!(accepted & f->bit))
        return cli_fail(CLI_USAGE, cmd, "option '%s' does not apply to %s (see irllrec %s "
                        "--help)", flag, cmd, cmd);
    if ((out->given & f->bit) && f->kind != 'l')
        return cli_fail(CLI_USAGE, cmd, "%s given twice", flag);
    out->given |= f->bit;
    if (f->kind == 'f') {
        if (len != strlen(arg))
            return cli_fail(CLI_USAGE, cmd, "%s takes no value", flag);
        return CLI_OK;
    }
    if (len != strlen(arg)) {
        val = eq + 1;
    } else {
        if (*a + 1 >= argc) return cli_fail(CLI_USAGE, cmd, "%s needs a value", flag);
        val = argv[++*a];
    }
    return set_value(cmd, f, flag, val, out);
}

int cli_parse(int argc, char **argv, int first, const char *cmd, uint32_t accepted,
              int32_t k_default, int32_t top_default, cli_args *out)
{
    memset(out, 0, sizeof *out);
    out->k = k_default;
    out->top = top_default;
    out->threads = 1;
    for (int a = first; a < argc; a++) {
        const char *arg = argv[a];
        int r;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            out->help = 1;
            return CLI_OK;
        }
        if (arg[0] == '-' && arg[1] != '\0') {
            if ((r = parse_option(argc, argv, &a, cmd, accepted, out)) != CLI_OK) return r;
            continue;
        }
        if (out->model != NULL)
            return cli_fail(CLI_USAGE, cmd, "unexpected argument '%s' (one MODEL file only; "
                            "see irllrec %s --help)", arg, cmd);
        out->model = arg;
    }
    if (out->model == NULL)
        return cli_fail(CLI_USAGE, cmd, "no MODEL file given (see irllrec %s --help)", cmd);
    return CLI_OK;
}

int cli_check_ids(const char *cmd, const char *flag, const cli_ids *ids, int64_t bound,
                  const char *what)
{
    for (int64_t i = 0; i < ids->n; i++)
        if (ids->v[i] >= bound)
            return cli_fail(CLI_FAIL, cmd, "%s %d: no such %s (the model has %lld %ss, ids "
                            "0..%lld)", flag, (int)ids->v[i], what, (long long)bound, what,
                            (long long)bound - 1);
    return CLI_OK;
}

/* The whole file, NUL-terminated, refusing what is not a regular file
 * before reading (a FIFO would block) and anything over ID_FILE_MAX. */
static char *slurp(const char *cmd, const char *flag, const char *path)
{
    struct stat st;
    char *text = NULL;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        cli_fail(CLI_FAIL, cmd, "%s %s: %s", flag, path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > ID_FILE_MAX) {
        cli_fail(CLI_FAIL, cmd, "%s %s: %s", flag, path,
                 !S_ISREG(st.st_mode) ? "not a regular file" : "larger than 256 MiB");
        close(fd);
        return NULL;
    }
    text = (char *)malloc((size_t)st.st_size + 1);
    while (text != NULL && got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (text == NULL || got != (size_t)st.st_size) {
        cli_fail(CLI_FAIL, cmd, "%s %s: %s", flag, path, text ? "short read" : "out of memory");
        free(text);
        return NULL;
    }
    text[got] = '\0';
    return text;
}

int cli_read_id_file(const char *cmd, const char *flag, const char *path, int64_t n_items,
                     cli_ids *out)
{
    char *text = slurp(cmd, flag, path), *p;
    int64_t line = 1;
    int rc = CLI_OK;
    if (text == NULL) return CLI_FAIL;
    for (p = text; *p && rc == CLI_OK;) {
        size_t len;
        int64_t v = 0;
        if (*p == '#') {
            while (*p && *p != '\n') p++;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == ',' || *p == '\n') {
            line += *p++ == '\n';
            continue;
        }
        len = strcspn(p, " \t\r\n,#");
        if (parse_int(p, len, 0, INT32_MAX, &v) != 0 || v >= n_items)
            rc = cli_fail(CLI_FAIL, cmd, "%s %s:%lld: '%.*s' is not an item id of this model "
                          "(want 0..%lld)", flag, path, (long long)line,
                          (int)(len < 40 ? len : 40), p, (long long)n_items - 1);
        else if (ids_push(out, (int32_t)v) != 0)
            rc = cli_fail(CLI_FAIL, cmd, "%s %s: out of memory", flag, path);
        p += len;
    }
    free(text);
    return rc;
}
