/* rng.h — random streams.  Every stream's seed is a splitmix64 hash of the master seed and
 * stable identities (canonical problem and estimator specs, K, block index, purpose); never of a
 * thread number or a position in a filtered list, so results do not depend on thread count. */
#ifndef GV_RNG_H
#define GV_RNG_H

#include <stdint.h>
#include <gsl/gsl_rng.h>

/* xoshiro256** (Blackman & Vigna 2018) wrapped as a GSL generator type named "xoshiro256ss". */
extern const gsl_rng_type *gv_rng_xoshiro256ss;
extern const gsl_rng_type gv_rng_xoshiro256ss_type;

typedef struct { uint64_t s[4]; } gv_xo_state;

static inline uint64_t gv_xo_next(gv_xo_state *st)
{
    uint64_t *s = st->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/* U[0,1) from any GSL generator, with the default generator inlined (no call through the type's
 * function pointer): the same numbers gsl_rng_uniform would return, at a fraction of the cost. */
static inline double gv_uniform(gsl_rng *r)
{
    if (r->type == &gv_rng_xoshiro256ss_type) return (double)(gv_xo_next((gv_xo_state *)r->state) >> 11) * 0x1.0p-53;
    return gsl_rng_uniform(r);
}

uint64_t gv_splitmix64(uint64_t *state);
uint64_t gv_hash_mix(uint64_t h, uint64_t v);
uint64_t gv_hash_str(uint64_t h, const char *s);

enum gv_stream_purpose { GV_STREAM_REPLICATE = 1, GV_STREAM_WARMUP = 2, GV_STREAM_TRAIN = 3, GV_STREAM_PROBLEM = 4,
                         GV_STREAM_DATA = 5, GV_STREAM_SMC = 6 /* gradvar smc: blocks of sampler runs */ };
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
