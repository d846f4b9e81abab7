/* rebar.c — REBAR (Tucker, Mnih, Maddison, Lawson & Sohl-Dickstein 1703.07370) and RELAX
 * (Grathwohl, Choi, Wu, Roeder & Duvenaud 1711.00123) for Bernoulli units; unbiased for any value
 * of their learned parameters.  Per sample, per unit, u, v ~ U(0,1) independent:
 *   z = eta + logit u,  b = 1[z > 0],  z~ ~ p(z | b):  v' = v (1 - theta) (b = 0) or
 *   v theta + (1 - theta) (b = 1),  z~ = eta + logit v';   s(b) = b - theta.
 *   g = [f(b) - c_rho(z~)] s(b) + grad_eta c_rho(z) - grad_eta c_rho(z~),
 *   rebar: c_rho(z) = c f~(sigma(z/lambda));  relax: c f~(sigma(z/lambda)) + r_rho(z), r_rho an MLP
 *   R^D -> R with one tanh hidden layer (option hidden) and an output bias.
 * grad_eta acts on z = eta + L with dz/deta = 1, and on z~ with b and v held fixed:
 *   dz~/deta = v theta / v' (b = 1),  (1 - v)(1 - theta) / (1 - v') (b = 0)
 * (from dtheta/deta = theta (1 - theta) and dlogit(v')/dv' = 1/(v'(1 - v')); both in (0, 1),
 * = sigma(eta + log v) and sigma(-eta + log(1 - v))).  Unbiased: z~ has z's law, so
 * d/deta E c(z~) = E grad_eta c(z) = E[c(z~) s(b)] + E grad_eta c(z~) (b by its score, z~ given b
 * by v): the two gradient terms have mean E[c(z~) s(b)], which cancels the control variate.
 * Cost per sample: 1 f, 1 f~ (at sigma(z~/lambda)), 2 grad f~ (at sigma(z/lambda), sigma(z~/lambda));
 * the paper's "3 evaluations" count a forward+backward pass of f~ as one.  K samples averaged.
 *
 * Learning (adapt only, from the random numbers of the last estimate kept in the state): the
 * parameters minimise ||g||^2, i.e. the variance, since E g does not depend on them.  Adam
 * (beta 0.9 / 0.999), step lr for c and log lambda, lr_rho for the MLP and its output bias.
 *   c and the output bias enter g affinely: exact gradients 2 g . dg/dc, 2 g . (-mean s(b)).
 *   log lambda: common-random-numbers central difference, (||g(lambda e^fd)||^2 -
 *   ||g(lambda e^-fd)||^2) / (2 fd): 2 f~ and 4 grad f~ evaluations per sample, not counted in
 *   rows (adapt's work is training, like warm-up).
 *   rho: exact backpropagation of ||g||^2 through r(z~) and the input gradients dr/dz (mixed
 *   second derivatives of a one-layer tanh net, in closed form below).
 * Start: c = 1, lambda = 0.5 (options c, lambda); the MLP's first layer small and random from a
 * fixed seed, its output weights 0 (init_out), so relax starts as rebar. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "estimators/estimator.h"
#include "harness/rng.h"

#define RB_LOGLAM_MIN (-6.907755278982137) /* lambda in [1e-3, 1e3] */
#define RB_LOGLAM_MAX 6.907755278982137

typedef struct {
    int relax, D, H, K;
    double c0, lambda0, lr, lr_rho, fd, init_in, init_out;
    long seed;
    /* learned: th[0] = c, th[1] = log lambda; relax: th[2] = output bias, then W1 (H x D, row h),
     * b1 (H), w2 (H).  Adam moments m1, m2 and step count t. */
    int n_th;
    double *th, *m1, *m2, *grad;
    long t;
    /* the last estimate's draws (K x D) and values, for adapt */
    int have_last;
    int *b;
    double *z, *zt, *dzt, *s, *f;
    double *g, *B; /* the estimate and d g / d c (n_params) */
    /* scratch */
    double *y, *yt, *ds, *dst, *gf, *gft, *dr, *drt, *hid, *gp, *Bp, *vv;
} rb_state_t;

