/** @file
 * libirllrec: a header-only C++17 wrapper of the C API for C++ recommenders.
 *
 * Everything here is inline over the C functions of irllrec.h, rank.h and
 * serve.h; nothing is compiled into the library and the ABI is still the C
 * one (link libirllrec.so or libirllrec.a as a C program does).
 *
 * - Errors are exceptions: a failing call throws irllrec::error, a
 *   std::runtime_error carrying the irllrec_status (status()) and the
 *   context's message (what(), "<C function>: <what is wrong>"). The wrapper's
 *   own checks (a moved-from handle, a vector whose size disagrees with the
 *   view's shape) throw the same type, with a message naming the C++ call.
 * - Handles (context, hook, recommender) are RAII and move-only; a moved-from
 *   or default-constructed handle may be destroyed, assigned to or tested with
 *   operator bool, and any other call on it throws irllrec::error
 *   (IRLLREC_E_STATE). Destructors never throw.
 * - cmat is a non-owning view (pointer, rows, cols, ld) of row-major float32
 *   data, converted to irllrec_cmat; it does not keep the data alive.
 * - Results come back as owning vectors (topk, explanation).
 * - A hook or recommender reports its errors through the context it was made
 *   from, which must outlive it. One context tree per thread at a time, as in C.
 */
#ifndef IRLLREC_IRLLREC_HPP
#define IRLLREC_IRLLREC_HPP

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "irllrec.h"
#include "rank.h"
#include "serve.h"

namespace irllrec {

/** A failed libirllrec call: the status code and the context's message. */
class error : public std::runtime_error {
public:
    error(irllrec_status status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    /** The irllrec_status the call returned (a negative IRLLREC_E_* value). */
    irllrec_status status() const noexcept { return status_; }
    /** irllrec_status_str() of the status, e.g. "invalid argument". */
    const char *status_name() const noexcept { return irllrec_status_str(status_); }

private:
    irllrec_status status_;
};

namespace detail {

/** Throw irllrec::error for a failing status, with the message @p ctx holds
 *  (cleared before the call, so it is never stale) or, without one, the
 *  C function's name and the status text. */
inline void check(const irllrec_ctx *ctx, irllrec_status st, const char *fn) {
    if (st == IRLLREC_OK) return;
    std::string msg;
    if (ctx != nullptr && irllrec_ctx_errcode(ctx) != IRLLREC_OK) msg = irllrec_ctx_errmsg(ctx);
    if (msg.empty()) msg = std::string(fn) + ": " + irllrec_status_str(st);
    throw error(st, msg);
}

inline void clear(irllrec_ctx *ctx) noexcept {
    if (ctx != nullptr) irllrec_ctx_clear_error(ctx);
}

/** A count of a std::vector as the int64_t the C API takes. */
template <class T> inline int64_t count(const std::vector<T> &v) noexcept {
    return static_cast<int64_t>(v.size());
}

}  // namespace detail

/** Non-owning read-only view of a row-major float32 matrix (irllrec_cmat). */
struct cmat {
    const float *data = nullptr;  ///< first element (borrowed)
    int64_t rows = 0;             ///< rows (0: an absent matrix where the API allows one)
    int64_t cols = 0;             ///< columns
    int64_t ld = 0;               ///< floats between rows (>= cols)

    cmat() = default;
    /** A view of @p rows x @p cols floats at @p data, @p ld apart (0: ld = cols). */
    cmat(const float *d, int64_t r, int64_t c, int64_t l = 0) noexcept
        : data(d), rows(r), cols(c), ld(l != 0 ? l : c) {}
    /** A dense view of a vector holding exactly @p r x @p c floats; throws
     *  irllrec::error (IRLLREC_E_SHAPE) when its size differs. */
    cmat(const std::vector<float> &v, int64_t r, int64_t c) : cmat(v.data(), r, c) {
        if (r < 0 || c < 0 || static_cast<uint64_t>(r) * static_cast<uint64_t>(c) != v.size())
            throw error(IRLLREC_E_SHAPE, "irllrec::cmat: a vector of " + std::to_string(v.size()) +
                                             " floats is not " + std::to_string(r) + " x " +
                                             std::to_string(c));
    }
    /** A view of a temporary would dangle: refused at compile time. */
    cmat(std::vector<float> &&, int64_t, int64_t) = delete;
    /** The C view (same pointer, shape and ld). */
    irllrec_cmat c() const noexcept { return irllrec_cmat{data, rows, cols, ld}; }
};

/** Side of a node (enum irllrec_side). */
enum class side : int32_t { users = IRLLREC_USERS, items = IRLLREC_ITEMS };

/** An owning CSR pattern (rows of sorted column ids), viewed as irllrec_csr. */
struct csr {
    int64_t n_rows = 0;            ///< rows
    int64_t n_cols = 0;            ///< every index is in [0, n_cols)
    std::vector<int64_t> indptr;   ///< n_rows + 1 offsets
    std::vector<int32_t> indices;  ///< indptr.back() column ids

