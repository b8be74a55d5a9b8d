/* The atomic file writer (lib/io/atomic.c) under the .npy and model writers:
 * a save replaces the target and cleans up after itself, commit allocates
 * nothing, an existing target keeps its mode and links are written through,
 * and stale temporaries of killed writers are removed. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "internal.h"
#include "io/atomic.h"
#include "helpers/testutil.h"
#include "helpers/iofx.h"

START_TEST(atomic_write_replaces_and_cleans_up)
{
    tu_alloc_state as = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&as);
    char *dir = tu_tmpdir(), path[4096], missing[4096];
    float src[4] = {1, 2, 3, 4}, dst[4];
    irllrec__atomic w;
    size_t len;
    unsigned char *b;
    const void *bufs[2] = {"abc", "defg"};
    const size_t lens[2] = {3, 4};
    int64_t base = as.live_bytes; /* the ctx itself */

    tu_join(path, sizeof path, dir, "m.npy");
    ck_assert_int_eq(tu_write_file(path, "old contents that are longer than the new file ........"
                                         "....................................................."
                                         "....................................................."),
                     0);
    ck_assert_int_eq(irllrec_npy_write(ctx, path, irllrec_mat_dense(src, 2, 2)), IRLLREC_OK);
    ck_assert_int_eq(tu_count_entries(dir), 1);
    ck_assert_int_eq(irllrec_npy_read(ctx, path, irllrec_mat_dense(dst, 2, 2), 0), IRLLREC_OK);
    ck_assert(memcmp(src, dst, sizeof src) == 0);
    b = tu_slurp(path, &len);
    ck_assert_uint_eq(len, 128 + 16);
    free(b);

    /* Missing directory: E_IO naming the path, nothing created. */
    tu_join(missing, sizeof missing, dir, "no/such/dir/x.npy");
    ck_assert_int_eq(irllrec_npy_write(ctx, missing, irllrec_mat_dense(src, 2, 2)), IRLLREC_E_IO);
    ck_assert_msg(iofx_has(ctx, missing) && iofx_has(ctx, "irllrec_npy_write: "), "%s",
                  irllrec_ctx_errmsg(ctx));
    ck_assert_int_eq(tu_count_entries(dir), 1);

    /* The target is a directory: rename fails at commit; the temp file goes. */
    tu_join(missing, sizeof missing, dir, "sub");
    ck_assert_int_eq(mkdir(missing, 0700), 0);
    ck_assert_int_eq(irllrec_npy_write(ctx, missing, irllrec_mat_dense(src, 2, 2)), IRLLREC_E_IO);
    ck_assert(iofx_has(ctx, "rename"));
    ck_assert_int_eq(tu_count_entries(dir), 2);
    ck_assert_int_eq(tu_count_entries(missing), 0);

    /* Abort leaves the old file untouched; the buffer-list form commits. */
    ck_assert_int_eq(irllrec__atomic_open(ctx, "t", path, &w), IRLLREC_OK);
    ck_assert_int_eq(tu_count_entries(dir), 3);
    ck_assert_int_eq(irllrec__atomic_write(&w, "xyz", 3), IRLLREC_OK);
    irllrec__atomic_abort(&w);
    irllrec__atomic_abort(&w);
    ck_assert_int_eq(tu_count_entries(dir), 2);
    ck_assert_int_eq(irllrec_npy_read(ctx, path, irllrec_mat_dense(dst, 2, 2), 0), IRLLREC_OK);
    ck_assert_int_eq(irllrec__atomic_write_file(ctx, "t", path, bufs, lens, 2), IRLLREC_OK);
    b = tu_slurp(path, &len);
    ck_assert_uint_eq(len, 7);
    ck_assert(memcmp(b, "abcdefg", 7) == 0);
    free(b);
    ck_assert_int_eq(tu_count_entries(dir), 2);

    /* Bad views are refused before anything is created. */
    ck_assert_int_eq(irllrec_npy_write(ctx, path, (irllrec_mat){src, 2, 2, 1}), IRLLREC_E_SHAPE);
    ck_assert_int_eq(irllrec_npy_write(ctx, "", irllrec_mat_dense(src, 2, 2)),
                     IRLLREC_E_INVALID_ARG);
    ck_assert_int_eq(tu_count_entries(dir), 2);
    ck_assert_int_eq(as.live_bytes, base);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

/* Commit allocates nothing: every allocation the writer needs happens in open,
 * before anything is on disk. So each injected allocation failure gives
 * E_NOMEM with the old target untouched and no temporary file, and the
 * directory fsync after the rename can no longer fail for lack of memory. */
