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
#include "adam.h"
#include "npy.h"
#include "eval.h"
#include "rank.h"
#include "mlp.h"
#include "intent.h"
#include "itm.h"
#include "align.h"
#include "hook.h"
#include "collective.h"
#include "model.h"
#include "graph.h"
#include "rank.h"
#include "serve.h"

#ifdef IRLLREC_EXPERIMENTAL_API
#include "experimental.h"
#endif

#endif /* IRLLREC_H */
