/* rng.h — random streams.  Every stream's seed is a splitmix64 hash of the master seed and
 * stable identities (canonical problem and estimator specs, K, block index, purpose); never of a
 * thread number or a position in a filtered list, so results do not depend on thread count. */
#ifndef GV_RNG_H
#define GV_RNG_H

#include <stdint.h>
#include <gsl/gsl_rng.h>

/* xoshiro256** (Blackman & Vigna 2018) wrapped as a GSL generator type named "xoshiro256ss". */
extern const gsl_rng_type *gv_rng_xoshiro256ss;

uint64_t gv_splitmix64(uint64_t *state);
uint64_t gv_hash_mix(uint64_t h, uint64_t v);
uint64_t gv_hash_str(uint64_t h, const char *s);

enum gv_stream_purpose { GV_STREAM_REPLICATE = 1, GV_STREAM_WARMUP = 2, GV_STREAM_TRAIN = 3, GV_STREAM_PROBLEM = 4 };
uint64_t gv_stream_seed(uint64_t master, const char *problem, const char *estimator, int K,
                        long block, int purpose);

/* Look up a generator by GSL name (or "xoshiro256ss"); NULL if unknown. */
const gsl_rng_type *gv_rng_type_find(const char *name);
/* Default generator type. */
const gsl_rng_type *gv_rng_default(void);
/* Allocate a generator of type T seeded with a 64-bit seed (hashed to 32 bits for GSL types
 * that keep only 32). */
gsl_rng *gv_rng_new(const gsl_rng_type *T, uint64_t seed);
#endif