static const gv_optdoc rb_opts[] = {
    {"c", "1", "initial scale c of the control variate c f~(sigma(z/lambda))"},
    {"lambda", "0.5", "initial temperature lambda of the control variate"},
    {"lr", "0.01", "Adam step for c and log lambda in adapt (0 = frozen)"},
    {"fd", "0.05", "half-width of the central difference in log lambda"},
    {NULL, NULL, NULL}};

static const gv_optdoc rb_opts_relax[] = {
    {"c", "1", "initial scale c of the control variate c f~(sigma(z/lambda))"},
    {"lambda", "0.5", "initial temperature lambda of the control variate"},
    {"lr", "0.01", "Adam step for c and log lambda in adapt (0 = frozen)"},
    {"fd", "0.05", "half-width of the central difference in log lambda"},
    {"hidden", "8", "hidden width of the surrogate MLP r(z) (tanh)"},
    {"lr_rho", "0.001", "Adam step for the MLP weights and output bias (0 = frozen)"},
    {"init", "1", "first-layer weights ~ U with standard deviation init/sqrt(D)"},
    {"init_out", "0", "output weights ~ U with standard deviation init_out/sqrt(hidden) (0: r = 0)"},
    {"seed", "1", "seed of the MLP's initial weights"},
    {NULL, NULL, NULL}};

#define W1(s) ((s)->th + 3)
#define B1(s) ((s)->th + 3 + (size_t)(s)->H * (s)->D)
#define W2(s) ((s)->th + 3 + (size_t)(s)->H * (s)->D + (s)->H)

/* the learned state at its start: c0, log lambda0, MLP from the fixed seed; Adam zeroed */
static void rb_start(rb_state_t *s)
{
    s->th[0] = s->c0;
    s->th[1] = log(s->lambda0);
    if (s->relax) {
        uint64_t st = (uint64_t)s->seed;
        double a1 = sqrt(3.0) * s->init_in / sqrt((double)s->D), a2 = sqrt(3.0) * s->init_out / sqrt((double)s->H);
        s->th[2] = 0;
        for (size_t j = 0; j < (size_t)s->H * s->D; j++)
            W1(s)[j] = a1 * (2 * ((double)(gv_splitmix64(&st) >> 11) * 0x1.0p-53) - 1);
        for (int h = 0; h < s->H; h++) {
            B1(s)[h] = 0;
            W2(s)[h] = a2 * (2 * ((double)(gv_splitmix64(&st) >> 11) * 0x1.0p-53) - 1);
        }
    }
    memset(s->m1, 0, (size_t)s->n_th * sizeof(double));
    memset(s->m2, 0, (size_t)s->n_th * sizeof(double));
    s->t = 0;
    s->have_last = 0;
}