    /** The pattern of @p rows (each row's ids are sorted and deduplicated;
     *  the ids are checked by the library when the pattern is used). */
    static csr from_rows(const std::vector<std::vector<int32_t>> &rows, int64_t n_cols) {
        csr m;
        m.n_rows = detail::count(rows);
        m.n_cols = n_cols;
        m.indptr.push_back(0);
        for (const auto &r : rows) {
            std::vector<int32_t> s(r);
            std::sort(s.begin(), s.end());
            s.erase(std::unique(s.begin(), s.end()), s.end());
            m.indices.insert(m.indices.end(), s.begin(), s.end());
            m.indptr.push_back(detail::count(m.indices));
        }
        return m;
    }
    /** The C view; valid while this object lives unchanged. */
    irllrec_csr c() const noexcept {
        return irllrec_csr{n_rows, n_cols, indptr.empty() ? 0 : indptr.back(), indptr.data(),
                           indices.data()};
    }
};

/** Options of a ranking call (irllrec_rank_opts); copied into the call. */
struct rank_options {
    bool cosine = false;                        ///< IRLLREC_RANK_COSINE
    bool include_seen = false;                  ///< IRLLREC_RANK_INCLUDE_SEEN
    const csr *seen = nullptr;                  ///< candidates to exclude per query row
    std::optional<std::vector<int32_t>> allow;  ///< if set: only these candidates
    std::vector<int32_t> deny;                  ///< never these candidates
};

namespace detail {

/** The C options of a rank_options, alive for one call. */
class c_options {
public:
    explicit c_options(const rank_options &o) noexcept {
        irllrec_rank_opts_init(&opts_, sizeof opts_);
        opts_.flags = (o.cosine ? uint32_t{IRLLREC_RANK_COSINE} : 0u) |
                      (o.include_seen ? uint32_t{IRLLREC_RANK_INCLUDE_SEEN} : 0u);
        if (o.seen != nullptr) {
            seen_ = o.seen->c();
            opts_.seen = &seen_;
        }
        if (o.allow) {
            opts_.allow = o.allow->empty() ? &none_ : o.allow->data();
            opts_.n_allow = count(*o.allow);
        }
        opts_.deny = o.deny.empty() ? nullptr : o.deny.data();
        opts_.n_deny = count(o.deny);
    }
    c_options(const c_options &) = delete;
    c_options &operator=(const c_options &) = delete;
    const irllrec_rank_opts *get() const noexcept { return &opts_; }

private:
    irllrec_rank_opts opts_{};
    irllrec_csr seen_{};
    int32_t none_ = 0;  // a non-NULL allow list of length 0: nothing allowed
};

}  // namespace detail

/** Top-K results of n queries: row q is ids[q*k .. q*k + counts[q]). */
struct topk {
    int64_t n = 0;                ///< queries
    int32_t k = 0;                ///< slots per query
    std::vector<int32_t> ids;     ///< n x k, best first; -1 past a query's count
    std::vector<float> scores;    ///< n x k; 0 past a query's count
    std::vector<int32_t> counts;  ///< n results per query (<= k)

    /** j-th id of query q. */
    int32_t id(int64_t q, int32_t j) const { return ids.at(static_cast<size_t>(q * k + j)); }
    /** j-th score of query q. */
    float score(int64_t q, int32_t j) const {
        return scores.at(static_cast<size_t>(q * k + j));
    }

