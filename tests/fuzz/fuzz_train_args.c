/* libFuzzer target: arbitrary bytes as lightgcn_train's command line through
 * lgcn_train_parse_args() (examples/lightgcn/train_args.c), without training.
 *
 * The input is split at NUL bytes into at most 64 arguments after argv[0].
 * Invariants (abort on violation): the parser returns 0 (parsed), 1 (--help)
 * or 2 (refused); a parsed command line has every setting within the range
 * the trainer documents (docs/lightgcn.md), so nothing after parsing can be
 * handed an out-of-range value. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "train_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond)
{
    if (!cond) abort();
}

static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = (char *)malloc(size + 1), *argv[66];
    int argc = 1, rc;
    opts o;
    require(buf != NULL);
    if (sink == NULL) sink = fopen("/dev/null", "w");
    require(sink != NULL);
    if (size) memcpy(buf, data, size);
    buf[size] = '\0';
    argv[0] = (char *)"lightgcn_train";
    for (size_t p = 0; p <= size && argc < 65;) {
        argv[argc++] = buf + p;
        p += strlen(buf + p) + 1;
    }
    argv[argc] = NULL;
    rc = lgcn_train_parse_args(argc, argv, &o, sink, sink);
    require(rc == 0 || rc == 1 || rc == 2);
    if (rc == 0) {
        require(o.out != NULL && o.out[0] != '\0');
        require(o.dim >= 1 && o.dim <= 256 && o.layers >= 0 && o.layers <= 64);
        require(o.threads >= 1 && o.threads <= 256 && o.batch >= 1 && o.epochs >= 1);
        require(o.eval_step >= 1 && o.patience >= 1 && o.save_every >= 0);
        require(o.lib_log >= 0 && o.lib_log <= IRLLREC_LOG_DEBUG);
        require(o.lr > 0 && isfinite(o.lr) && o.reg >= 0 && isfinite(o.reg));
        require(o.keep > 0 && o.keep <= 1);
        require(o.hc.n_intents >= 1 && o.hc.n_intents <= 65536);
        require(o.hc.tran_mode >= -1 && o.hc.tran_mode <= 1 && o.hc.tran_samples >= 0);
        require(!o.irllrec || (o.hc.seed == o.seed && o.hc.max_batch == o.batch));
    }
    free(buf);
    return 0;
}