static int rb_init_mode(rb_state_t *s, int relax, const gv_spec *spec, const gv_problem *p, int K, char *err)
{
    long H = 0;
    s->relax = relax;
    s->D = p->layout.n_units;
    s->K = K;
    if (gv_opt_double(spec, "c", 1, -1e6, 1e6, &s->c0, err) ||
        gv_opt_double(spec, "lambda", 0.5, 1e-3, 1e3, &s->lambda0, err) ||
        gv_opt_double(spec, "lr", 0.01, 0, 10, &s->lr, err) || gv_opt_double(spec, "fd", 0.05, 1e-6, 1, &s->fd, err))
        return GV_EUSAGE;
    if (relax && (gv_opt_long(spec, "hidden", 8, 1, 4096, &H, err) ||
                  gv_opt_double(spec, "lr_rho", 0.001, 0, 10, &s->lr_rho, err) ||
                  gv_opt_double(spec, "init", 1, 0, 1e3, &s->init_in, err) ||
                  gv_opt_double(spec, "init_out", 0, 0, 1e3, &s->init_out, err) ||
                  gv_opt_long(spec, "seed", 1, 0, 2147483647L, &s->seed, err)))
        return GV_EUSAGE;
    s->H = (int)H;
    s->n_th = relax ? 3 + (int)H * (s->D + 2) : 2;
    size_t n = (size_t)s->n_th, D = (size_t)s->D, KD = (size_t)K * D, Hs = (size_t)(H ? H : 1);
    s->th = malloc(n * sizeof(double)), s->m1 = malloc(n * sizeof(double)), s->m2 = malloc(n * sizeof(double));
    s->grad = malloc(n * sizeof(double));
    s->b = malloc(KD * sizeof(int));
    s->z = malloc(KD * sizeof(double)), s->zt = malloc(KD * sizeof(double)), s->dzt = malloc(KD * sizeof(double));
    s->s = malloc(KD * sizeof(double)), s->f = malloc((size_t)K * sizeof(double));
    s->g = malloc(D * sizeof(double)), s->B = malloc(D * sizeof(double));
    s->y = malloc(D * sizeof(double)), s->yt = malloc(D * sizeof(double));
    s->ds = malloc(D * sizeof(double)), s->dst = malloc(D * sizeof(double));
    s->gf = malloc(D * sizeof(double)), s->gft = malloc(D * sizeof(double));
    s->dr = malloc(D * sizeof(double)), s->drt = malloc(D * sizeof(double)), s->hid = malloc(Hs * sizeof(double));
    s->gp = malloc(D * sizeof(double)), s->Bp = malloc(D * sizeof(double)), s->vv = malloc(D * sizeof(double));
    if (!s->th || !s->m1 || !s->m2 || !s->grad || !s->b || !s->z || !s->zt || !s->dzt || !s->s || !s->f || !s->g ||
        !s->B || !s->y || !s->yt || !s->ds || !s->dst || !s->gf || !s->gft || !s->dr || !s->drt || !s->hid || !s->gp || !s->Bp || !s->vv)
        return gv_err(err, "out of memory"), GV_EFAIL;
    rb_start(s);
    return GV_OK;
}
static int rb_init(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return rb_init_mode(v, 0, sp, p, K, e); }
static int rb_init_relax(void *v, const gv_spec *sp, const gv_problem *p, int K, char *e) { return rb_init_mode(v, 1, sp, p, K, e); }

static void rb_free(void *v)
{
    rb_state_t *s = v;
    free(s->th), free(s->m1), free(s->m2), free(s->grad);
    free(s->b), free(s->z), free(s->zt), free(s->dzt), free(s->s), free(s->f), free(s->g), free(s->B);
    free(s->y), free(s->yt), free(s->ds), free(s->dst), free(s->gf), free(s->gft), free(s->dr), free(s->drt), free(s->hid);
    free(s->gp), free(s->Bp), free(s->vv);
}

static void rb_reset(void *v) { rb_start(v); }

static void rb_copy(void *dst, const void *src)
{
    rb_state_t *d = dst;
    const rb_state_t *s = src;
    size_t n = (size_t)s->n_th * sizeof(double);
    memcpy(d->th, s->th, n), memcpy(d->m1, s->m1, n), memcpy(d->m2, s->m2, n);
    d->t = s->t;
}

/* sigma(x), and sigma(x)(1 - sigma(x)) into *ds, with one exp and no cancellation at |x| large */
static inline double rb_sigma(double x, double *ds)
{
    double e = exp(-fabs(x)), inv = 1 / (1 + e);
    *ds = e * inv * inv;
    return x > 0 ? inv : e * inv;
}

/* ---- the surrogate MLP r(x) = w2 . tanh(W1 x + b1) + b2 */

