// The C++17 wrapper (include/irllrec/irllrec.hpp), compiled with -Wall -Wextra
// -Wpedantic -Werror and run by ctest (cxx_wrapper): results computed by hand
// from small embeddings, errors as irllrec::error with the library's status
// and message, moved-from handles, a save/load round trip, and the calls that
// need a hook (intents, explain, cold start, fold-in) against their definitions
// in serve.h. Exit 0 when every check passes.
#include <irllrec/irllrec.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <vector>

namespace {

// Handles: move-only, and neither destruction nor moves can throw.
template <class H> constexpr bool move_only_nothrow() {
    return std::is_nothrow_destructible_v<H> && std::is_nothrow_move_constructible_v<H> &&
           std::is_nothrow_move_assignable_v<H> && !std::is_copy_constructible_v<H> &&
           !std::is_copy_assignable_v<H>;
}
static_assert(move_only_nothrow<irllrec::context>(), "context");
static_assert(move_only_nothrow<irllrec::hook>(), "hook");
static_assert(move_only_nothrow<irllrec::recommender>(), "recommender");
static_assert(std::is_base_of_v<std::runtime_error, irllrec::error>, "error");
// A view of a temporary vector would dangle: it must not compile.
static_assert(!std::is_constructible_v<irllrec::cmat, std::vector<float> &&, int64_t, int64_t>,
              "cmat from an rvalue vector");

int failures = 0;

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) {                                                        \
            std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__,       \
                         __LINE__, #cond);                                    \
            ++failures;                                                       \
        }                                                                     \
    } while (0)

// f() must throw irllrec::error with @p status and a message containing @p part.
void expect_error(const std::function<void()> &f, irllrec_status status, const std::string &part,
                  int line) {
    try {
        f();
    } catch (const irllrec::error &e) {
        if (e.status() != status || std::string(e.what()).find(part) == std::string::npos) {
            std::fprintf(stderr, "line %d: got status %d \"%s\", want %d and \"%s\"\n", line,
                         e.status(), e.what(), status, part.c_str());
            ++failures;
        }
        return;
    }
    std::fprintf(stderr, "line %d: no irllrec::error thrown\n", line);
    ++failures;
}
#define EXPECT_ERROR(stmt, status, part) expect_error([&] { stmt; }, status, part, __LINE__)

// 3 users and 5 items in d = 2.
const std::vector<float> kUsers = {1, 0, 0, 1, 1, 1};
const std::vector<float> kItems = {1, 0, 0, 2, 3, 1, -1, 0, 0.5f, 0.5f};

float dot(const std::vector<float> &a, size_t ra, const std::vector<float> &b, size_t rb) {
    return a[2 * ra] * b[2 * rb] + a[2 * ra + 1] * b[2 * rb + 1];
}

void test_free_functions(irllrec::context &ctx) {
    irllrec::cmat U(kUsers, 3, 2), I(kItems, 5, 2);
    // User 1 scores items (0, 2, 1, 0, 0.5): 1, 2, 4, then the tie 0, 3 by the lower id.
    irllrec::topk t = irllrec::recommend(ctx, U, I, {1}, 5);
    const int32_t want[] = {1, 2, 4, 0, 3};
    CHECK(t.n == 1 && t.k == 5 && t.counts[0] == 5);
    for (int32_t j = 0; j < 5; ++j) {
        CHECK(t.id(0, j) == want[j]);
        CHECK(t.score(0, j) == dot(kUsers, 1, kItems, static_cast<size_t>(want[j])));
    }
    // allow / deny lists: only items 0, 3, 4 allowed, 4 denied -> 0, 3.
    irllrec::rank_options o;
    o.allow = std::vector<int32_t>{0, 3, 4};
    o.deny = {4};
    t = irllrec::recommend(ctx, U, I, {1}, 3, o);
    CHECK(t.counts[0] == 2 && t.id(0, 0) == 0 && t.id(0, 1) == 3 && t.id(0, 2) == -1);
    // rank() with query rows = the users gives the same as recommend.
    irllrec::topk r = irllrec::rank(ctx, U, I, 2);
    irllrec::topk q = irllrec::recommend(ctx, U, I, {0, 1, 2}, 2);
    CHECK(r.ids == q.ids && r.scores == q.scores);
    // similar: item 4 = (0.5, 0.5) is nearest by cosine to item 2 = (3, 1).
    t = irllrec::similar(ctx, I, {4}, 1);
    CHECK(t.id(0, 0) == 2);
    EXPECT_ERROR(irllrec::recommend(ctx, U, I, {0}, 0), IRLLREC_E_INVALID_ARG, "irllrec_recommend");
    EXPECT_ERROR(irllrec::cmat(kUsers, 4, 2), IRLLREC_E_SHAPE, "6 floats is not 4 x 2");
}

