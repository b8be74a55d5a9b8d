/* Random-stream ids: the constants mixed into a seed (irllrec__rng_seed's
 * stream argument, or XORed into a component's seed) so that components
 * seeded with the same base seed never share a stream.
 *
 * THESE VALUES MUST NEVER CHANGE. They decide the bits of every run: the
 * initial weights, the noise draws, the sampled negatives, the synthetic
 * data sets, and therefore every golden file and saved checkpoint. Add new
 * ids; never renumber or reuse one. */
#ifndef IRLLREC_CORE_STREAMS_H
#define IRLLREC_CORE_STREAMS_H

/* irllrec_x_rng_create: the caller's seed as given. */
#define IRLLREC__STREAM_X_RNG 0u

/* Towers (lib/tower): ASCII "MLP\x01", "INT\x01", "ITM\x01". */
#define IRLLREC__STREAM_MLP 0x4d4c5001u
#define IRLLREC__STREAM_INTENT 0x494e5401u
#define IRLLREC__STREAM_ITM 0x49544d01u

/* The alignment handle's sampling RNG (lib/align). */
#define IRLLREC__STREAM_ALIGN 0xA119u

/* The epoch sampler (lib/data/sampler.c): ASCII "SAMP". */
#define IRLLREC__STREAM_SAMPLER 0x53414D50u

/* The hook (lib/hook/hook.c). PRF, INT, TOWER and ITM are XORed into the
 * hook's seed to seed the profile MLP, the intent MLP, the intent encoder
 * and the ITM pair; RNG is the stream id of the hook's own noise RNG. */
#define IRLLREC__STREAM_HOOK_PRF 0x1001u
#define IRLLREC__STREAM_HOOK_INT 0x1002u
#define IRLLREC__STREAM_HOOK_TOWER 0x1003u
#define IRLLREC__STREAM_HOOK_ITM 0x1004u
#define IRLLREC__STREAM_HOOK_RNG 0x1005u

/* The synthetic generator (lib/synth): one stream per component, so changing
 * how one component draws never shifts another. Per-entity and per-row
 * streams put the entity or row index in the low bits, which keeps the
 * output independent of thread count. */
enum {
    IRLLREC__SYNTH_ST_POP = 1,
    IRLLREC__SYNTH_ST_THETA = 2,   /* + side */
    IRLLREC__SYNTH_ST_DEGREE = 4,
    IRLLREC__SYNTH_ST_USER = 5,    /* << 40 | user: that user's items and split */
    IRLLREC__SYNTH_ST_MISLEAD = 6, /* + side */
    IRLLREC__SYNTH_ST_PROJ = 8,    /* + kind (0 profile, 1 intent) */
    IRLLREC__SYNTH_ST_OFFSET = 10, /* + kind */
    IRLLREC__SYNTH_ST_POPDIR = 12,
    IRLLREC__SYNTH_ST_ROW = 13,    /* << 40 | matrix << 32 | row: noise of one text row */
    IRLLREC__SYNTH_ST_ENTITY = 14  /* << 40 | side << 32 | entity: its own profile component */
};

#endif /* IRLLREC_CORE_STREAMS_H */
