/* Opening input files that must be regular files (ropen.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "ropen.h"

const char *irllrec__errtext(int err, char *buf, size_t cap)
{
    /* XSI strerror_r: strerror() is not thread-safe. */
    if (strerror_r(err, buf, cap) != 0) snprintf(buf, cap, "errno %d", err);
    return buf;
}

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a named pipe (FIFO)";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    return "a special file";
}

irllrec_status irllrec__open_regular(irllrec_ctx *ctx, const char *func, const char *path,
                                     int optional, FILE **f, uint64_t *size)
{
    char eb[128];
    struct stat sb;
    int fd, flags, err;
    *f = NULL;
    *size = 0;
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        err = errno;
        if (optional && err == ENOENT) return IRLLREC_OK;
        return irllrec__fail(ctx, IRLLREC_E_IO, func, "%s: cannot open: %s", path,
                             irllrec__errtext(err, eb, sizeof eb));
    }
    if (fstat(fd, &sb) != 0) {
        err = errno;
        close(fd);
        return irllrec__fail(ctx, IRLLREC_E_IO, func, "%s: cannot stat: %s", path,
                             irllrec__errtext(err, eb, sizeof eb));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return irllrec__fail(ctx, IRLLREC_E_IO, func,
                             "%s: is %s: only a regular file can be read", path,
                             kind_of(sb.st_mode));
    }
    if (sb.st_size < 0) {
        close(fd);
        return irllrec__fail(ctx, IRLLREC_E_IO, func, "%s: negative file size", path);
    }
    flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1 ||
        (*f = fdopen(fd, "rb")) == NULL) {
        err = errno;
        close(fd);
        return irllrec__fail(ctx, IRLLREC_E_IO, func, "%s: cannot open: %s", path,
                             irllrec__errtext(err, eb, sizeof eb));
    }
    *size = (uint64_t)sb.st_size;
    return IRLLREC_OK;
}
