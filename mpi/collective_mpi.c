/* libirllrec-mpi: see include/irllrec/collective_mpi.h. Every operation is
 * a nonblocking collective on a private duplicate communicator, polled
 * against a deadline, with results staged in the handle's own buffers. */
#include "irllrec/collective_mpi.h"
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct irllrec_mpi {
    MPI_Comm comm;
    int rank, size, broken;
    double timeout_s;
    void *stage;            /* what MPI reads and writes: the caller's buffers never */
    size_t stage_cap;
    int *counts, *displs;   /* size entries each, in MPI's int; with rcounts and */
    int *rcounts, *rdispls; /* rdispls kept until an operation completes, as MPI asks */
    int64_t bytes_sent;
    char err[256];
};

static void set_err(irllrec_mpi *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
}

void irllrec_mpi_spec_init(irllrec_mpi_spec *spec, uint32_t struct_size)
{
    if (spec == NULL || struct_size < sizeof(uint32_t)) return;
    irllrec_mpi_spec d;
    memset(&d, 0, sizeof d);
    d.timeout_s = 300.0;
    const size_t n = struct_size < sizeof d ? struct_size : sizeof d;
    memset(spec, 0, struct_size);
    memcpy(spec, &d, n);
    spec->struct_size = struct_size;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Poll req until it completes or the deadline passes. The sleep grows to
 * 1 ms so that a long wait does not spin a core the training needs. */
static int32_t wait_req(irllrec_mpi *m, MPI_Request *req, const char *op)
{
    const double deadline = now_s() + m->timeout_s;
    long nap_ns = 1000;
    for (;;) {
        int done = 0;
        const int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            int cls = 0, len = 0;
            char s[MPI_MAX_ERROR_STRING];
            MPI_Error_class(rc, &cls);
            MPI_Error_string(rc, s, &len);
            m->broken = 1;
            set_err(m, "%s: MPI error %d (%s) on rank %d of %d", op, cls, s, m->rank, m->size);
            return cls > 0 ? cls : 1;
        }
        if (done) return 0;
        if (now_s() > deadline) {
            m->broken = 1;
            set_err(m, "%s: not complete after %.3g s on rank %d of %d (a rank died or "
                    "stalled)", op, m->timeout_s, m->rank, m->size);
            return IRLLREC_MPI_E_TIMEOUT;
        }
        const struct timespec ts = {0, nap_ns};
        nanosleep(&ts, NULL);
        if (nap_ns < 1000000) nap_ns *= 2;
    }
}

/* Start result: an MPI call that failed before anything was posted. */
static int32_t start_failed(irllrec_mpi *m, int rc, const char *op)
{
    int cls = 0;
    MPI_Error_class(rc, &cls);
    m->broken = 1;
    set_err(m, "%s: MPI refused to start it (error class %d) on rank %d", op, cls, m->rank);
    return cls > 0 ? cls : 1;
}

/* The staging buffer, at least n bytes. After a timeout it is never shrunk
 * or freed: MPI may still write into it. */
static int32_t stage(irllrec_mpi *m, size_t n, const char *op)
{
    if (m->broken) {
        set_err(m, "%s: refused, an earlier operation failed (%s)", op, m->err);
        return IRLLREC_MPI_E_BROKEN;
    }
    if (n <= m->stage_cap) return 0;
    void *p = realloc(m->stage, n);
    if (p == NULL) {
        set_err(m, "%s: staging buffer of %zu bytes not available", op, n);
        return IRLLREC_MPI_E_NOMEM;
    }
    m->stage = p;
    m->stage_cap = n;
    return 0;
}

static int fits_int(int64_t n) { return n >= 0 && n <= INT_MAX; }

static int32_t range_err(irllrec_mpi *m, const char *op, int64_t n)
{
    set_err(m, "%s: %lld elements do not fit MPI's int count", op, (long long)n);
    return IRLLREC_MPI_E_RANGE;
}

/* Every rank's count elements of size esz gathered into the stage, rank r's
 * at r * count. */
static int32_t gather_all(irllrec_mpi *m, const void *send, int64_t count, size_t esz,
                          const char *op)
{
    if (!fits_int(count * (int64_t)esz) || !fits_int(count * (int64_t)esz * m->size))
        return range_err(m, op, count);
    const size_t one = (size_t)count * esz;
    int32_t rc = stage(m, one * (size_t)m->size + 1, op);
    if (rc != 0) return rc;
    memcpy((char *)m->stage + one * (size_t)m->rank, send, one);
    MPI_Request req;
    const int st = MPI_Iallgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, m->stage, (int)one,
                                  MPI_BYTE, m->comm, &req);
    if (st != MPI_SUCCESS) return start_failed(m, st, op);
    m->bytes_sent += (int64_t)one;
    return wait_req(m, &req, op);
}

