/* Atomic file replacement: temporary file, fsync, rename, directory fsync. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <sodium.h>
#include "atomic.h"

static const char *errtext(int err, char *buf, size_t cap)
{
    /* XSI strerror_r: strerror() is not thread-safe. */
    if (strerror_r(err, buf, cap) != 0) snprintf(buf, cap, "errno %d", err);
    return buf;
}

static irllrec_status io_fail(irllrec__atomic *w, int err, const char *what)
{
    char eb[128];
    return irllrec__fail(w->ctx, IRLLREC_E_IO, w->func, "%s: %s: %s", w->path, what,
                         errtext(err, eb, sizeof eb));
}

static void release(irllrec__atomic *w, int remove_tmp)
{
    if (w->f != NULL) {
        fclose(w->f);
        w->f = NULL;
    }
    if (w->tmp != NULL) {
        if (remove_tmp) unlink(w->tmp);
        irllrec__free(w->ctx, w->tmp, w->tmp_cap);
        w->tmp = NULL;
    }
    irllrec__free(w->ctx, w->dir, w->dir_cap);
    w->dir = NULL;
}

/* The directory holding path: "." for a bare name, "/" for "/name". */
static char *dir_of(irllrec_ctx *ctx, const char *func, const char *path, size_t *cap)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash == NULL ? 1 : (size_t)(slash - path);
    char *dir;
    if (slash == path) n = 1;
    dir = (char *)irllrec__alloc_fn(ctx, func, n + 1);
    if (dir == NULL) return NULL;
    if (slash == NULL)
        memcpy(dir, ".", 2);
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    *cap = n + 1;
    return dir;
}

irllrec_status irllrec__atomic_open(irllrec_ctx *ctx, const char *func, const char *path,
                                    irllrec__atomic *w)
{
    size_t plen;
    int fd = -1, err = 0;
    memset(w, 0, sizeof *w);
    w->ctx = ctx;
    w->func = func;
    w->path = path;
    IRL_CHECK_FN(ctx, func, path != NULL && path[0] != '\0', IRLLREC_E_INVALID_ARG,
                 "path is NULL or empty");
    plen = strlen(path);
    w->tmp_cap = plen + 48;
    w->tmp = (char *)irllrec__alloc_fn(ctx, func, w->tmp_cap);
    if (w->tmp == NULL) return IRLLREC_E_NOMEM;
    w->dir = dir_of(ctx, func, path, &w->dir_cap);
    if (w->dir == NULL) {
        release(w, 0);
        return IRLLREC_E_NOMEM;
    }
    /* O_EXCL with a random suffix: two writers of the same target (threads or
     * processes) never share a temporary file. 0666 lets the umask decide the
     * final permissions, as for a plain fopen. */
    for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
        snprintf(w->tmp, w->tmp_cap, "%s.tmp.%ld.%08x", path, (long)getpid(),
                 (unsigned)randombytes_random());
        fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        err = errno;
        if (fd < 0 && err != EEXIST) break;
    }
    if (fd < 0) {
        release(w, 0);
        return io_fail(w, err, "cannot create a temporary file next to it");
    }
    w->f = fdopen(fd, "wb");
    if (w->f == NULL) {
        err = errno;
        close(fd);
        release(w, 1);
        return io_fail(w, err, "fdopen failed");
    }
    return IRLLREC_OK;
}

irllrec_status irllrec__atomic_write(irllrec__atomic *w, const void *buf, size_t n)
{
    if (w->f == NULL)
        return irllrec__fail(w->ctx, IRLLREC_E_IO, w->func, "%s: writer is closed", w->path);
    if (n == 0) return IRLLREC_OK;
    if (fwrite(buf, 1, n, w->f) != n) {
        int err = errno;
        release(w, 1);
        return io_fail(w, err, "write failed");
    }
    return IRLLREC_OK;
}

/* fsync the directory holding path so the rename is durable. Filesystems
 * that cannot sync a directory (EINVAL, ENOTSUP) are not an error. */
static int sync_dir(const char *dir)
{
    int rc = 0, fd = open(dir, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP) rc = errno;
    close(fd);
    return rc;
}

irllrec_status irllrec__atomic_finish(irllrec__atomic *w)
{
    int err;
    FILE *f = w->f;
    if (f == NULL)
        return irllrec__fail(w->ctx, IRLLREC_E_IO, w->func, "%s: writer is closed", w->path);
    if (fflush(f) != 0) {
        err = errno;
        release(w, 1);
        return io_fail(w, err, "flush failed");
    }
    if (fsync(fileno(f)) != 0) {
        err = errno;
        release(w, 1);
        return io_fail(w, err, "fsync failed");
    }
    w->f = NULL;
    if (fclose(f) != 0) {
        err = errno;
        release(w, 1);
        return io_fail(w, err, "close failed");
    }
    return IRLLREC_OK;
}

irllrec_status irllrec__atomic_commit(irllrec__atomic *w)
{
    int err;
    if (w->f == NULL && w->tmp == NULL)
        return irllrec__fail(w->ctx, IRLLREC_E_IO, w->func, "%s: writer is closed", w->path);
    if (w->f != NULL) IRL_TRY(irllrec__atomic_finish(w));
    if (rename(w->tmp, w->path) != 0) {
        err = errno;
        release(w, 1);
        return io_fail(w, err, "rename of the temporary file failed");
    }
    err = sync_dir(w->dir);
    release(w, 0);
    if (err != 0) return io_fail(w, err, "fsync of the directory failed");
    return IRLLREC_OK;
}

void irllrec__atomic_abort(irllrec__atomic *w)
{
    if (w == NULL || w->ctx == NULL) return;
    release(w, 1);
}

irllrec_status irllrec__atomic_write_file(irllrec_ctx *ctx, const char *func, const char *path,
                                          const void *const *bufs, const size_t *lens,
                                          size_t n_bufs)
{
    irllrec__atomic w;
    IRL_TRY(irllrec__atomic_open(ctx, func, path, &w));
    for (size_t i = 0; i < n_bufs; i++) IRL_TRY(irllrec__atomic_write(&w, bufs[i], lens[i]));
    return irllrec__atomic_commit(&w);
}
