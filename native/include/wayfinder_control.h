/* wayfinder_control.h: the observation and control protocol between a dataplane and a controller,
 * as one header-only C11 library (docs/control-protocol.md is the reference; this file follows it).
 *
 * A region is a file under /dev/shm that both sides map. The dataplane creates it with its signal
 * and knob names and the knobs' defaults, publishes its signals (one seqlocked block: a reader gets
 * every signal of one publish or retries) and beats its heartbeat; the controller attaches, beats
 * its own heartbeat and publishes knob values with an epoch. The dataplane applies knobs only while
 * the controller's heartbeat moves; when it stops for longer than the declared timeout the
 * dataplane goes back to its defaults, and ignores the old epoch until a new decision arrives.
 *
 *   struct wfc_region r;
 *   wfc_create(&r, "/dev/shm/wf-demo", signals, 2, knobs, defaults, 1, 2000000, 2000000);
 *   wfc_signals_publish(&r, values);                  // once per round that did work; single writer
 *   wfc_heartbeat(&r, WFC_DATAPLANE, applied_epoch);  // at least every period
 *   struct wfc_knob_state ks; wfc_knob_state_init(&ks);
 *   wfc_knobs_effective(&r, &ks, wfc_now_ns(), knobs_out); // controller's values or the defaults
 *
 * Every shared word is accessed through C11 atomics (no data race in the C sense); a seqlock's
 * payload with relaxed loads and stores between acquire/release fences (Boehm, "Can seqlocks get
 * along with programming language memory models?", 2012). Needs lock-free 64-bit atomics. */
#ifndef WAYFINDER_CONTROL_H
#define WAYFINDER_CONTROL_H

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if ATOMIC_LLONG_LOCK_FREE != 2
#error "wayfinder_control.h needs lock-free 64-bit atomics"
#endif

#define WFC_MAGIC "WAYFCTRL"
#define WFC_VERSION 1u
#define WFC_HEADER_SIZE 128u
#define WFC_NAME_SIZE 32u /* a name: up to 31 bytes, NUL-padded */
#define WFC_BLOCK_HEAD 64u /* a seqlocked block's words before its values */

/* Header words (byte offsets). */
#define WFC_OFF_MAGIC 0u
#define WFC_OFF_VERSION 8u
#define WFC_OFF_STATE 12u
#define WFC_OFF_REGION_SIZE 16u
#define WFC_OFF_HEADER_SIZE 20u
#define WFC_OFF_SIGNAL_COUNT 24u
#define WFC_OFF_KNOB_COUNT 28u
#define WFC_OFF_NAME_SIZE 32u
#define WFC_OFF_NAMES 36u
#define WFC_OFF_DEFAULTS 40u
#define WFC_OFF_SIGNALS 44u
#define WFC_OFF_KNOBS 48u
#define WFC_OFF_CONTROLLER_TIMEOUT 56u
#define WFC_OFF_DATAPLANE_TIMEOUT 64u
/* The two heartbeat blocks: seq, counter, time_ns, and (dataplane's) the knob epoch applied. */
#define WFC_OFF_HB_DATAPLANE 128u
#define WFC_OFF_HB_CONTROLLER 192u
#define WFC_OFF_NAMES_TABLE 256u
/* Words of a seqlocked block (signals, knobs, heartbeats). */
#define WFC_W_SEQ 0u
#define WFC_W_COUNT 1u /* signals: generation; knobs: epoch; heartbeat: counter */
#define WFC_W_TIME 2u  /* CLOCK_MONOTONIC ns of the publish */
#define WFC_W_EXTRA 3u /* dataplane heartbeat: the knob epoch it applies (0: its defaults) */

#define WFC_STATE_READY 1u
#define WFC_MAX_SLOTS 256u /* signals, and knobs, per region */
#ifndef WFC_MAX_SPINS
#define WFC_MAX_SPINS 100000u /* a reader's tries before it gives up on a writer stuck mid-write */
#endif
#ifndef WFC_ROUND_SPINS
/* The dataplane's tries per round at the knob block and the controller's heartbeat: both are written
 * seldom, so a busy seq means "next round"; a controller killed mid-write costs a round nothing. */
#define WFC_ROUND_SPINS 64u
#endif

enum wfc_side { WFC_DATAPLANE = 0, WFC_CONTROLLER = 1 };