    /** Buffers for n queries of k (at least one slot, so a bad k reaches the
     *  library, which refuses it and writes nothing). */
    static topk sized(int64_t n, int32_t k) {
        topk t;
        t.n = n;
        t.k = k;
        size_t slots = n > 0 && k > 0 ? static_cast<size_t>(n) * static_cast<size_t>(k) : 1;
        t.ids.assign(slots, -1);
        t.scores.assign(slots, 0.0f);
        t.counts.assign(n > 0 ? static_cast<size_t>(n) : 1, 0);
        return t;
    }
};

/** irllrec_ctx: allocator, threads, the error message of the last failure. */
class context {
public:
    /** A context with @p n_threads worker threads and the default allocator. */
    explicit context(int32_t n_threads = 1) {
        irllrec_ctx_spec spec;
        irllrec_ctx_spec_init(&spec, sizeof spec);
        spec.n_threads = n_threads;
        create(spec);
    }
    /** A context from a full spec (allocator, log callback, ...). */
    explicit context(const irllrec_ctx_spec &spec) { create(spec); }
    ~context() { irllrec_ctx_free(ctx_); }
    context(context &&o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)) {}
    context &operator=(context &&o) noexcept {
        if (this != &o) {
            irllrec_ctx_free(ctx_);
            ctx_ = std::exchange(o.ctx_, nullptr);
        }
        return *this;
    }
    context(const context &) = delete;
    context &operator=(const context &) = delete;

