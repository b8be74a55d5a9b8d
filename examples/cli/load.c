/* Opening model files for the irllrec tool (cli.h): the library context,
 * the serving model, and the one-line verdict on a file that fails. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

irllrec_ctx *cli_ctx(const char *cmd, int32_t threads)
{
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    irllrec_status st;
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = threads;
    if ((st = irllrec_ctx_create(&cs, &ctx)) != IRLLREC_OK)
        cli_fail(CLI_FAIL, cmd, "cannot create a library context: %s", irllrec_status_str(st));
    return st == IRLLREC_OK ? ctx : NULL;
}

/* A file that starts as an .irlm file but is shorter than its header says:
 * the commonest corruption (an interrupted copy) gets its own verdict. */
static int truncated(const char *path, long long *have, unsigned long long *want)
{
    static const unsigned char MAGIC[8] = {0x89, 'I', 'R', 'L', 0x0D, 0x0A, 0x1A, 0x0A};
    unsigned char h[40];
    struct stat sb;
    FILE *f;
    int r = 0;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
    if ((f = fopen(path, "rb")) == NULL) return 0;
    if (fread(h, 1, sizeof h, f) == sizeof h && memcmp(h, MAGIC, 8) == 0) {
        *want = 0;
        for (int i = 7; i >= 0; i--) *want = *want << 8 | h[32 + i];
        *have = (long long)sb.st_size;
        r = *want > (unsigned long long)sb.st_size;
    } else if (sb.st_size < (off_t)sizeof h && sb.st_size >= 8) {
        /* too short for the size field: truncated if what is there is the magic */
        rewind(f);
        r = fread(h, 1, 8, f) == 8 && memcmp(h, MAGIC, 8) == 0;
        *have = (long long)sb.st_size;
        *want = 0;
    }
    fclose(f);
    return r;
}

/* The library's message without a leading "irllrec_<fn>: PATH: ", which
 * the verdict line already says. */
static const char *strip_prefix(const char *msg, const char *path)
{
    const char *colon = strchr(msg, ':');
    size_t lp = strlen(path);
    if (strncmp(msg, "irllrec_", 8) == 0 && colon != NULL && colon[1] == ' ' &&
        strncmp(colon + 2, path, lp) == 0 && strncmp(colon + 2 + lp, ": ", 2) == 0)
        return colon + 4 + lp;
    return msg;
}

int cli_verdict(const char *cmd, const char *path, irllrec_status st, const char *msg)
{
    const char *what = st == IRLLREC_E_IO            ? "cannot read it"
                       : st == IRLLREC_E_CHECKSUM    ? "corrupt (checksum mismatch)"
                       : st == IRLLREC_E_FORMAT      ? "corrupt or not an .irlm model file"
                       : st == IRLLREC_E_VERSION     ? "written by a newer, unsupported format"
                       : st == IRLLREC_E_UNSUPPORTED ? "uses a feature this library lacks"
                       : st == IRLLREC_E_NOMEM       ? "too large to load"
                       : st == IRLLREC_E_NUMERIC     ? "holds non-finite values (NaN or Inf)"
                                                     : "cannot load it";
    long long have = 0;
    unsigned long long want = 0;
    msg = strip_prefix(msg, path);
    if (st == IRLLREC_E_FORMAT && truncated(path, &have, &want)) {
        if (want > 0)
            return cli_fail(CLI_FAIL, cmd, "%s: truncated: %lld of the %llu bytes its header "
                            "declares (%s)", path, have, want, msg);
        return cli_fail(CLI_FAIL, cmd, "%s: truncated: %lld bytes, shorter than the header "
                        "(%s)", path, have, msg);
    }
    return cli_fail(CLI_FAIL, cmd, "%s: %s: %s", path, what, msg);
}

/* A file the serving loader refused with E_FORMAT that is a sound .irlm
 * file: either another writer's (no serve.kind) or a serving model whose
 * sections disagree. Returns 0 when the container itself is unsound (the
 * plain verdict applies), else CLI_FAIL after the message. */
static int sound_container(irllrec_ctx *ctx, const char *cmd, const char *path, const char *msg)
{
    irllrec_model *m = NULL;
    int found = 0;
    if (irllrec_model_load(ctx, path, NULL, &m) != IRLLREC_OK) return 0;
    for (int32_t i = 0; i < irllrec_model_meta_count(m); i++)
        found |= strcmp(irllrec_model_meta_key(m, i, NULL), "serve.kind") == 0;
    irllrec_model_free(m);
    if (!found)
        return cli_fail(CLI_FAIL, cmd, "%s: not a serving model (a sound .irlm file without "
                        "serve.kind metadata, e.g. a training checkpoint; lightgcn_train writes "
                        "the serving model to OUT/model.irlm; irllrec inspect lists it)", path);
    return cli_fail(CLI_FAIL, cmd, "%s: a damaged serving model (checksums match, the content "
                    "does not): %s", path, strip_prefix(msg, path));
}

irllrec_rec *cli_load_rec(irllrec_ctx *ctx, const char *cmd, const char *path,
                          irllrec_rec_info *info)
{
    irllrec_rec *r = NULL;
    irllrec_status st = irllrec_rec_load(ctx, path, &r);
    if (st != IRLLREC_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", irllrec_ctx_errmsg(ctx));
        if (st != IRLLREC_E_FORMAT || sound_container(ctx, cmd, path, msg) == 0)
            cli_verdict(cmd, path, st, msg);
        return NULL;
    }
    memset(info, 0, sizeof *info);
    info->struct_size = sizeof *info;
    if ((st = irllrec_rec_get_info(r, info)) != IRLLREC_OK) {
        cli_fail(CLI_FAIL, cmd, "%s: %s", path, irllrec_ctx_errmsg(ctx));
        irllrec_rec_free(r);
        return NULL;
    }
    return r;
}