#define SUM_FN(name, T, OP)                                                       \
    static int32_t name(void *u, const T *send, T *recv, int64_t n)               \
    {                                                                             \
        irllrec_mpi *m = u;                                                       \
        const int32_t rc = gather_all(m, send, n, sizeof(T), OP);                 \
        if (rc != 0) return rc;                                                   \
        const T *all = m->stage;                                                  \
        for (int64_t i = 0; i < n; i++) {                                         \
            T a = all[i];                                                         \
            for (int q = 1; q < m->size; q++) a += all[(int64_t)q * n + i];       \
            recv[i] = a;                                                          \
        }                                                                         \
        return 0;                                                                 \
    }
SUM_FN(sum_f32, float, "allreduce_f32")
SUM_FN(sum_f64, double, "allreduce_f64")

/* counts/displs (bytes) into MPI ints; 0 or a range error. */
static int32_t int_blocks(irllrec_mpi *m, const int64_t *n, const int64_t *d, const char *op,
                          int64_t *total)
{
    *total = 0;
    for (int q = 0; q < m->size; q++) {
        if (!fits_int(n[q]) || (d != NULL && !fits_int(d[q] + n[q]))) return range_err(m, op, n[q]);
        m->counts[q] = (int)n[q];
        m->displs[q] = d != NULL ? (int)d[q] : (int)*total;
        *total += n[q];
    }
    return fits_int(*total) ? 0 : range_err(m, op, *total);
}

static int32_t gatherv(void *u, const void *send, int64_t nb, void *recv, const int64_t *rb,
                       const int64_t *dp)
{
    static const char op[] = "allgatherv";
    irllrec_mpi *m = u;
    int64_t total = 0, span = 0;
    int32_t rc = int_blocks(m, rb, NULL, op, &total);
    if (rc != 0) return rc;
    if ((rc = stage(m, (size_t)total + 1, op)) != 0) return rc;
    memcpy((char *)m->stage + m->displs[m->rank], send, (size_t)nb);
    MPI_Request req;
    const int st = MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, m->stage, m->counts,
                                   m->displs, MPI_BYTE, m->comm, &req);
    if (st != MPI_SUCCESS) return start_failed(m, st, op);
    m->bytes_sent += nb;
    if ((rc = wait_req(m, &req, op)) != 0) return rc;
    for (int q = 0; q < m->size; q++) {
        memcpy((char *)recv + dp[q], (char *)m->stage + span, (size_t)rb[q]);
        span += rb[q];
    }
    return 0;
}

/* Block q of send goes to rank q (one all-to-all), then this rank sums the
 * blocks it received in rank order. */
static int32_t reduce_scatter(void *u, const float *send, float *recv, const int64_t *counts)
{
    static const char op[] = "reduce_scatter_f32";
    irllrec_mpi *m = u;
    const int64_t mine = counts[m->rank];
    if (!fits_int(mine * (int64_t)m->size * 4)) return range_err(m, op, mine);
    int64_t total = 0;
    int32_t rc = int_blocks(m, counts, NULL, op, &total);
    if (rc != 0) return rc;
    if (!fits_int(total * 4)) return range_err(m, op, total);
    for (int q = 0; q < m->size; q++) {
        m->counts[q] *= 4;
        m->displs[q] *= 4;
        m->rcounts[q] = (int)mine * 4;
        m->rdispls[q] = q * (int)mine * 4;
    }
    const size_t in_bytes = (size_t)total * 4, out_bytes = (size_t)(mine * m->size) * 4;
    if ((rc = stage(m, in_bytes + out_bytes + 1, op)) != 0) return rc;
    char *sbuf = m->stage, *rbuf = sbuf + in_bytes;
    memcpy(sbuf, send, in_bytes);
    MPI_Request req;
    const int st = MPI_Ialltoallv(sbuf, m->counts, m->displs, MPI_BYTE, rbuf, m->rcounts,
                                  m->rdispls, MPI_BYTE, m->comm, &req);
    if (st != MPI_SUCCESS) return start_failed(m, st, op);
    m->bytes_sent += (int64_t)in_bytes;
    if ((rc = wait_req(m, &req, op)) != 0) return rc;
    const float *blk = (const float *)(void *)rbuf;
    for (int64_t i = 0; i < mine; i++) {
        float a = blk[i];
        for (int q = 1; q < m->size; q++) a += blk[(int64_t)q * mine + i];
        recv[i] = a;
    }
    return 0;
}