struct wfc_region {
  unsigned char *base;
  size_t size;
  uint32_t nsignals, nknobs;
  _Atomic uint64_t *signals; /* block: WFC_BLOCK_HEAD bytes of words, then the values' bits */
  _Atomic uint64_t *knobs;
  _Atomic uint64_t *hb[2];
  const double *defaults; /* written once before the region is ready, never again */
  uint64_t hb_counter[2];  /* this process's own heartbeat counters */
  uint64_t knob_epoch;     /* the controller's last epoch (when this process publishes knobs) */
  uint64_t generation;     /* the dataplane's last signal generation */
};

static inline uint64_t wfc_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

static inline uint64_t wfc_bits(double d) { uint64_t u; memcpy(&u, &d, sizeof u); return u; }
static inline double wfc_double(uint64_t u) { double d; memcpy(&d, &u, sizeof d); return d; }
static inline uint32_t wfc_u32(const struct wfc_region *r, uint32_t off) { uint32_t v; memcpy(&v, r->base + off, sizeof v); return v; }
static inline uint64_t wfc_u64(const struct wfc_region *r, uint32_t off) { uint64_t v; memcpy(&v, r->base + off, sizeof v); return v; }
static inline uint32_t wfc_align(uint32_t n, uint32_t a) { return (n + a - 1u) / a * a; }

/* The seqlock: one writer per block. Writer: seq odd, release fence, payload, seq even (release).
 * An odd seq found at the start is a writer that died mid-write: its write counts as aborted. */
static inline uint64_t wfc_write_begin(_Atomic uint64_t *b)
{
  uint64_t s = atomic_load_explicit(&b[WFC_W_SEQ], memory_order_relaxed);
  s = (s & 1u) ? s + 2u : s + 1u; /* the next odd number above s */
  atomic_store_explicit(&b[WFC_W_SEQ], s, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  return s;
}
static inline void wfc_write_end(_Atomic uint64_t *b, uint64_t odd)
{
  atomic_store_explicit(&b[WFC_W_SEQ], odd + 1u, memory_order_release);
}
/* Reader (wfc_snapshot): seq (acquire), payload (relaxed), acquire fence, seq again (relaxed); equal
 * and even, or retry. */

static inline void wfc_bind(struct wfc_region *r)
{
  r->nsignals = wfc_u32(r, WFC_OFF_SIGNAL_COUNT);
  r->nknobs = wfc_u32(r, WFC_OFF_KNOB_COUNT);
  r->signals = (_Atomic uint64_t *)(void *)(r->base + wfc_u32(r, WFC_OFF_SIGNALS));
  r->knobs = (_Atomic uint64_t *)(void *)(r->base + wfc_u32(r, WFC_OFF_KNOBS));
  r->hb[WFC_DATAPLANE] = (_Atomic uint64_t *)(void *)(r->base + WFC_OFF_HB_DATAPLANE);
  r->hb[WFC_CONTROLLER] = (_Atomic uint64_t *)(void *)(r->base + WFC_OFF_HB_CONTROLLER);
  r->defaults = (const double *)(const void *)(r->base + wfc_u32(r, WFC_OFF_DEFAULTS));
  r->hb_counter[0] = r->hb_counter[1] = 0;
  r->knob_epoch = 0;
  r->generation = 0;
}

/* The dataplane makes the region (replacing any old one at path). Names: at most 31 bytes each.
 * Timeouts: how long a heartbeat may stand still before its side counts as gone. 0 or -errno. */
static inline int wfc_create(struct wfc_region *r, const char *path, const char *const *signals, uint32_t nsignals,
                             const char *const *knobs, const double *defaults, uint32_t nknobs,
                             uint64_t controller_timeout_ns, uint64_t dataplane_timeout_ns)
{
  uint32_t names = WFC_OFF_NAMES_TABLE;
  uint32_t defs = wfc_align(names + (nsignals + nknobs) * WFC_NAME_SIZE, 8u);
  uint32_t sig = wfc_align(defs + nknobs * 8u, 64u);
  uint32_t knb = wfc_align(sig + WFC_BLOCK_HEAD + nsignals * 8u, 64u);
  uint32_t size = wfc_align(knb + WFC_BLOCK_HEAD + nknobs * 8u, 64u);
  uint32_t version = WFC_VERSION, hsize = WFC_HEADER_SIZE, nsize = WFC_NAME_SIZE;
  memset(r, 0, sizeof *r);
  if (nsignals > WFC_MAX_SLOTS || nknobs > WFC_MAX_SLOTS) return -E2BIG;
  for (uint32_t i = 0; i < nsignals + nknobs; i++) {
    const char *n = i < nsignals ? signals[i] : knobs[i - nsignals];
    if (strlen(n) >= WFC_NAME_SIZE) return -ENAMETOOLONG;
  }
  unlink(path);
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return -errno;
  if (ftruncate(fd, size) != 0) { int e = errno; close(fd); unlink(path); return -e; }
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) { int e = errno; unlink(path); return -e; }
  r->base = (unsigned char *)m;
  r->size = size;
  memcpy(r->base + WFC_OFF_MAGIC, WFC_MAGIC, 8);
  memcpy(r->base + WFC_OFF_VERSION, &version, 4);
  memcpy(r->base + WFC_OFF_REGION_SIZE, &size, 4);
  memcpy(r->base + WFC_OFF_HEADER_SIZE, &hsize, 4);
  memcpy(r->base + WFC_OFF_SIGNAL_COUNT, &nsignals, 4);
  memcpy(r->base + WFC_OFF_KNOB_COUNT, &nknobs, 4);
  memcpy(r->base + WFC_OFF_NAME_SIZE, &nsize, 4);
  memcpy(r->base + WFC_OFF_NAMES, &names, 4);
  memcpy(r->base + WFC_OFF_DEFAULTS, &defs, 4);
  memcpy(r->base + WFC_OFF_SIGNALS, &sig, 4);
  memcpy(r->base + WFC_OFF_KNOBS, &knb, 4);
  memcpy(r->base + WFC_OFF_CONTROLLER_TIMEOUT, &controller_timeout_ns, 8);
  memcpy(r->base + WFC_OFF_DATAPLANE_TIMEOUT, &dataplane_timeout_ns, 8);
  for (uint32_t i = 0; i < nsignals + nknobs; i++) {
    const char *n = i < nsignals ? signals[i] : knobs[i - nsignals];
    memcpy(r->base + names + i * WFC_NAME_SIZE, n, strlen(n));
  }
  memcpy(r->base + defs, defaults, nknobs * sizeof(double));
  wfc_bind(r);
  /* The knob block starts as the defaults, epoch 0: "no decision yet". */
  for (uint32_t i = 0; i < nknobs; i++)
    atomic_store_explicit(&r->knobs[WFC_BLOCK_HEAD / 8u + i], wfc_bits(defaults[i]), memory_order_relaxed);
  /* Ready last: an attaching side that sees it sees every word above (release/acquire). */
  atomic_store_explicit((_Atomic uint32_t *)(void *)(r->base + WFC_OFF_STATE), WFC_STATE_READY, memory_order_release);
  return 0;
}