    /** The C handle (NULL when moved from). */
    irllrec_ctx *get() const noexcept { return ctx_; }
    explicit operator bool() const noexcept { return ctx_ != nullptr; }
    /** The C handle, or irllrec::error (IRLLREC_E_STATE) naming @p fn when empty. */
    irllrec_ctx *live(const char *fn) const {
        if (ctx_ == nullptr)
            throw error(IRLLREC_E_STATE, std::string(fn) + ": the context is empty (moved from)");
        return ctx_;
    }
    /** irllrec_ctx_errmsg(): the last failure's message ("" when none or empty). */
    std::string errmsg() const { return ctx_ != nullptr ? irllrec_ctx_errmsg(ctx_) : ""; }

private:
    void create(const irllrec_ctx_spec &spec) {
        // irllrec_ctx_create reports by its status only: there is no context yet.
        detail::check(nullptr, irllrec_ctx_create(&spec, &ctx_), "irllrec_ctx_create");
    }
    irllrec_ctx *ctx_ = nullptr;
};

/** Base of the handles made from a context: the C pointer, the context's
 *  pointer for messages, move-only, freed by F. */
template <class T, void (*F)(T *)> class handle {
public:
    handle() noexcept = default;
    ~handle() { F(h_); }
    handle(handle &&o) noexcept
        : h_(std::exchange(o.h_, nullptr)), ctx_(std::exchange(o.ctx_, nullptr)) {}
    handle &operator=(handle &&o) noexcept {
        if (this != &o) {
            F(h_);
            h_ = std::exchange(o.h_, nullptr);
            ctx_ = std::exchange(o.ctx_, nullptr);
        }
        return *this;
    }
    handle(const handle &) = delete;
    handle &operator=(const handle &) = delete;

    /** The C handle (NULL when empty). */
    T *get() const noexcept { return h_; }
    explicit operator bool() const noexcept { return h_ != nullptr; }

protected:
    handle(T *h, irllrec_ctx *ctx) noexcept : h_(h), ctx_(ctx) {}
    /** The C handle with the context's error cleared, or irllrec::error
     *  (IRLLREC_E_STATE) naming @p fn for an empty handle. */
    T *live(const char *fn) const {
        if (h_ == nullptr)
            throw error(IRLLREC_E_STATE,
                        std::string(fn) + ": empty handle (moved from or default-constructed)");
        detail::clear(ctx_);
        return h_;
    }
    void check(irllrec_status st, const char *fn) const { detail::check(ctx_, st, fn); }
    irllrec_ctx *ctx() const noexcept { return ctx_; }

private:
    T *h_ = nullptr;
    irllrec_ctx *ctx_ = nullptr;
};

/** irllrec_hook, thin: create, text, graph, parameters (training stays in C:
 *  irllrec_hook_step(get(), ...)). */
class hook : public handle<irllrec_hook, irllrec_hook_free> {
public:
    hook() noexcept = default;
    /** The spec with the library's defaults (irllrec_hook_spec_init). */
    static irllrec_hook_spec default_spec() noexcept {
        irllrec_hook_spec s;
        irllrec_hook_spec_init(&s, sizeof s);
        return s;
    }
    /** irllrec_hook_create. */
    hook(context &ctx, const irllrec_hook_spec &spec) : handle(nullptr, nullptr) {
        irllrec_ctx *c = ctx.live("irllrec::hook");
        detail::clear(c);
        irllrec_hook *h = nullptr;
        detail::check(c, irllrec_hook_create(c, &spec, &h), "irllrec_hook_create");
        *this = hook(h, c);
    }
    /** irllrec_hook_set_text (copied); @p which is enum irllrec_hook_text. */
    void set_text(int32_t which, cmat m) {
        check(irllrec_hook_set_text(live("irllrec::hook::set_text"), which, m.c()),
              "irllrec_hook_set_text");
    }
    /** irllrec_hook_set_graph: the N x N pattern, both directions (copied). */
    void set_graph(const csr &adj) {
        irllrec_csr a = adj.c();
        check(irllrec_hook_set_graph(live("irllrec::hook::set_graph"), &a),
              "irllrec_hook_set_graph");
    }
    /** irllrec_hook_set_param_by_name. */
    void set_param(const std::string &name, double v) {
        check(irllrec_hook_set_param_by_name(live("irllrec::hook::set_param"), name.c_str(), v),
              "irllrec_hook_set_param_by_name");
    }
    /** irllrec_hook_get_param_by_name. */
    double get_param(const std::string &name) const {
        double v = 0.0;
        check(irllrec_hook_get_param_by_name(live("irllrec::hook::get_param"), name.c_str(), &v),
              "irllrec_hook_get_param_by_name");
        return v;
    }

private:
    hook(irllrec_hook *h, irllrec_ctx *c) noexcept : handle(h, c) {}
};

/** The explanation of one (user, item) score (irllrec_rec_explain). */
struct explanation {
    double score = 0.0;                 ///< <e_u, e_i>
    double residual = 0.0;              ///< score - the sum of all K contributions
    std::vector<int32_t> intents;       ///< shared intents, best first
    std::vector<double> shared;         ///< p_uk q_ik of each listed intent
    std::vector<double> contribution;   ///< contribution_k of each listed intent
};

/** Top-K candidates for each query row (irllrec_rank). */
inline topk rank(context &ctx, cmat queries, cmat candidates, int32_t k,
                 const rank_options &opts = {}) {
    irllrec_ctx *c = ctx.live("irllrec::rank");
    topk t = topk::sized(queries.rows, k);
    detail::c_options o(opts);
    detail::clear(c);
    detail::check(c, irllrec_rank(c, queries.c(), candidates.c(), k, o.get(), t.ids.data(),
                                  t.scores.data(), t.counts.data()),
                  "irllrec_rank");
    return t;
}

/** Top-K items for users given by id (irllrec_recommend). */
inline topk recommend(context &ctx, cmat user_emb, cmat item_emb,
                      const std::vector<int32_t> &users, int32_t k,
                      const rank_options &opts = {}) {
    irllrec_ctx *c = ctx.live("irllrec::recommend");
    topk t = topk::sized(detail::count(users), k);
    detail::c_options o(opts);
    detail::clear(c);
    detail::check(c, irllrec_recommend(c, user_emb.c(), item_emb.c(), users.data(),
                                       detail::count(users), k, o.get(), t.ids.data(),
                                       t.scores.data(), t.counts.data()),
                  "irllrec_recommend");
    return t;
}

/** Nearest rows of @p emb to its rows @p rows by cosine (irllrec_similar). */
inline topk similar(context &ctx, cmat emb, const std::vector<int32_t> &rows, int32_t k,
                    const rank_options &opts = {}) {
    irllrec_ctx *c = ctx.live("irllrec::similar");
    topk t = topk::sized(detail::count(rows), k);
    detail::c_options o(opts);
    detail::clear(c);
    detail::check(c, irllrec_similar(c, emb.c(), rows.data(), detail::count(rows), k, o.get(),
                                     t.ids.data(), t.scores.data(), t.counts.data()),
                  "irllrec_similar");
    return t;
}

/** DIR/NAME.npy and DIR/NAME.ids.tsv (irllrec_export_embeddings); @p ids
 *  empty: the row numbers. */
inline void export_embeddings(context &ctx, const std::string &dir, const std::string &name,
                              cmat emb, const std::vector<int64_t> &ids = {}) {
    irllrec_ctx *c = ctx.live("irllrec::export_embeddings");
    detail::clear(c);
    detail::check(c, irllrec_export_embeddings(c, dir.c_str(), name.c_str(), emb.c(),
                                               ids.empty() ? nullptr : ids.data()),
                  "irllrec_export_embeddings");
}

/** irllrec_rec: a trained recommender (serve.h). One thread at a time, const
 *  calls included (they record errors in the context); to serve from several
 *  threads, load the model once per thread, each in its own context. */
class recommender : public handle<irllrec_rec, irllrec_rec_free> {
public:
    recommender() noexcept = default;