static int32_t bcast(void *u, void *buf, int64_t n, int32_t root)
{
    static const char op[] = "broadcast";
    irllrec_mpi *m = u;
    if (!fits_int(n)) return range_err(m, op, n);
    int32_t rc = stage(m, (size_t)n + 1, op);
    if (rc != 0) return rc;
    if (m->rank == root) memcpy(m->stage, buf, (size_t)n);
    MPI_Request req;
    const int st = MPI_Ibcast(m->stage, (int)n, MPI_BYTE, root, m->comm, &req);
    if (st != MPI_SUCCESS) return start_failed(m, st, op);
    if (m->rank == root) m->bytes_sent += n;
    if ((rc = wait_req(m, &req, op)) != 0) return rc;
    memcpy(buf, m->stage, (size_t)n);
    return 0;
}

static int32_t barrier(void *u)
{
    irllrec_mpi *m = u;
    int32_t rc = stage(m, 0, "barrier");
    if (rc != 0) return rc;
    MPI_Request req;
    const int st = MPI_Ibarrier(m->comm, &req);
    return st != MPI_SUCCESS ? start_failed(m, st, "barrier") : wait_req(m, &req, "barrier");
}

static int32_t get_rank(void *u) { return ((irllrec_mpi *)u)->rank; }
static int32_t get_size(void *u) { return ((irllrec_mpi *)u)->size; }

irllrec_status irllrec_mpi_layer(irllrec_mpi *m, irllrec_collective *c)
{
    if (m == NULL || c == NULL) return IRLLREC_E_INVALID_ARG;
    irllrec_collective_init(c, sizeof *c);
    c->user = m;
    c->rank = get_rank;
    c->size = get_size;
    c->allreduce_f32 = sum_f32;
    c->allreduce_f64 = sum_f64;
    c->allgatherv = gatherv;
    c->reduce_scatter_f32 = reduce_scatter;
    c->broadcast = bcast;
    c->barrier = barrier;
    return IRLLREC_OK;
}

const char *irllrec_mpi_errmsg(const irllrec_mpi *m) { return m == NULL ? "" : m->err; }

int64_t irllrec_mpi_bytes_sent(const irllrec_mpi *m) { return m == NULL ? 0 : m->bytes_sent; }

/* ---- create / free ---- */

static irllrec_status say(char *msg, size_t cap, irllrec_status st, const char *fmt, ...)
{
    if (msg != NULL && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return st;
}

static irllrec_status check_spec(const irllrec_mpi_spec *in, irllrec_mpi_spec *sp, char *msg,
                                 size_t cap)
{
    irllrec_mpi_spec_init(sp, sizeof *sp);
    if (in == NULL) return IRLLREC_OK;
    if (in->struct_size < 8)
        return say(msg, cap, IRLLREC_E_VERSION, "irllrec_mpi_create: spec struct_size %u is "
                   "too small (call irllrec_mpi_spec_init)", (unsigned)in->struct_size);
    const unsigned char *b = (const unsigned char *)in;
    for (size_t i = sizeof *sp; i < in->struct_size; i++)
        if (b[i] != 0)
            return say(msg, cap, IRLLREC_E_VERSION, "irllrec_mpi_create: spec byte %zu is set: "
                       "a field this library does not know", i);
    memcpy(sp, in, in->struct_size < sizeof *sp ? in->struct_size : sizeof *sp);
    sp->struct_size = sizeof *sp;
    if (!(sp->timeout_s > 0.0 && sp->timeout_s <= 1e6))
        return say(msg, cap, IRLLREC_E_INVALID_ARG, "irllrec_mpi_create: timeout_s = %g "
                   "outside (0, 1e6]", sp->timeout_s);
    if (sp->expect_size < 0)
        return say(msg, cap, IRLLREC_E_INVALID_ARG, "irllrec_mpi_create: expect_size = %d "
                   "is negative", (int)sp->expect_size);
    return IRLLREC_OK;
}

/* The loud start: every rank's (rank, size, world rank) gathered. */
static irllrec_status agree(irllrec_mpi *m, char *msg, size_t cap)
{
    int world = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &world);
    int32_t mine[3] = {m->rank, m->size, world};
    int32_t *all = malloc((size_t)m->size * sizeof mine);
    if (all == NULL) return say(msg, cap, IRLLREC_E_NOMEM, "irllrec_mpi_create: out of memory");
    const int32_t rc = gather_all(m, mine, 3, sizeof(int32_t), "irllrec_mpi_create");
    if (rc == 0) memcpy(all, m->stage, (size_t)m->size * sizeof mine);
    irllrec_status st = IRLLREC_OK;
    if (rc != 0)
        st = say(msg, cap, IRLLREC_E_COMM, "irllrec_mpi_create: the start-up check failed: %s",
                 m->err);
    for (int q = 0; q < m->size && st == IRLLREC_OK; q++)
        if (all[3 * q] != q || all[3 * q + 1] != m->size)
            st = say(msg, cap, IRLLREC_E_INVALID_ARG, "irllrec_mpi_create: slot %d holds rank "
                     "%d of %d (this is rank %d of %d)", q, all[3 * q], all[3 * q + 1], m->rank,
                     m->size);
    free(all);
    return st;
}