/* hidden activations tanh(W1 x + b1) into hid; returns r(x) */
static double mlp_forward(const rb_state_t *s, const double *x, double *hid)
{
    const int D = s->D;
    double r = s->th[2];
    for (int h = 0; h < s->H; h++) {
        const double *w = W1(s) + (size_t)h * D;
        double a = B1(s)[h];
        for (int i = 0; i < D; i++) a += w[i] * x[i];
        hid[h] = tanh(a);
        r += W2(s)[h] * hid[h];
    }
    return r;
}

/* dr/dx_i = sum_h w2_h (1 - t_h^2) W1_hi */
static void mlp_dinput(const rb_state_t *s, const double *hid, double *dr)
{
    const int D = s->D;
    memset(dr, 0, (size_t)D * sizeof(double));
    for (int h = 0; h < s->H; h++) {
        const double *w = W1(s) + (size_t)h * D, a = W2(s)[h] * (1 - hid[h] * hid[h]);
        for (int i = 0; i < D; i++) dr[i] += a * w[i];
    }
}

/* G += a d r(x)/d rho + c d/d rho [v . dr/dx (x)], hid = the activations at x.
 * With d_h = 1 - t_h^2, u_h = sum_i W1_hi v_i, v . dr/dx = sum_h w2_h d_h u_h, and dd_h/da_h = -2 t_h d_h:
 *   d/dw2_h = a t_h + c d_h u_h;   d/db1_h = (a d_h - 2 c t_h d_h u_h) w2_h = e_h;
 *   d/dW1_hi = e_h x_i + c w2_h d_h v_i;   d/db2 = a. */
static void mlp_backprop(const rb_state_t *s, const double *x, const double *hid, double a, const double *v, double c,
                         double *G)
{
    const int D = s->D;
    double *GW1 = G + 3, *Gb1 = G + 3 + (size_t)s->H * D, *Gw2 = Gb1 + s->H;
    G[2] += a;
    for (int h = 0; h < s->H; h++) {
        const double *w = W1(s) + (size_t)h * D;
        double t = hid[h], d = 1 - t * t, w2 = W2(s)[h], u = 0;
        if (c != 0)
            for (int i = 0; i < D; i++) u += w[i] * v[i];
        double e = (a * d - 2 * c * t * d * u) * w2, cv = c * w2 * d;
        Gw2[h] += a * t + c * d * u;
        Gb1[h] += e;
        double *gw = GW1 + (size_t)h * D;
        if (cv != 0)
            for (int i = 0; i < D; i++) gw[i] += e * x[i] + cv * v[i];
        else
            for (int i = 0; i < D; i++) gw[i] += e * x[i];
    }
}

/* The estimate from the stored draws at the current c and surrogate, temperature lambda:
 * g (n_params) and B = dg/dc.  K f~ and 2K grad f~ evaluations. */
static void rb_ghat(rb_state_t *s, gv_eval *ev, double lambda, double *g, double *B)
{
    const int D = s->D, K = s->K;
    const double invK = 1.0 / K, il = 1.0 / lambda, c = s->th[0];
    memset(g, 0, (size_t)D * sizeof(double));
    memset(B, 0, (size_t)D * sizeof(double));
    for (int k = 0; k < K; k++) {
        const double *z = s->z + (size_t)k * D, *zt = s->zt + (size_t)k * D, *dzt = s->dzt + (size_t)k * D;
        const double *sc = s->s + (size_t)k * D;
        for (int i = 0; i < D; i++) s->y[i] = rb_sigma(z[i] * il, &s->ds[i]), s->yt[i] = rb_sigma(zt[i] * il, &s->dst[i]);
        double Ft = gv_eval_ftilde(ev, s->yt), rt = 0;
        gv_eval_grad(ev, s->yt, s->gft);
        gv_eval_grad(ev, s->y, s->gf);
        if (s->relax) {
            rt = mlp_forward(s, zt, s->hid);
            mlp_dinput(s, s->hid, s->drt);
            mlp_forward(s, z, s->hid);
            mlp_dinput(s, s->hid, s->dr);
        }
        const double a = (s->f[k] - rt) * invK;
        for (int i = 0; i < D; i++) {
            double Bk = -Ft * sc[i] + (s->gf[i] * s->ds[i] - s->gft[i] * s->dst[i] * dzt[i]) * il;
            g[i] += a * sc[i] + c * invK * Bk;
            B[i] += invK * Bk;
            if (s->relax) g[i] += invK * (s->dr[i] - s->drt[i] * dzt[i]);
        }
    }
}

