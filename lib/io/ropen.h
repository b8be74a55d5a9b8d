/* Opening a file for reading that must be a regular file, internal to
 * libirllrec (never installed).
 *
 * The file is opened with O_NONBLOCK, so a FIFO, a character device or a
 * socket given as a path never blocks the open; fstat on the descriptor
 * (not stat on the name, so no race) then refuses anything but a regular
 * file, naming the path and what it is. O_NONBLOCK is cleared again before
 * the stream is returned (it means nothing for a regular file). */
#ifndef IRLLREC_IO_ROPEN_H
#define IRLLREC_IO_ROPEN_H

#include <stdint.h>
#include <stdio.h>
#include "../internal.h"

/* Open path for reading as a binary stream. On success *f is open and *size
 * holds the file size. On failure *f is NULL and the context holds a message
 * "<func>: <path>: ...". If optional is set and the path does not exist,
 * returns IRLLREC_OK with *f NULL (and no message).
 * @return IRLLREC_OK, IRLLREC_E_IO */
irllrec_status irllrec__open_regular(irllrec_ctx *ctx, const char *func, const char *path,
                                     int optional, FILE **f, uint64_t *size);

/* The system's message for errno value err in buf (thread-safe). */
const char *irllrec__errtext(int err, char *buf, size_t cap);

#endif /* IRLLREC_IO_ROPEN_H */
