/* Atomic file replacement: temporary file, fsync, rename, directory fsync. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "atomic.h"
#include "ropen.h"

#define errtext irllrec__errtext

/* Symbolic links followed before giving up (as the kernel's ELOOP limit). */
#define MAX_LINKS 40
/* A stale temporary must also be this old (seconds since its last change),
 * so a live writer on another host sharing the directory, whose pid means
 * nothing here, is never disturbed. */
#define STALE_AGE 60

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
    irllrec__free(w->ctx, w->target, w->target_cap);
    w->target = NULL;
}

/* The file a write to path lands on: path with every symbolic link in its
 * last component followed (a relative link is relative to the link's
 * directory). A dangling link resolves to the file it names, which the
 * write then creates. The result is a ctx allocation of *cap bytes. */
static irllrec_status resolve(irllrec__atomic *w, size_t *cap)
{
    char cur[4096], link[4096];
    struct stat sb;
    size_t n;
    int hops = 0;
    n = strlen(w->path);
    if (n >= sizeof cur)
        return irllrec__fail(w->ctx, IRLLREC_E_INVALID_ARG, w->func,
                             "path is %zu bytes long (at most %zu)", n, sizeof cur - 1);
    memcpy(cur, w->path, n + 1);
    while (lstat(cur, &sb) == 0 && S_ISLNK(sb.st_mode)) {
        ssize_t k;
        const char *slash;
        size_t dn;
        if (++hops > MAX_LINKS)
            return irllrec__fail(w->ctx, IRLLREC_E_IO, w->func,
                                 "%s: more than %d symbolic links to follow", w->path, MAX_LINKS);
        k = readlink(cur, link, sizeof link);
        if (k < 0 || (size_t)k >= sizeof link) {
            char eb[128];
            return irllrec__fail(w->ctx, IRLLREC_E_IO, w->func, "%s: cannot read the link %s: %s",
                                 w->path, cur,
                                 k < 0 ? errtext(errno, eb, sizeof eb) : "target too long");
        }
        link[k] = '\0';
        slash = strrchr(cur, '/');
        dn = link[0] == '/' || slash == NULL ? 0 : (size_t)(slash - cur) + 1;
        if (dn + (size_t)k >= sizeof cur)
            return irllrec__fail(w->ctx, IRLLREC_E_IO, w->func,
                                 "%s: the link target is too long", w->path);
        memmove(cur + dn, link, (size_t)k + 1);
    }
    n = strlen(cur) + 1;
    w->target = (char *)irllrec__alloc_fn(w->ctx, w->func, n);
    if (w->target == NULL) return IRLLREC_E_NOMEM;
    memcpy(w->target, cur, n);
    *cap = n;
    return IRLLREC_OK;
}

/* Whether name is "<base>.tmp.<pid>.<8 hex digits>"; *pid receives the pid. */
static int tmp_name_of(const char *name, const char *base, size_t blen, long *pid)
{
    const char *p;
    char *end;
    long v;
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0) return 0;
    p = name + blen + 5;
    if (*p < '1' || *p > '9') return 0;
    errno = 0;
    v = strtol(p, &end, 10);
    if (errno != 0 || v <= 0 || *end != '.') return 0;
    p = end + 1;
    for (int i = 0; i < 8; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return 0;
    if (p[8] != '\0') return 0;
    *pid = v;
    return 1;
}

/* Remove temporaries of the same target left by writers that were killed:
 * named as this writer names its own, from a process that no longer exists
 * (kill(pid, 0) fails with ESRCH), a regular file owned by this user and
 * unchanged for STALE_AGE seconds. Best effort: failures are ignored. */
static void remove_stale(const irllrec__atomic *w)
{
    const char *slash = strrchr(w->target, '/');
    const char *base = slash == NULL ? w->target : slash + 1;
    size_t blen = strlen(base);
    DIR *d = opendir(w->dir);
    struct dirent *e;
    time_t now = time(NULL);
    if (d == NULL) return;
    while ((e = readdir(d)) != NULL) {
        char full[4096];
        struct stat sb;
        long pid;
        int n;
        if (!tmp_name_of(e->d_name, base, blen, &pid)) continue;
        if (pid == (long)getpid() || (pid_t)pid != pid) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        n = snprintf(full, sizeof full, "%s/%s", w->dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof full) continue;
        if (lstat(full, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_uid != geteuid()) continue;
        if (now - sb.st_mtime < STALE_AGE) continue;
        unlink(full);
    }
    closedir(d);
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
    int fd = -1, err = 0, keep_mode;
    struct stat sb;
    irllrec_status st;
    memset(w, 0, sizeof *w);
    w->ctx = ctx;
    w->func = func;
    w->path = path;
    IRL_CHECK_FN(ctx, func, path != NULL && path[0] != '\0', IRLLREC_E_INVALID_ARG,
                 "path is NULL or empty");
    st = resolve(w, &w->target_cap);
    if (st != IRLLREC_OK) {
        release(w, 0);
        return st;
    }
    plen = strlen(w->target);
    w->tmp_cap = plen + 48;
    w->tmp = (char *)irllrec__alloc_fn(ctx, func, w->tmp_cap);
    if (w->tmp == NULL) {
        release(w, 0);
        return IRLLREC_E_NOMEM;
    }
    w->dir = dir_of(ctx, func, w->target, &w->dir_cap);
    if (w->dir == NULL) {
        release(w, 0);
        return IRLLREC_E_NOMEM;
    }
    remove_stale(w);
    /* An existing target keeps its permission bits; a new one gets 0666
     * less the umask, as for a plain fopen. */
    keep_mode = stat(w->target, &sb) == 0 && S_ISREG(sb.st_mode);
    /* O_EXCL with a random suffix: two writers of the same target (threads or
     * processes) never share a temporary file. */
    for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
        snprintf(w->tmp, w->tmp_cap, "%s.tmp.%ld.%08x", w->target, (long)getpid(),
                 (unsigned)randombytes_random());
        fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        err = errno;
        if (fd < 0 && err != EEXIST) break;
    }
    if (fd < 0) {
        release(w, 0);
        return io_fail(w, err, "cannot create a temporary file next to it");
    }
    if (keep_mode && fchmod(fd, sb.st_mode & 07777) != 0) {
        err = errno;
        close(fd);
        release(w, 1);
        return io_fail(w, err, "cannot give the temporary file the target's permissions");
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
    if (rename(w->tmp, w->target) != 0) {
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
