/** @file
 * libirllrec: the experimental tier.
 *
 * The helpers the examples and tests are built on: the LightGCN-format
 * dataset reader (data.h), the BPR sampler (data.h), the random-number
 * generator (rng.h) and the synthetic-data generator (synth.h). Every name
 * is irllrec_x_*. They are exported by the same library but are NOT part of
 * the stable ABI: any release may change or remove them, and the ABI gate
 * ignores them (docs/api-stability.md). Define IRLLREC_EXPERIMENTAL_API
 * before including irllrec/irllrec.h or this header to see them. */
#ifndef IRLLREC_EXPERIMENTAL_H
#define IRLLREC_EXPERIMENTAL_H

#ifndef IRLLREC_EXPERIMENTAL_API
#error "irllrec/experimental.h: define IRLLREC_EXPERIMENTAL_API first (irllrec_x_* may change in any release)"
#endif

#include "rng.h"
#include "data.h"
#include "synth.h"

#endif /* IRLLREC_EXPERIMENTAL_H */