/* Attach to a region someone else made; refuses another magic, version or a size that disagrees. */
static inline int wfc_open(struct wfc_region *r, const char *path)
{
  memset(r, 0, sizeof *r);
  int fd = open(path, O_RDWR);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < (off_t)WFC_OFF_NAMES_TABLE) { close(fd); return -EPROTO; }
  void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return -errno;
  r->base = (unsigned char *)m;
  r->size = (size_t)st.st_size;
  if (memcmp(r->base, WFC_MAGIC, 8) != 0 || wfc_u32(r, WFC_OFF_VERSION) != WFC_VERSION ||
      wfc_u32(r, WFC_OFF_SIGNAL_COUNT) > WFC_MAX_SLOTS || wfc_u32(r, WFC_OFF_KNOB_COUNT) > WFC_MAX_SLOTS ||
      atomic_load_explicit((_Atomic uint32_t *)(void *)(r->base + WFC_OFF_STATE), memory_order_acquire) != WFC_STATE_READY ||
      wfc_u32(r, WFC_OFF_REGION_SIZE) != r->size) {
    munmap(m, r->size);
    return -EPROTO;
  }
  wfc_bind(r);
  return 0;
}

static inline void wfc_close(struct wfc_region *r)
{
  if (r->base) munmap(r->base, r->size);
  r->base = NULL;
}

/* The dataplane, when it is done: unmap and remove the file. (After a crash the file stays; the next
 * wfc_create at the same path replaces it, and a controller attached to the old one sees its
 * heartbeat stop.) */