void test_recommender(irllrec::context &ctx, const std::string &dir) {
    irllrec::csr seen = irllrec::csr::from_rows({{2}, {}, {0, 2}}, 5);
    irllrec::recommender rec = irllrec::recommender::create(
        ctx, irllrec::cmat(kUsers, 3, 2), irllrec::cmat(kItems, 5, 2), &seen);
    // User 0 scores (1, 0, 3, -1, 0.5); item 2 is seen: 0, 4, 1.
    irllrec::topk t = rec.recommend({0}, 3);
    CHECK(t.id(0, 0) == 0 && t.id(0, 1) == 4 && t.id(0, 2) == 1);
    irllrec::rank_options all;
    all.include_seen = true;
    CHECK(rec.recommend({0}, 1, all).id(0, 0) == 2);
    irllrec_rec_info info = rec.info();
    CHECK(info.dim == 2 && info.n_users == 3 && info.n_items == 5 && info.has_seen == 1);
    EXPECT_ERROR(rec.recommend({0}, 0), IRLLREC_E_INVALID_ARG, "irllrec_rec_recommend");
    EXPECT_ERROR(rec.recommend({7}, 2), IRLLREC_E_INVALID_ARG, "7");
    EXPECT_ERROR(rec.intents(irllrec::side::users, {0}), IRLLREC_E_STATE, "irllrec_rec_");

    // Fold-in: items 0 and 1 have directions (1, 0) and (0, 1), so the user is
    // (1, 1) / sqrt 2 at the users' mean norm (1 + 1 + sqrt 2) / 3.
    std::vector<float> f = rec.fold_in({0, 1});
    double s = (2.0 + std::sqrt(2.0)) / 3.0 / std::sqrt(2.0);
    CHECK(f.size() == 2 && std::fabs(f[0] - s) < 1e-5 && std::fabs(f[1] - s) < 1e-5);
    int32_t id = rec.add_user({0, 1});
    CHECK(id == 3 && rec.info().n_users == 4);
    CHECK(rec.recommend({3}, 1).id(0, 0) == 2);  // 0 and 1 are its seen items

    std::string path = dir + "/rec.irlm";
    rec.save(path);
    irllrec::recommender back = irllrec::recommender::load(ctx, path);
    CHECK(back.recommend({0, 1, 2, 3}, 4).ids == rec.recommend({0, 1, 2, 3}, 4).ids);
    irllrec::cmat e = back.embeddings(irllrec::side::users);
    CHECK(e.rows == 4 && e.cols == 2 && std::fabs(e.data[e.ld * 3] - f[0]) < 1e-6);
    EXPECT_ERROR(irllrec::recommender::load(ctx, dir + "/missing.irlm"), IRLLREC_E_IO,
                 "missing.irlm");

    // Moved-from handles: destroyable, assignable, and every call throws.
    irllrec::recommender moved = std::move(rec);
    CHECK(!rec && moved);
    EXPECT_ERROR(rec.recommend({0}, 1), IRLLREC_E_STATE, "irllrec::recommender::recommend");
    EXPECT_ERROR(rec.save(path), IRLLREC_E_STATE, "empty handle");
    rec = std::move(back);  // assigning into a moved-from handle
    CHECK(rec && !back && rec.recommend({0}, 1).id(0, 0) == 0);
    moved = irllrec::recommender();  // frees the old one
    CHECK(!moved);
    std::remove(path.c_str());
}

// A graph-free hook with text (not trained: create, text, nothing else).
irllrec::hook make_hook(irllrec::context &ctx, int32_t D) {
    irllrec_hook_spec spec = irllrec::hook::default_spec();
    spec.n_users = 3;
    spec.n_items = 5;
    spec.dim = 2;
    spec.n_intents = 4;
    spec.n_layers = 0;
    spec.max_batch = 4;
    spec.profile_dim = D;
    spec.intent_dim = D;
    irllrec::hook h(ctx, spec);
    std::vector<float> tu(3 * static_cast<size_t>(D)), ti(5 * static_cast<size_t>(D));
    for (size_t j = 0; j < tu.size(); ++j) tu[j] = std::sin(0.7f * static_cast<float>(j) + 0.1f);
    for (size_t j = 0; j < ti.size(); ++j) ti[j] = std::cos(0.3f * static_cast<float>(j) + 0.2f);
    h.set_text(IRLLREC_HOOK_USER_PROFILE, irllrec::cmat(tu, 3, D));
    h.set_text(IRLLREC_HOOK_ITEM_PROFILE, irllrec::cmat(ti, 5, D));
    h.set_text(IRLLREC_HOOK_USER_INTENT, irllrec::cmat(tu, 3, D));
    h.set_text(IRLLREC_HOOK_ITEM_INTENT, irllrec::cmat(ti, 5, D));
    return h;
}

