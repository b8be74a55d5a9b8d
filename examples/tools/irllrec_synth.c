/* irllrec-synth: write a SYNTHETIC dataset with planted intents (see
 * docs/synthetic-data.md) into a folder, for the demo and for tests that
 * need no external data. Every field of irllrec_x_synth_spec has a flag. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "irllrec/irllrec.h"

typedef struct flag {
    const char *name;
    char type; /* 'i' int32, 'd' double, 'u' uint64 */
    size_t off;
    const char *help;
} flag;

#define F(n, t, field, h) {n, t, offsetof(irllrec_x_synth_spec, field), h}
static const flag flags[] = {
    F("--users", 'i', n_users, "number of users"),
    F("--items", 'i', n_items, "number of items"),
    F("--intents", 'i', n_intents, "latent intents K"),
    F("--profile-dim", 'i', profile_dim, "width of usr_prf.npy / itm_prf.npy"),
    F("--intent-dim", 'i', intent_dim, "width of usr_int.npy / itm_int.npy"),
    F("--mean-degree", 'd', mean_degree, "mean interactions per user"),
    F("--popularity-skew", 'd', popularity_skew, "Zipf exponent of item popularity"),
    F("--text-noise", 'd', text_noise, "noise scale of the text embeddings"),
    F("--misleading-frac", 'd', misleading_frac, "share of text rows from another entity"),
    F("--val-frac", 'd', val_frac, "per-user share held out for validation"),
    F("--test-frac", 'd', test_frac, "per-user share held out for test"),
    F("--seed", 'u', seed, "random seed"),
    F("--min-degree", 'i', min_degree, "minimum interactions per user"),
    F("--max-dominant", 'i', max_dominant, "most dominant intents per entity"),
};
#define N_FLAGS (sizeof flags / sizeof flags[0])

static void usage(FILE *f, const irllrec_x_synth_spec *d)
{
    fprintf(f, "usage: irllrec-synth --out DIR [options]\n"
               "Writes a SYNTHETIC dataset (train/val/test.txt, stats.json and four .npy\n"
               "text-embedding stand-ins) into DIR, creating DIR if needed.\n\n"
               "  --out DIR            output folder (required)\n"
               "  --threads N          worker threads (default 1; output does not depend on it)\n"
               "  --quiet              print nothing on success\n");
    for (size_t q = 0; q < N_FLAGS; q++) {
        const char *p = (const char *)d + flags[q].off;
        char def[64];
        if (flags[q].type == 'i') {
            int32_t v;
            memcpy(&v, p, sizeof v);
            snprintf(def, sizeof def, "%d", (int)v);
        } else if (flags[q].type == 'd') {
            double v;
            memcpy(&v, p, sizeof v);
            snprintf(def, sizeof def, "%g", v);
        } else {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            snprintf(def, sizeof def, "%llu", (unsigned long long)v);
        }
        fprintf(f, "  %-20s %s (default %s)\n", flags[q].name, flags[q].help, def);
    }
}

static int parse_value(const flag *fl, const char *s, irllrec_x_synth_spec *spec)
{
    char *end = NULL;
    char *p = (char *)spec + fl->off;
    errno = 0;
    if (fl->type == 'i') {
        long v = strtol(s, &end, 10);
        int32_t x = (int32_t)v;
        if (errno || end == s || *end || v < INT32_MIN || v > INT32_MAX) return -1;
        memcpy(p, &x, sizeof x);
    } else if (fl->type == 'd') {
        double v = strtod(s, &end);
        if (errno || end == s || *end) return -1;
        memcpy(p, &v, sizeof v);
    } else {
        unsigned long long v;
        if (s[0] == '-') return -1;
        v = strtoull(s, &end, 10);
        uint64_t x = (uint64_t)v;
        if (errno || end == s || *end) return -1;
        memcpy(p, &x, sizeof x);
    }
    return 0;
}

/* On failure, remove the folder this run created: the files it may hold are
 * the ones irllrec_x_synth_write writes (and their temporaries). */
static void rm_created(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[4096];
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p) (void)remove(p);
    }
    if (d != NULL) closedir(d);
    (void)rmdir(dir);
}

int main(int argc, char **argv)
{
    irllrec_x_synth_spec spec, defaults;
    irllrec_ctx_spec cs;
    irllrec_ctx *ctx = NULL;
    const char *out = NULL;
    long threads = 1;
    int quiet = 0, created = 0;
    struct timespec t0, t1;
    irllrec_status st;

    irllrec_x_synth_spec_init(&spec, sizeof spec);
    defaults = spec;
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        size_t q;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout, &defaults);
            return 0;
        }
        if (strcmp(arg, "--quiet") == 0) {
            quiet = 1;
            continue;
        }
        if (a + 1 >= argc) {
            fprintf(stderr, "irllrec-synth: %s needs a value (or is unknown; see --help)\n", arg);
            return 2;
        }
        if (strcmp(arg, "--out") == 0) {
            out = argv[++a];
            continue;
        }
        if (strcmp(arg, "--threads") == 0) {
            char *end = NULL;
            threads = strtol(argv[++a], &end, 10);
            if (end == argv[a] || *end || threads < 1 || threads > 256) {
                fprintf(stderr, "irllrec-synth: --threads wants 1..256, got '%s'\n", argv[a]);
                return 2;
            }
            continue;
        }
        for (q = 0; q < N_FLAGS && strcmp(arg, flags[q].name) != 0; q++) {}
        if (q == N_FLAGS) {
            fprintf(stderr, "irllrec-synth: unknown option '%s' (see --help)\n", arg);
            return 2;
        }
        if (parse_value(&flags[q], argv[++a], &spec) != 0) {
            fprintf(stderr, "irllrec-synth: bad value '%s' for %s\n", argv[a], arg);
            return 2;
        }
    }
    if (out == NULL) {
        fprintf(stderr, "irllrec-synth: --out DIR is required (see --help)\n");
        return 2;
    }
    if (spec.min_degree > spec.n_items) {
        /* Otherwise every user would like every item: no held-out items,
         * no negatives to sample. */
        fprintf(stderr, "irllrec-synth: --min-degree %d exceeds --items %d: a user cannot like "
                        "more items than there are (want --min-degree <= --items)\n",
                (int)spec.min_degree, (int)spec.n_items);
        return 2;
    }
    created = access(out, F_OK) != 0;
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "irllrec-synth: cannot create '%s': %s\n", out, strerror(errno));
        return 1;
    }
    irllrec_ctx_spec_init(&cs, sizeof cs);
    cs.n_threads = (int32_t)threads;
    if ((st = irllrec_ctx_create(&cs, &ctx)) != IRLLREC_OK) {
        fprintf(stderr, "irllrec-synth: cannot create a context: %s\n", irllrec_status_str(st));
        if (created) rm_created(out);
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    st = irllrec_x_synth_write(ctx, &spec, out);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (st != IRLLREC_OK) {
        fprintf(stderr, "irllrec-synth: %s (%s)\n", irllrec_ctx_errmsg(ctx), irllrec_status_str(st));
        irllrec_ctx_free(ctx);
        if (created) rm_created(out);
        return 1;
    }
    if (!quiet)
        printf("wrote SYNTHETIC dataset to %s: %d users, %d items, %d intents in %.3f s\n", out,
               (int)spec.n_users, (int)spec.n_items, (int)spec.n_intents,
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    irllrec_ctx_free(ctx);
    return 0;
}