static int rb_estimate(void *v, gv_eval *ev, int K, gsl_rng *r, double *g)
{
    rb_state_t *s = v;
    const gv_point *pt = ev->pt;
    const int D = s->D;
    const double *th = pt->prob, *cm = pt->comp;
    for (int k = 0; k < K; k++) {
        int *b = s->b + (size_t)k * D;
        double *z = s->z + (size_t)k * D, *zt = s->zt + (size_t)k * D, *dzt = s->dzt + (size_t)k * D;
        double *sc = s->s + (size_t)k * D;
        for (int i = 0; i < D; i++) {
            double u = gv_uniform(r), w = gv_uniform(r); /* w is the header's v */
            if (u <= 0) u = 0x1.0p-54;
            if (w <= 0) w = 0x1.0p-54;
            /* z = eta + logit u = log(u theta / ((1 - u)(1 - theta))) */
            double a = u * th[i], q = (1 - u) * cm[i];
            z[i] = log(a / q);
            const int bi = b[i] = a > q;
            /* z~ = eta + logit v' without a branch on b (it is unpredictable): with (A, B, x) =
             * (1 - theta, theta, w) if b = 1 and (theta, 1 - theta, 1 - w) if b = 0,
             * P = A + x B and Q = (1 - x) B are v' and 1 - v' (b = 1) or 1 - v' and v' (b = 0),
             * each without cancellation; z~ = +-log(P B / (Q A)), and dz~/deta = x B / P is
             * w theta / v' (b = 1), (1 - w)(1 - theta) / (1 - v') (b = 0). */
            const double A = bi ? cm[i] : th[i], B = bi ? th[i] : cm[i], x1 = bi ? w : 1 - w, x0 = bi ? 1 - w : w;
            const double P = A + x1 * B, L = log(P * B / (x0 * B * A));
            zt[i] = bi ? L : -L;
            dzt[i] = x1 * B / P;
            sc[i] = bi ? cm[i] : -th[i];
        }
        s->f[k] = gv_eval_f(ev, b);
    }
    rb_ghat(s, ev, exp(s->th[1]), s->g, s->B);
    for (int i = 0; i < D; i++) g[i] += s->g[i];
    s->have_last = 1;
    return 0;
}

static double rb_norm2(const double *x, int n)
{
    double a = 0;
    for (int i = 0; i < n; i++) a += x[i] * x[i];
    return a;
}