START_TEST(atomic_commit_allocates_nothing)
{
    tu_alloc_state as = {0};
    irllrec_ctx *ctx = tu_ctx_counting(&as);
    char *dir = tu_tmpdir(), path[4096], bare[4096];
    irllrec__atomic w;
    int64_t base = as.live_bytes, before, k;
    const void *bufs[1] = {"new"};
    const size_t lens[1] = {3};
    size_t len;
    unsigned char *b;

    tu_join(path, sizeof path, dir, "f.bin");
    ck_assert_int_eq(tu_write_file(path, "old"), 0);
    ck_assert_int_eq(irllrec__atomic_open(ctx, "t", path, &w), IRLLREC_OK);
    ck_assert_int_eq(irllrec__atomic_write(&w, "abcd", 4), IRLLREC_OK);
    before = as.n_alloc;
    ck_assert_int_eq(irllrec__atomic_commit(&w), IRLLREC_OK);
    ck_assert_int_eq(as.n_alloc, before);
    irllrec__atomic_abort(&w);
    ck_assert_int_eq(as.live_bytes, base);
    b = tu_slurp(path, &len);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(b, "abcd", 4) == 0);
    free(b);

    for (k = 1;; k++) {
        as.fail_at = as.n_alloc + k;
        if (irllrec__atomic_write_file(ctx, "t", path, bufs, lens, 1) == IRLLREC_OK) break;
        ck_assert_int_eq(as.live_bytes, base);
        ck_assert_int_eq(tu_count_entries(dir), 1);
        b = tu_slurp(path, &len);
        ck_assert_msg(len == 4 && memcmp(b, "abcd", 4) == 0, "fail_at %lld changed the file",
                      (long long)k);
        free(b);
        ck_assert_int_lt(k, 10);
    }
    as.fail_at = 0;
    ck_assert_int_gt(k, 2); /* the temporary and the directory name */
    ck_assert_int_eq(tu_count_entries(dir), 1);
    b = tu_slurp(path, &len);
    ck_assert(len == 3 && memcmp(b, "new", 3) == 0);
    free(b);

    /* A bare file name syncs ".": run it from inside dir. */
    {
        char cwd[4096];
        ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
        ck_assert_int_eq(chdir(dir), 0);
        snprintf(bare, sizeof bare, "%s", "g.bin");
        ck_assert_int_eq(irllrec__atomic_write_file(ctx, "t", bare, bufs, lens, 1), IRLLREC_OK);
        ck_assert_int_eq(chdir(cwd), 0);
    }
    ck_assert_int_eq(tu_count_entries(dir), 2);
    ck_assert_int_eq(as.live_bytes, base);
    tu_tmpdir_free(dir);
    irllrec_ctx_free(ctx);
}
END_TEST

static void write_one(irllrec_ctx *ctx, const char *path, float v)
{
    ck_assert_int_eq(irllrec_npy_write(ctx, path, irllrec_mat_dense(&v, 1, 1)), IRLLREC_OK);
}

static float read_one(irllrec_ctx *ctx, const char *path)
{
    float v = 0.0f;
    ck_assert_int_eq(irllrec_npy_read(ctx, path, irllrec_mat_dense(&v, 1, 1), 0), IRLLREC_OK);
    return v;
}

/* Issue 17 item 15: an atomic save keeps an existing target's permission
 * bits (main made a 0600 file 0644) and writes through a symbolic link to
 * the file it names (main replaced the link with a regular file). Both the
 * .npy writer and the model writer, which share the atomic writer. */