static inline void wfc_destroy(struct wfc_region *r, const char *path)
{
  wfc_close(r);
  unlink(path);
}

static inline const char *wfc_signal_name(const struct wfc_region *r, uint32_t i)
{
  return (const char *)r->base + wfc_u32(r, WFC_OFF_NAMES) + i * WFC_NAME_SIZE;
}
static inline const char *wfc_knob_name(const struct wfc_region *r, uint32_t i)
{
  return wfc_signal_name(r, r->nsignals + i);
}
static inline uint64_t wfc_controller_timeout_ns(const struct wfc_region *r) { return wfc_u64(r, WFC_OFF_CONTROLLER_TIMEOUT); }
static inline uint64_t wfc_dataplane_timeout_ns(const struct wfc_region *r) { return wfc_u64(r, WFC_OFF_DATAPLANE_TIMEOUT); }

/* Publish a block: count (generation, epoch or heartbeat counter), time, an extra word, values. */
static inline void wfc_publish(_Atomic uint64_t *b, uint64_t count, uint64_t extra, const double *v, uint32_t n)
{
  uint64_t odd = wfc_write_begin(b);
  atomic_store_explicit(&b[WFC_W_COUNT], count, memory_order_relaxed);
  atomic_store_explicit(&b[WFC_W_TIME], wfc_now_ns(), memory_order_relaxed);
  atomic_store_explicit(&b[WFC_W_EXTRA], extra, memory_order_relaxed);
  for (uint32_t i = 0; i < n; i++) atomic_store_explicit(&b[WFC_BLOCK_HEAD / 8u + i], wfc_bits(v[i]), memory_order_relaxed);
  wfc_write_end(b, odd);
}

/* Read one consistent copy of a block into count/time/extra/v (any may be NULL). 0, or -EAGAIN when
 * the writer stayed mid-write for WFC_MAX_SPINS tries (a writer killed or descheduled mid-publish):
 * then nothing is written and the caller keeps what it had, so a dead writer never stalls a reader. */
static inline int wfc_snapshot_tries(_Atomic uint64_t *b, uint32_t tries, uint32_t n, uint64_t *count, uint64_t *time_ns,
                                     uint64_t *extra, double *v)
{
  uint64_t c, t, x, tmp[WFC_MAX_SLOTS];
  for (uint32_t spin = 0; spin < tries; spin++) {
    uint64_t s = atomic_load_explicit(&b[WFC_W_SEQ], memory_order_acquire);
    if (s & 1u) continue;
    c = atomic_load_explicit(&b[WFC_W_COUNT], memory_order_relaxed);
    t = atomic_load_explicit(&b[WFC_W_TIME], memory_order_relaxed);
    x = atomic_load_explicit(&b[WFC_W_EXTRA], memory_order_relaxed);
    for (uint32_t i = 0; i < n; i++) tmp[i] = atomic_load_explicit(&b[WFC_BLOCK_HEAD / 8u + i], memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&b[WFC_W_SEQ], memory_order_relaxed) != s) continue;
    if (count) *count = c;
    if (time_ns) *time_ns = t;
    if (extra) *extra = x;
    for (uint32_t i = 0; i < n; i++) v[i] = wfc_double(tmp[i]);
    return 0;
  }
  return -EAGAIN;
}
static inline int wfc_snapshot(_Atomic uint64_t *b, uint32_t n, uint64_t *count, uint64_t *time_ns, uint64_t *extra, double *v)
{
  return wfc_snapshot_tries(b, WFC_MAX_SPINS, n, count, time_ns, extra, v);
}

/* Dataplane: every signal at once (one generation). Returns the generation published. */
static inline uint64_t wfc_signals_publish(struct wfc_region *r, const double *values)
{
  wfc_publish(r->signals, ++r->generation, 0, values, r->nsignals);
  return r->generation;
}
/* One consistent copy of every signal and its generation (0: none published yet). 0 or -EAGAIN. */
static inline int wfc_signals_read(struct wfc_region *r, uint64_t *generation, double *values)
{
  return wfc_snapshot(r->signals, r->nsignals, generation, NULL, NULL, values);
}