static irllrec_status open_comm(irllrec_mpi *m, MPI_Comm comm, char *msg, size_t cap)
{
    int rc = MPI_Comm_dup(comm, &m->comm);
    if (rc != MPI_SUCCESS) {
        m->comm = MPI_COMM_NULL;
        return say(msg, cap, IRLLREC_E_COMM, "irllrec_mpi_create: MPI_Comm_dup failed (%d)", rc);
    }
    MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
    if (MPI_Comm_rank(m->comm, &m->rank) != MPI_SUCCESS ||
        MPI_Comm_size(m->comm, &m->size) != MPI_SUCCESS || m->size < 1 || m->rank < 0 ||
        m->rank >= m->size)
        return say(msg, cap, IRLLREC_E_COMM, "irllrec_mpi_create: MPI gives rank %d of %d",
                   m->rank, m->size);
    m->counts = calloc(4 * (size_t)m->size, sizeof(int));
    if (m->counts == NULL)
        return say(msg, cap, IRLLREC_E_NOMEM, "irllrec_mpi_create: out of memory");
    m->displs = m->counts + m->size;
    m->rcounts = m->displs + m->size;
    m->rdispls = m->rcounts + m->size;
    return IRLLREC_OK;
}

irllrec_status irllrec_mpi_create(MPI_Comm comm, const irllrec_mpi_spec *spec, irllrec_mpi **out,
                                  char *msg, size_t msg_cap)
{
    if (msg != NULL && msg_cap > 0) msg[0] = 0;
    if (out == NULL) return say(msg, msg_cap, IRLLREC_E_INVALID_ARG, "irllrec_mpi_create: out is NULL");
    *out = NULL;
    irllrec_mpi_spec sp;
    irllrec_status st = check_spec(spec, &sp, msg, msg_cap);
    if (st != IRLLREC_OK) return st;
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin)
        return say(msg, msg_cap, IRLLREC_E_STATE, "irllrec_mpi_create: MPI is %s",
                   fin ? "already finalised" : "not initialised (call MPI_Init first)");
    if (comm == MPI_COMM_NULL)
        return say(msg, msg_cap, IRLLREC_E_INVALID_ARG, "irllrec_mpi_create: comm is MPI_COMM_NULL");
    irllrec_mpi *m = calloc(1, sizeof *m);
    if (m == NULL) return say(msg, msg_cap, IRLLREC_E_NOMEM, "irllrec_mpi_create: out of memory");
    m->timeout_s = sp.timeout_s;
    st = open_comm(m, comm, msg, msg_cap);
    if (st == IRLLREC_OK && sp.expect_size != 0 && sp.expect_size != m->size)
        st = say(msg, msg_cap, IRLLREC_E_INVALID_ARG, "irllrec_mpi_create: %d ranks expected "
                 "but the communicator has %d (this is rank %d; was the program started "
                 "without mpirun -n %d?)", (int)sp.expect_size, m->size, m->rank,
                 (int)sp.expect_size);
    if (st == IRLLREC_OK) st = agree(m, msg, msg_cap);
    if (st != IRLLREC_OK) {
        irllrec_mpi_free(m);
        return st;
    }
    *out = m;
    return IRLLREC_OK;
}

void irllrec_mpi_free(irllrec_mpi *m)
{
    if (m == NULL) return;
    if (m->broken) return;  /* MPI may still write the buffers and read the arrays */
    if (m->comm != MPI_COMM_NULL) MPI_Comm_free(&m->comm);
    free(m->stage);
    free(m->counts);
    free(m);
}