START_TEST(atomic_keeps_mode_and_writes_through_links)
{
    irllrec_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir(), path[4096], link[4096], sub[4096], dangling[4096], buf[4096];
    struct stat sb;
    irllrec_model *m = NULL;
    mode_t old = umask(022);
    tu_join(path, sizeof path, dir, "secret.npy");
    write_one(ctx, path, 1.0f);
    ck_assert_int_eq(chmod(path, 0600), 0);
    write_one(ctx, path, 2.0f);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0600);
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(irllrec_model_create(ctx, &m), IRLLREC_OK);
    ck_assert_int_eq(irllrec_model_save(m, path), IRLLREC_OK);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0640);
    irllrec_model_free(m);
    /* A new file still follows the umask. */
    tu_join(path, sizeof path, dir, "new.npy");
    write_one(ctx, path, 1.0f);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0644);
    /* A relative link into a subdirectory: the link stays, its target changes
     * (and keeps its mode), the temporary lives next to the target. */
    tu_join(sub, sizeof sub, dir, "real");
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    tu_join(path, sizeof path, sub, "x.npy");
    write_one(ctx, path, 1.0f);
    ck_assert_int_eq(chmod(path, 0600), 0);
    tu_join(link, sizeof link, dir, "x.npy");
    ck_assert_int_eq(symlink("real/x.npy", link), 0);
    write_one(ctx, link, 5.0f);
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    ck_assert(read_one(ctx, path) == 5.0f);
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq(sb.st_mode & 07777, 0600);
    ck_assert_int_eq(tu_count_entries(sub), 1);
    /* A link to a link, and a dangling link (its target is created). */
    tu_join(buf, sizeof buf, dir, "y.npy");
    ck_assert_int_eq(symlink("x.npy", buf), 0);
    write_one(ctx, buf, 6.0f);
    ck_assert(read_one(ctx, path) == 6.0f);
    tu_join(dangling, sizeof dangling, dir, "d.npy");
    ck_assert_int_eq(symlink("real/d.npy", dangling), 0);
    write_one(ctx, dangling, 7.0f);
    ck_assert_int_eq(lstat(dangling, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    tu_join(buf, sizeof buf, sub, "d.npy");
    ck_assert(read_one(ctx, buf) == 7.0f);
    /* A loop of links is an error naming the path, not a hang. */
    tu_join(buf, sizeof buf, dir, "loop.npy");
    ck_assert_int_eq(symlink("loop.npy", buf), 0);
    ck_assert_int_eq(irllrec_npy_write(ctx, buf, irllrec_mat_dense((float[1]){1.0f}, 1, 1)),
                     IRLLREC_E_IO);
    ck_assert(iofx_has(ctx, "symbolic links"));
    umask(old);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

static void make_tmp(const char *dir, const char *name, time_t age)
{
    char p[4096];
    struct timespec t[2];
    tu_join(p, sizeof p, dir, name);
    ck_assert_int_eq(tu_write_file(p, "partial"), 0);
    if (age == 0) return;
    ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &t[0]), 0);
    t[0].tv_sec -= age;
    t[1] = t[0];
    ck_assert_int_eq(utimensat(AT_FDCWD, p, t, 0), 0);
}

static int exists_in(const char *dir, const char *name)
{
    char p[4096];
    struct stat sb;
    tu_join(p, sizeof p, dir, name);
    return lstat(p, &sb) == 0;
}

/* Issue 17 item 17: a save removes the temporaries of the same target that
 * killed writers left (dead pid, older than a minute), and nothing else:
 * not a live process's, not a fresh one, not another target's, not a name
 * of another shape. Main never removed any. */
START_TEST(atomic_removes_stale_temporaries)
{
    irllrec_ctx *ctx = tu_ctx();
    char *dir = tu_tmpdir(), path[4096], n[8][256];
    pid_t dead = fork();
    int ws;
    ck_assert_int_ge(dead, 0);
    if (dead == 0) _exit(0);
    ck_assert_int_eq(waitpid(dead, &ws, 0), dead);
    snprintf(n[0], sizeof n[0], "m.npy.tmp.%ld.0badf00d", (long)dead);      /* stale */
    snprintf(n[1], sizeof n[1], "m.npy.tmp.%ld.12345678", (long)dead);      /* stale */
    snprintf(n[2], sizeof n[2], "m.npy.tmp.%ld.cafe0000", (long)dead);      /* fresh */
    snprintf(n[3], sizeof n[3], "m.npy.tmp.%ld.deadbeef", (long)getpid()); /* alive */
    snprintf(n[4], sizeof n[4], "m.npy.tmp.%ld.deadbeef", (long)getppid()); /* alive */
    snprintf(n[5], sizeof n[5], "o.npy.tmp.%ld.deadbeef", (long)dead);      /* other target */
    snprintf(n[6], sizeof n[6], "m.npy.tmp.%ld.deadbeefx", (long)dead);     /* other shape */
    snprintf(n[7], sizeof n[7], "m.npy.tmp.%ld.DEADBEEF", (long)dead);      /* other shape */
    for (int i = 0; i < 8; i++) make_tmp(dir, n[i], i == 2 ? 0 : 3600);
    tu_join(path, sizeof path, dir, "m.npy");
    write_one(ctx, path, 1.0f);
    ck_assert(!exists_in(dir, n[0]));
    ck_assert(!exists_in(dir, n[1]));
    for (int i = 2; i < 8; i++) ck_assert_msg(exists_in(dir, n[i]), "%s was removed", n[i]);
    ck_assert_int_eq(tu_count_entries(dir), 7);
    irllrec_ctx_free(ctx);
    tu_tmpdir_free(dir);
}
END_TEST

Suite *atomic_suite(void)
{
    Suite *s = suite_create("atomic");
    TCase *tc = tcase_create("atomic");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, atomic_write_replaces_and_cleans_up);
    tcase_add_test(tc, atomic_commit_allocates_nothing);
    tcase_add_test(tc, atomic_keeps_mode_and_writes_through_links);
    tcase_add_test(tc, atomic_removes_stale_temporaries);
    suite_add_tcase(s, tc);
    return s;
}