static void rb_adapt(void *v, const gv_eval *ev)
{
    rb_state_t *s = v;
    if (!s->have_last || (s->lr == 0 && s->lr_rho == 0)) return;
    gv_eval e = *ev; /* adapt's evaluations are training work: counted on a copy, not in the row */
    const int D = s->D, K = s->K, n = s->n_th;
    double *G = s->grad;
    memset(G, 0, (size_t)n * sizeof(double));
    if (s->lr > 0) {
        double gB = 0;
        for (int i = 0; i < D; i++) gB += s->g[i] * s->B[i];
        G[0] = 2 * gB;
        /* g(lambda') = g + c (B(lambda') - B(lambda)): the rest of g does not depend on lambda */
        double lam = s->th[1], np[2];
        for (int j = 0; j < 2; j++) {
            rb_ghat(s, &e, exp(lam + (j ? -s->fd : s->fd)), s->gp, s->Bp);
            np[j] = rb_norm2(s->gp, D);
        }
        G[1] = (np[0] - np[1]) / (2 * s->fd);
    }
    if (s->relax && s->lr_rho > 0) {
        /* d||g||^2/drho = (2/K) sum_k [-(g.s_k) dr(z~_k)/drho - d/drho (g o dz~_k).dr/dz(z~_k)
         *                              + d/drho g.dr/dz(z_k)] */
        for (int k = 0; k < K; k++) {
            const double *z = s->z + (size_t)k * D, *zt = s->zt + (size_t)k * D, *dzt = s->dzt + (size_t)k * D;
            const double *sc = s->s + (size_t)k * D;
            double gs = 0;
            for (int i = 0; i < D; i++) gs += s->g[i] * sc[i], s->vv[i] = s->g[i] * dzt[i];
            mlp_forward(s, zt, s->hid);
            mlp_backprop(s, zt, s->hid, -2.0 * gs / K, s->vv, -2.0 / K, G);
            mlp_forward(s, z, s->hid);
            mlp_backprop(s, z, s->hid, 0, s->g, 2.0 / K, G);
        }
    }
    /* Adam with bias correction; the tiny floor only avoids 0/0 (gradients here can be ~1e-20) */
    const double b1 = 0.9, b2 = 0.999;
    s->t++;
    const double c1 = 1 - pow(b1, (double)s->t), c2 = 1 - pow(b2, (double)s->t);
    for (int j = 0; j < n; j++) {
        double lr = j < 2 ? s->lr : s->lr_rho;
        if (lr == 0) continue;
        s->m1[j] = b1 * s->m1[j] + (1 - b1) * G[j];
        s->m2[j] = b2 * s->m2[j] + (1 - b2) * G[j] * G[j];
        double den = sqrt(s->m2[j] / c2);
        if (den > 0) s->th[j] -= lr * (s->m1[j] / c1) / (den + 1e-8 * den + 1e-300);
    }
    s->th[1] = fmin(RB_LOGLAM_MAX, fmax(RB_LOGLAM_MIN, s->th[1]));
}

static void rb_note(const void *v, char *buf, size_t len)
{
    const rb_state_t *s = v;
    if (s->relax)
        snprintf(buf, len, "c=%.4g, lambda=%.4g, MLP hidden=%d, output bias %.4g", s->th[0], exp(s->th[1]), s->H,
                 s->th[2]);
    else
        snprintf(buf, len, "c=%.4g, lambda=%.4g", s->th[0], exp(s->th[1]));
}

#define RB_COMMON                                                                                              \
    .objective = GV_OBJ_EXPECTATION, .units = GV_UNIT_BERNOULLI,                                               \
    .needs = GV_NEED_F | GV_NEED_FTILDE | GV_NEED_GRAD_FTILDE, .min_K = 1, .K_multiple = 1, .biased = 0,       \
    .cost = "K", .state_size = sizeof(rb_state_t), .free = rb_free, .reset = rb_reset, .copy_learned = rb_copy, \
    .estimate = rb_estimate, .adapt = rb_adapt, .note = rb_note, .layerwise = 1

const gv_estimator_type gv_est_rebar = {
    .name = "rebar",
    .description = "REBAR: score function with the control variate c f~(sigma(z~/lambda)) and its reparameterised "
                   "correction; c, lambda learned on ||g||^2",
    .citation = "Tucker, Mnih, Maddison, Lawson & Sohl-Dickstein 1703.07370",
    .options = rb_opts, .init = rb_init, RB_COMMON};

const gv_estimator_type gv_est_relax = {
    .name = "relax",
    .description = "RELAX: REBAR with surrogate c f~(sigma(z/lambda)) + MLP r(z); c, lambda, MLP learned on ||g||^2",
    .citation = "Grathwohl, Choi, Wu, Roeder & Duvenaud 1711.00123",
    .options = rb_opts_relax, .init = rb_init_relax, RB_COMMON};