    /** irllrec_rec_load: a file written by save(). */
    static recommender load(context &ctx, const std::string &path) {
        irllrec_ctx *c = ctx.live("irllrec::recommender::load");
        irllrec_rec *r = nullptr;
        detail::clear(c);
        detail::check(c, irllrec_rec_load(c, path.c_str(), &r), "irllrec_rec_load");
        return recommender(r, c);
    }

    /** irllrec_rec_create: copies the embeddings, @p seen (U x I TRAIN items or
     *  NULL), what it needs of @p h (or NULL: no intents) and @p layers (with a
     *  graph hook: the L per-layer views E(0..L-1) its steps read, or none). */
    static recommender create(context &ctx, cmat user_emb, cmat item_emb,
                              const csr *seen = nullptr, const hook *h = nullptr,
                              const std::vector<cmat> &layers = {}) {
        irllrec_ctx *c = ctx.live("irllrec::recommender::create");
        irllrec_rec_spec spec;
        irllrec_rec_spec_init(&spec, sizeof spec);
        spec.user_emb = user_emb.c();
        spec.item_emb = item_emb.c();
        irllrec_csr s{};
        if (seen != nullptr) {
            s = seen->c();
            spec.seen = &s;
        }
        if (h != nullptr && !*h)
            throw error(IRLLREC_E_STATE, "irllrec::recommender::create: the hook is empty "
                                         "(moved from or default-constructed)");
        spec.hook = h != nullptr ? h->get() : nullptr;
        std::vector<irllrec_cmat> lay;
        for (const cmat &m : layers) lay.push_back(m.c());
        spec.layers = lay.empty() ? nullptr : lay.data();
        irllrec_rec *r = nullptr;
        detail::clear(c);
        detail::check(c, irllrec_rec_create(c, &spec, &r), "irllrec_rec_create");
        return recommender(r, c);
    }

    /** irllrec_rec_save (atomic). */
    void save(const std::string &path) const {
        check(irllrec_rec_save(live("irllrec::recommender::save"), path.c_str()),
              "irllrec_rec_save");
    }

    /** irllrec_rec_get_info: d, U, I, K, the text dimensions. */
    irllrec_rec_info info() const {
        irllrec_rec_info i{};
        i.struct_size = sizeof i;
        check(irllrec_rec_get_info(live("irllrec::recommender::info"), &i),
              "irllrec_rec_get_info");
        return i;
    }

    /** The stored embeddings of one side: a view valid until the next add or
     *  the recommender's end. */
    cmat embeddings(side s) const {
        irllrec_cmat m{};
        check(irllrec_rec_embeddings(live("irllrec::recommender::embeddings"),
                                     static_cast<int32_t>(s), &m),
              "irllrec_rec_embeddings");
        return cmat(m.data, m.rows, m.cols, m.ld);
    }

    /** Top-K items for @p users, their seen items excluded unless
     *  opts.include_seen (irllrec_rec_recommend). */
    topk recommend(const std::vector<int32_t> &users, int32_t k,
                   const rank_options &opts = {}) const {
        topk t = topk::sized(detail::count(users), k);
        detail::c_options o(opts);
        check(irllrec_rec_recommend(live("irllrec::recommender::recommend"), users.data(),
                                    detail::count(users), k, o.get(), t.ids.data(),
                                    t.scores.data(), t.counts.data()),
              "irllrec_rec_recommend");
        return t;
    }

    /** Nearest users or items by cosine (irllrec_rec_similar). */
    topk similar(side s, const std::vector<int32_t> &ids, int32_t k,
                 const rank_options &opts = {}) const {
        topk t = topk::sized(detail::count(ids), k);
        detail::c_options o(opts);
        check(irllrec_rec_similar(live("irllrec::recommender::similar"),
                                  static_cast<int32_t>(s), ids.data(), detail::count(ids), k,
                                  o.get(), t.ids.data(), t.scores.data(), t.counts.data()),
              "irllrec_rec_similar");
        return t;
    }

