/** @file
 * libirllrec: umbrella header. Include this, or the module headers you need.
 *
 * IRLLRec (Wang et al., SIGIR 2025) as an embeddable C library: LLM-derived
 * text intents aligned with a host recommender's interaction embeddings. */
#ifndef IRLLREC_H
#define IRLLREC_H

#include "export.h"
#include "version.h"
#include "status.h"
#include "ctx.h"
#include "tensor.h"
#include "rng.h"
#include "adam.h"
#include "npy.h"
#include "data.h"
#include "eval.h"
#include "synth.h"
#include "mlp.h"
#include "intent.h"
#include "itm.h"
#include "align.h"
#include "hook.h"
#include "model.h"

#endif /* IRLLREC_H */