void test_with_hook(irllrec::context &ctx) {
    const int32_t D = 6;
    irllrec::hook h = make_hook(ctx, D);
    EXPECT_ERROR(h.set_param("no_such_param", 1.0), IRLLREC_E_INVALID_ARG, "no_such_param");
    h.set_param("w_kd", 0.5);
    CHECK(h.get_param("w_kd") == 0.5);
    irllrec::recommender rec = irllrec::recommender::create(
        ctx, irllrec::cmat(kUsers, 3, 2), irllrec::cmat(kItems, 5, 2), nullptr, &h);
    CHECK(rec.info().n_intents == 4);
    std::vector<float> p = rec.intents(irllrec::side::items, {0, 4});
    CHECK(p.size() == 8);
    for (int r = 0; r < 2; ++r) {
        double sum = 0.0;
        for (int k = 0; k < 4; ++k) sum += p[static_cast<size_t>(4 * r + k)];
        CHECK(std::fabs(sum - 1.0) < 1e-5);
    }
    // All K listed: the contributions and the residual add up to the score.
    irllrec::explanation x = rec.explain(2, 2, 4);
    double total = x.residual;
    for (double c : x.contribution) total += c;
    CHECK(x.intents.size() == 4 && std::fabs(x.score - 4.0) < 1e-6);
    CHECK(std::fabs(total - x.score) < 1e-5);
    CHECK(x.shared[0] >= x.shared[1] && x.shared[1] >= x.shared[2]);
    EXPECT_ERROR(rec.explain(0, 9, 2), IRLLREC_E_INVALID_ARG, "9");
    // Exemplars: 5 items have intent text, so asking for 7 leaves 2 slots empty.
    irllrec::topk ex = rec.intent_exemplars(irllrec::side::items, 7);
    CHECK(ex.n == 4 && ex.k == 7 && ex.ids.size() == 28);
    for (int64_t k = 0; k < 4; ++k) {
        CHECK(ex.counts[static_cast<size_t>(k)] == 5 && ex.id(k, 5) == -1 && ex.id(k, 6) == -1);
        for (int32_t j = 0; j + 1 < 5; ++j) CHECK(ex.score(k, j) >= ex.score(k, j + 1));
    }
    // Cold start: a profile-only item lands at the items' mean norm.
    std::vector<float> prf(static_cast<size_t>(D), 0.25f);
    std::vector<float> e = rec.embed_text(irllrec::side::items, irllrec::cmat(prf, 1, D));
    double mean = (1.0 + 2.0 + std::sqrt(10.0) + 1.0 + std::sqrt(0.5)) / 5.0;
    CHECK(e.size() == 2 && std::fabs(std::hypot(e[0], e[1]) - mean) < 1e-4);
    int32_t first = rec.add_from_text(irllrec::side::items, irllrec::cmat(prf, 1, D));
    CHECK(first == 5 && rec.info().n_items == 6);
    irllrec::cmat items = rec.embeddings(irllrec::side::items);
    CHECK(items.data[items.ld * 5] == e[0] && items.data[items.ld * 5 + 1] == e[1]);
    EXPECT_ERROR(rec.embed_text(irllrec::side::items, irllrec::cmat(prf, 2, 3)),
                 IRLLREC_E_SHAPE, "irllrec_rec_embed_text");

    irllrec::hook moved = std::move(h);
    EXPECT_ERROR(h.set_param("w_kd", 1.0), IRLLREC_E_STATE, "irllrec::hook::set_param");
    EXPECT_ERROR(irllrec::recommender::create(ctx, irllrec::cmat(kUsers, 3, 2),
                                              irllrec::cmat(kItems, 5, 2), nullptr, &h),
                 IRLLREC_E_STATE, "the hook is empty");
    CHECK(moved.get_param("w_kd") == 0.5);
}

}  // namespace

int main() {
    char tmpl[] = "/tmp/irllrec_cxx.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    try {
        irllrec::context ctx;
        test_free_functions(ctx);
        test_recommender(ctx, tmpl);
        test_with_hook(ctx);
        irllrec::context other = std::move(ctx);
        CHECK(!ctx && other);
        EXPECT_ERROR(irllrec::rank(ctx, irllrec::cmat(), irllrec::cmat(), 1), IRLLREC_E_STATE,
                     "irllrec::rank");
        EXPECT_ERROR(irllrec::context(0), IRLLREC_E_INVALID_ARG, "irllrec_ctx_create");
    } catch (const irllrec::error &e) {
        std::fprintf(stderr, "unexpected irllrec::error %d: %s\n", e.status(), e.what());
        ++failures;
    }
    rmdir(tmpl);
    if (failures != 0) {
        std::fprintf(stderr, "cxx_wrapper: %d check(s) failed\n", failures);
        return 1;
    }
    std::printf("cxx_wrapper: all checks passed\n");
    return 0;
}