    /** Intent distributions: ids.size() x K probabilities, row-major. */
    std::vector<float> intents(side s, const std::vector<int32_t> &ids) const {
        const irllrec_rec *r = live("irllrec::recommender::intents");
        size_t K = static_cast<size_t>(std::max<int32_t>(info().n_intents, 1));
        std::vector<float> p(std::max<size_t>(ids.size(), 1) * K);
        check(irllrec_rec_intents(r, static_cast<int32_t>(s), ids.data(), detail::count(ids),
                                  p.data()),
              "irllrec_rec_intents");
        p.resize(ids.size() * K);
        return p;
    }

    /** Why @p item scores as it does for @p user: the @p top shared intents. */
    explanation explain(int32_t user, int32_t item, int32_t top) const {
        const irllrec_rec *r = live("irllrec::recommender::explain");
        size_t n = static_cast<size_t>(std::max<int32_t>(top, 1));
        explanation e;
        e.intents.assign(n, -1);
        e.shared.assign(n, 0.0);
        e.contribution.assign(n, 0.0);
        irllrec_explanation x{};
        x.struct_size = sizeof x;
        x.intents = e.intents.data();
        x.shared = e.shared.data();
        x.contribution = e.contribution.data();
        check(irllrec_rec_explain(r, user, item, top, &x), "irllrec_rec_explain");
        size_t listed = static_cast<size_t>(std::max<int32_t>(x.n, 0));
        e.intents.resize(listed);
        e.shared.resize(listed);
        e.contribution.resize(listed);
        e.score = x.score;
        e.residual = x.residual;
        return e;
    }

    /** For each of the K prototypes of @p s, the @p top nodes nearest to it
     *  through the text tower (n = K rows of k = top; -1 past a row's count,
     *  when fewer nodes have intent text). */
    topk intent_exemplars(side s, int32_t top) const {
        const irllrec_rec *r = live("irllrec::recommender::intent_exemplars");
        topk t = topk::sized(std::max<int32_t>(info().n_intents, 1), top);
        check(irllrec_rec_intent_exemplars(r, static_cast<int32_t>(s), top, t.ids.data(),
                                           t.scores.data()),
              "irllrec_rec_intent_exemplars");
        for (int64_t q = 0; q < t.n; ++q)
            t.counts[static_cast<size_t>(q)] = static_cast<int32_t>(
                std::count_if(t.ids.begin() + q * top, t.ids.begin() + (q + 1) * top,
                              [](int32_t id) { return id >= 0; }));
        return t;
    }

    /** Cold-start embeddings (n x d, row-major) of text-only nodes, not added;
     *  pass cmat() for the text a node does not have. */
    std::vector<float> embed_text(side s, cmat profile, cmat intent = cmat()) const {
        const irllrec_rec *r = live("irllrec::recommender::embed_text");
        int64_t n = std::max(profile.rows, intent.rows), d = info().dim;
        std::vector<float> out(static_cast<size_t>(std::max<int64_t>(n, 1) * d));
        check(irllrec_rec_embed_text(r, static_cast<int32_t>(s), profile.c(), intent.c(),
                                     irllrec_mat{out.data(), n, d, d}),
              "irllrec_rec_embed_text");
        out.resize(static_cast<size_t>(n * d));
        return out;
    }

    /** Add text-only nodes; returns the first new id. */
    int32_t add_from_text(side s, cmat profile, cmat intent = cmat()) {
        int32_t first = -1;
        check(irllrec_rec_add_from_text(live("irllrec::recommender::add_from_text"),
                                        static_cast<int32_t>(s), profile.c(), intent.c(), &first),
              "irllrec_rec_add_from_text");
        return first;
    }

    /** A user embedding (d floats) from a few interactions (fold-in). */
    std::vector<float> fold_in(const std::vector<int32_t> &items) const {
        const irllrec_rec *r = live("irllrec::recommender::fold_in");
        std::vector<float> out(static_cast<size_t>(info().dim));
        check(irllrec_rec_fold_in(r, items.data(), detail::count(items), out.data()),
              "irllrec_rec_fold_in");
        return out;
    }

    /** Add a user from interactions (fold-in); returns the new user's id. */
    int32_t add_user(const std::vector<int32_t> &items) {
        int32_t id = -1;
        check(irllrec_rec_add_user(live("irllrec::recommender::add_user"), items.data(),
                                   detail::count(items), &id),
              "irllrec_rec_add_user");
        return id;
    }

private:
    recommender(irllrec_rec *r, irllrec_ctx *c) noexcept : handle(r, c) {}
};

}  // namespace irllrec

#endif /* IRLLREC_IRLLREC_HPP */