/* Controller (in C): a decision, every knob at once, under a new epoch. Returns the epoch. */
static inline uint64_t wfc_knobs_publish(struct wfc_region *r, const double *values)
{
  /* Epochs continue from the region's, so a controller that restarts never reuses an epoch. The
   * count word alone is one atomic word: read even when a killed writer left the seq odd. */
  uint64_t seen = atomic_load_explicit(&r->knobs[WFC_W_COUNT], memory_order_acquire);
  if (seen > r->knob_epoch) r->knob_epoch = seen;
  r->knob_epoch++;
  wfc_publish(r->knobs, r->knob_epoch, 0, values, r->nknobs);
  return r->knob_epoch;
}
/* The controller's last decision as written (not judged) and its epoch (0: none yet). 0 or -EAGAIN. */
static inline int wfc_knobs_read(struct wfc_region *r, uint64_t *epoch, double *values)
{
  return wfc_snapshot(r->knobs, r->nknobs, epoch, NULL, NULL, values);
}

/* A heartbeat of this process's side; applied_epoch: the knob epoch the dataplane runs with. */
static inline void wfc_heartbeat(struct wfc_region *r, enum wfc_side side, uint64_t applied_epoch)
{
  if (r->hb_counter[side] == 0) /* continue a previous process's count: a restart must look like a beat */
    r->hb_counter[side] = atomic_load_explicit(&r->hb[side][WFC_W_COUNT], memory_order_acquire);
  wfc_publish(r->hb[side], ++r->hb_counter[side], applied_epoch, NULL, 0);
}

/* What one side knows of the other's heartbeat: liveness is judged on this process's own clock,
 * from when the counter last moved, so the two sides need no common clock. */
struct wfc_peer {
  uint64_t counter;
  uint64_t changed_ns; /* when this process saw the counter move (or first looked) */
  int looked;
};
static inline void wfc_peer_init(struct wfc_peer *p) { memset(p, 0, sizeof *p); }

/* 1 while the other side's heartbeat has moved within its declared timeout. A counter that has never
 * moved (0) is not alive: a side that never beat is absent. */
static inline int wfc_peer_alive(struct wfc_region *r, enum wfc_side other, struct wfc_peer *p, uint64_t now_ns)
{
  uint64_t c = p->counter;
  if (wfc_snapshot_tries(r->hb[other], WFC_ROUND_SPINS, 0, &c, NULL, NULL, NULL) != 0) c = p->counter; /* mid-write: unchanged */
  uint64_t timeout = other == WFC_CONTROLLER ? wfc_controller_timeout_ns(r) : wfc_dataplane_timeout_ns(r);
  if (!p->looked || c != p->counter) {
    p->looked = 1;
    p->counter = c;
    p->changed_ns = now_ns;
  }
  return c != 0 && now_ns - p->changed_ns <= timeout;
}

/* The dataplane's view of the knobs: the controller's decision while its heartbeat moves, the
 * defaults otherwise. After a loss, the epoch seen then stays refused even if the heartbeat comes
 * back: only a decision made after the controller returned is applied. */
struct wfc_knob_state {
  struct wfc_peer controller;
  uint64_t refused_epoch; /* epochs <= this are not applied */
  uint64_t applied_epoch; /* 0: running the defaults */
};
static inline void wfc_knob_state_init(struct wfc_knob_state *s) { memset(s, 0, sizeof *s); }

/* Fills out[nknobs] with the values to run with; returns their epoch (0: the defaults). When the
 * knob block cannot be read this round (its writer stalled mid-write), the previous round's choice
 * stands: out is left as it was. */
static inline uint64_t wfc_knobs_effective(struct wfc_region *r, struct wfc_knob_state *s, uint64_t now_ns, double *out)
{
  double v[WFC_MAX_SLOTS];
  uint64_t epoch = 0;
  int alive = wfc_peer_alive(r, WFC_CONTROLLER, &s->controller, now_ns);
  if (wfc_snapshot_tries(r->knobs, WFC_ROUND_SPINS, r->nknobs, &epoch, NULL, NULL, v) != 0) return s->applied_epoch;
  if (!alive) {
    if (epoch > s->refused_epoch) s->refused_epoch = epoch;
    epoch = 0;
  } else if (epoch <= s->refused_epoch) {
    epoch = 0;
  }
  memcpy(out, epoch ? v : r->defaults, r->nknobs * sizeof(double));
  s->applied_epoch = epoch;
  return epoch;
}

#endif /* WAYFINDER_CONTROL_H */
