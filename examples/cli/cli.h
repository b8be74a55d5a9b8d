/* irllrec, the command-line tool (docs/cli.md): shared pieces of its
 * subcommands. Every subcommand builds its whole answer in a cli_buf and
 * prints it only once nothing can fail any more, so a failure leaves stdout
 * empty and its one error line on stderr. Host code: malloc, public API only. */
#ifndef IRLLREC_CLI_H
#define IRLLREC_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "irllrec/irllrec.h"
#include "irllrec/rank.h"
#include "irllrec/serve.h"

/* Exit codes: 0 success, 1 the request failed (bad file, unknown id, ...),
 * 2 the command line is wrong. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* ---- output buffer (buf.c) ---------------------------------------------- */

typedef struct cli_buf {
    char *data;
    size_t len, cap;
    int oom; /* an append failed: the buffer is incomplete and must not be printed */
} cli_buf;

void cli_buf_free(cli_buf *b);
/* printf into the buffer; on allocation failure sets b->oom and drops the text */
void cli_printf(cli_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* s as a JSON string (quotes, backslashes and control bytes escaped) */
void cli_json_str(cli_buf *b, const char *s);
/* s for a text listing: in double quotes, control bytes and quotes escaped */
void cli_text_str(cli_buf *b, const char *s);
/* a number in the fewest digits that read back exactly */
void cli_num(cli_buf *b, double v);
/* the same for JSON, where NaN and Inf become null */
void cli_json_num(cli_buf *b, double v);
/* a float32 result for JSON: the fewest digits that read back as that float */
void cli_json_f32(cli_buf *b, float v);
/* Write the buffer to stdout; an incomplete buffer or a failed write is an
 * error reported on stderr under @p cmd. Returns CLI_OK or CLI_FAIL. */
int cli_buf_emit(cli_buf *b, const char *cmd);

/* A text table: cells appended row by row, printed right-aligned under
 * their headers, each column as wide as its widest cell. */
#define CLI_TABLE_MAX_COLS 8
typedef struct cli_table {
    int ncol;
    char **cells; /* header cells first */
    size_t n, cap;
    int oom;
} cli_table;

void cli_table_init(cli_table *t, int ncol, const char *const *header);
void cli_table_cell(cli_table *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append the table to @p b, each line starting with @p indent; frees @p t. */
void cli_table_emit(cli_table *t, cli_buf *b, const char *indent);

/* ---- errors ------------------------------------------------------------- */

/* "irllrec CMD: message" on stderr; returns @p code */
int cli_fail(int code, const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- command line (args.c) ---------------------------------------------- */

/* Flags a subcommand may accept (bit set of CLI_F_*). */
enum {
    CLI_F_USER = 1u << 0,
    CLI_F_ITEM = 1u << 1,
    CLI_F_K = 1u << 2,
    CLI_F_TOP = 1u << 3,
    CLI_F_INCLUDE_SEEN = 1u << 4,
    CLI_F_ALLOW = 1u << 5,
    CLI_F_DENY = 1u << 6,
    CLI_F_JSON = 1u << 7,
    CLI_F_THREADS = 1u << 8
};

typedef struct cli_ids {
    int32_t *v;
    int64_t n, cap;
} cli_ids;

typedef struct cli_args {
    const char *model;      /* the one positional argument */
    cli_ids users, items;   /* --user / --item lists (repeats append) */
    int32_t k, top, threads;
    uint32_t given;         /* CLI_F_* bits seen on the command line */
    const char *allow, *deny;
    int help;
} cli_args;

/* Parse argv[first..argc) of subcommand @p cmd, which accepts the flags in
 * @p accepted. @p k_default and @p top_default fill k and top when absent.
 * Returns CLI_OK, or CLI_USAGE after printing an error naming the flag. */
int cli_parse(int argc, char **argv, int first, const char *cmd, uint32_t accepted,
              int32_t k_default, int32_t top_default, cli_args *out);
void cli_args_free(cli_args *a);

/* Read a file of item ids (whitespace or commas between them; '#' starts a
 * comment to the end of the line) for --allow / --deny. Every id must be in
 * [0, n_items). Returns CLI_OK or CLI_FAIL after printing an error naming
 * the flag, the file and the line. */
int cli_read_id_file(const char *cmd, const char *flag, const char *path, int64_t n_items,
                     cli_ids *out);

/* Every id of @p ids below @p bound, or CLI_FAIL naming the flag and id. */
int cli_check_ids(const char *cmd, const char *flag, const cli_ids *ids, int64_t bound,
                  const char *what);

/* ---- subcommands -------------------------------------------------------- */

int cli_inspect(int argc, char **argv);
int cli_recommend(int argc, char **argv);
int cli_similar(int argc, char **argv);
int cli_explain(int argc, char **argv);

/* A context for one subcommand (threads from --threads), or NULL after an error. */
irllrec_ctx *cli_ctx(const char *cmd, int32_t threads);
/* The one-line verdict on a model file the library refused with @p st and
 * message @p msg: what is wrong (truncated, checksum mismatch, ...) and
 * where. Returns CLI_FAIL. */
int cli_verdict(const char *cmd, const char *path, irllrec_status st, const char *msg);
/* Load a serving model; NULL after an error naming the file and the problem. */
irllrec_rec *cli_load_rec(irllrec_ctx *ctx, const char *cmd, const char *path,
                          irllrec_rec_info *info);

#endif /* IRLLREC_CLI_H */
