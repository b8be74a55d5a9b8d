/* Atomic file replacement, internal to libirllrec (never installed).
 *
 * Data goes to a fresh temporary file in the target's directory
 * ("<path>.tmp.<pid>.<random>"), which is flushed, fsync'ed and renamed over
 * the target; the directory is then fsync'ed so the rename itself survives a
 * crash. A reader therefore sees either the old file or the complete new one,
 * never a partial file.
 *
 * A symbolic link is written through: the file it points to is replaced (in
 * that file's directory) and the link stays. An existing target keeps its
 * permission bits (not its owner or ACLs). Opening also removes stale
 * temporaries of the same target, left by killed writers: see
 * remove_stale() in atomic.c and docs/npy.md.
 *
 * Usage: open, write*, then commit or abort. Any failing call has already
 * closed the writer and removed the temporary file; abort is always safe to
 * call (also after a failure or a commit) and does nothing then. To replace
 * several files together, finish each (the data is on disk under the
 * temporary name) and commit them only once all are finished. */
#ifndef IRLLREC_IO_ATOMIC_H
#define IRLLREC_IO_ATOMIC_H

#include <stddef.h>
#include <stdio.h>
#include "../internal.h"

typedef struct irllrec__atomic {
    irllrec_ctx *ctx;
    const char *func;  /* public function named in error messages */
    const char *path;  /* borrowed: must outlive the writer; named in messages */
    char *target;      /* path with symbolic links followed: the file replaced
                        * (ctx allocation) */
    size_t target_cap;
    char *tmp;         /* temporary file name (ctx allocation) */
    size_t tmp_cap;
    char *dir;         /* directory of path, for the final fsync (ctx allocation):
                        * made in open so that commit never allocates after the rename */
    size_t dir_cap;
    FILE *f;           /* NULL once closed */
} irllrec__atomic;

/* Create the temporary file for path. On failure nothing is left on disk.
 * @return IRLLREC_OK, IRLLREC_E_INVALID_ARG, IRLLREC_E_NOMEM, IRLLREC_E_IO */
irllrec_status irllrec__atomic_open(irllrec_ctx *ctx, const char *func, const char *path,
                                    irllrec__atomic *w);

/* Append n bytes. @return IRLLREC_OK or IRLLREC_E_IO (writer closed, temp removed) */
irllrec_status irllrec__atomic_write(irllrec__atomic *w, const void *buf, size_t n);

/* Flush, fsync and close the temporary file, keeping it for a later
 * commit (or abort). Allocates nothing.
 * @return IRLLREC_OK or IRLLREC_E_IO (temp removed) */
irllrec_status irllrec__atomic_finish(irllrec__atomic *w);

/* Finish if not yet done, rename over the target, fsync the directory.
 * Allocates nothing. @return IRLLREC_OK or IRLLREC_E_IO. If only the final directory
 *         fsync fails, the target already holds the new contents. */
irllrec_status irllrec__atomic_commit(irllrec__atomic *w);

/* Discard the temporary file; safe on a closed or zeroed writer. */
void irllrec__atomic_abort(irllrec__atomic *w);

/* Write a list of buffers to path atomically (open + write* + commit). */
irllrec_status irllrec__atomic_write_file(irllrec_ctx *ctx, const char *func, const char *path,
                                          const void *const *bufs, const size_t *lens,
                                          size_t n_bufs);

#endif /* IRLLREC_IO_ATOMIC_H */
