/* A dataplane for the protocol's tests, built by them with gcc -Wall -Wextra -Werror -std=c11 -O2.
 *
 *   dataplane run PATH RUN_MS HB_STOP_MS TIMEOUT_MS [PACE_NS]
 *     makes the region (signals gen, neg, flows, batch; knobs BATCH = 4, CHECK = -4 by default), then until
 *     RUN_MS: publishes signals as fast as it can (neg = -gen, flows = gen % 64, a pair a torn read
 *     would break; with PACE_NS, one publish per PACE_NS at most), beats its heartbeat every 100 us until HB_STOP_MS, and reads the knobs it should
 *     run with every round (CHECK must be -BATCH in every copy; signal batch is the BATCH it runs
 *     with, its heartbeat carries the epoch). Prints "ready", an "applied EPOCH BATCH MS NOW_NS" line
 *     when it changes between its defaults and the controller's values (not per epoch: a pipe nobody
 *     drains while the controller spins would block it; NOW_NS on the CLOCK_MONOTONIC our side reads),
 *     and "done publishes=N knobreads=M torn=T" at RUN_MS or on SIGTERM (tests stop it once they have
 *     seen enough: on a loaded machine a fixed run time may end before they have).
 *   dataplane selftest PATH MIN MAX_MS
 *     both sides in C: a signal writer thread against a reader thread, a knob writer (controller)
 *     thread against the dataplane's effective reads, until the readers have made MIN reads each,
 *     seen MIN/500 different generations, MIN/1000 times found the writer several publishes further
 *     than at their previous read, and applied 100 epochs (or MAX_MS passed); prints "selftest
 *     reads=N torn=T backwards=B knobreads=M knobtorn=U applied=A generations=G epochs=E
 *     distinct=D skipped=S applied_epochs=P".
 *   dataplane attach PATH
 *     a controller in C: attaches with wfc_open, prints the names and the timeout, publishes one
 *     decision (BATCH = 7) and prints "attached signals=... knobs=... timeout_ns=N epoch=E", or the
 *     error and exit status 3.
 *   dataplane scripted PATH RUN_MS TIMEOUT_MS SCRIPT
 *     a dataplane whose workload a test scripts (for wayfinder control's tests): makes a region with
 *     signals flows, latency, batch and one knob BATCH (default 4); every millisecond reads SCRIPT,
 *     "FLOWS BAD_BATCH PENALTY", and publishes flows, latency = 100 (+ PENALTY while it runs with
 *     BAD_BATCH) and the BATCH it runs with; beats every 100 us; prints "batch B epoch E MS" whenever
 *     the BATCH it runs with changes.
 *   dataplane bench PATH N
 *     ns per signal publish and per signal read (uncontended), for docs/control-protocol.md. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "wayfinder_control.h"

static const char *const SIGNALS[] = {"gen", "neg", "flows", "batch"};
static const char *const KNOBS[] = {"BATCH", "CHECK"};
static const double DEFAULTS[] = {4, -4};

static volatile sig_atomic_t stopping;
static void on_term(int sig) { (void)sig; stopping = 1; }

static int make(struct wfc_region *r, const char *path, uint64_t timeout_ns)
{
  int e = wfc_create(r, path, SIGNALS, 4, KNOBS, DEFAULTS, 2, timeout_ns, timeout_ns);
  if (e) fprintf(stderr, "wfc_create %s: %s\n", path, strerror(-e));
  return e;
}

static int run(const char *path, uint64_t run_ms, uint64_t hb_stop_ms, uint64_t timeout_ms, uint64_t pace_ns)
{
  struct wfc_region r;
  if (make(&r, path, timeout_ms * 1000000u)) return 1;
  signal(SIGTERM, on_term);
  printf("ready\n");
  fflush(stdout);
  struct wfc_knob_state ks;
  wfc_knob_state_init(&ks);
  uint64_t t0 = wfc_now_ns(), last_beat = 0, last_publish = 0, publishes = 0, knobreads = 0, torn = 0, applied = UINT64_MAX;
  double knobs[2] = {DEFAULTS[0], DEFAULTS[1]};
  for (;;) {
    uint64_t now = wfc_now_ns();
    if (now - t0 >= run_ms * 1000000u || stopping) break;
    if (now - last_publish >= pace_ns) {
      double v[4];
      uint64_t g = r.generation + 1u;
      v[0] = (double)g;
      v[1] = -(double)g;
      v[2] = (double)(g % 64u);
      v[3] = knobs[0];
      wfc_signals_publish(&r, v);
      publishes++;
      last_publish = now;
    }
    /* Its own clock reading, just before the heartbeat is read: the round's start may be long past
     * when the round is descheduled, and the test compares this time with our last beat. */
    uint64_t knob_now = wfc_now_ns();
    uint64_t e = wfc_knobs_effective(&r, &ks, knob_now, knobs);
    knobreads++;
    if (knobs[1] != -knobs[0]) torn++;
    if (applied == UINT64_MAX || (e == 0) != (applied == 0)) {
      printf("applied %llu %g %llu %llu\n", (unsigned long long)e, knobs[0], (unsigned long long)((now - t0) / 1000000u), (unsigned long long)knob_now);
      fflush(stdout);
    }
    applied = e;
    if (now - t0 < hb_stop_ms * 1000000u && now - last_beat >= 100000u) {
      wfc_heartbeat(&r, WFC_DATAPLANE, e);
      last_beat = now;
    }
  }
  printf("done publishes=%llu knobreads=%llu torn=%llu\n", (unsigned long long)publishes, (unsigned long long)knobreads, (unsigned long long)torn);
  wfc_close(&r);
  return 0;
}

static const char *const SCRIPTED_SIGNALS[] = {"flows", "latency", "batch"};
static const char *const SCRIPTED_KNOBS[] = {"BATCH"};
static const double SCRIPTED_DEFAULTS[] = {4};

static int scripted(const char *path, uint64_t run_ms, uint64_t timeout_ms, const char *script)
{
  struct wfc_region r;
  int e = wfc_create(&r, path, SCRIPTED_SIGNALS, 3, SCRIPTED_KNOBS, SCRIPTED_DEFAULTS, 1, timeout_ms * 1000000u, timeout_ms * 1000000u);
  if (e) {
    fprintf(stderr, "wfc_create %s: %s\n", path, strerror(-e));
    return 1;
  }
  printf("ready\n");
  fflush(stdout);
  struct wfc_knob_state ks;
  wfc_knob_state_init(&ks);
  double knob[1] = {SCRIPTED_DEFAULTS[0]}, shown = -1, flows = 0, bad = -1, penalty = 0;
  uint64_t t0 = wfc_now_ns(), last_beat = 0, last_round = 0;
  for (;;) {
    uint64_t now = wfc_now_ns();
    if (now - t0 >= run_ms * 1000000u) break;
    uint64_t epoch = wfc_knobs_effective(&r, &ks, now, knob);
    if (knob[0] != shown) {
      printf("batch %g epoch %llu %llu\n", knob[0], (unsigned long long)epoch, (unsigned long long)((now - t0) / 1000000u));
      fflush(stdout);
      shown = knob[0];
    }
    if (now - last_beat >= 100000u) {
      wfc_heartbeat(&r, WFC_DATAPLANE, epoch);
      last_beat = now;
    }
    if (now - last_round >= 1000000u) {
      FILE *f = fopen(script, "r");
      if (f) {
        double a, b, c;
        if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3) flows = a, bad = b, penalty = c;
        fclose(f);
      }
      double v[3] = {flows, 100 + (knob[0] == bad ? penalty : 0), knob[0]};
      wfc_signals_publish(&r, v);
      last_round = now;
    }
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
  }
  wfc_destroy(&r, path);
  return 0;
}

struct shared {
  struct wfc_region *r;
  uint64_t until_ns;
  _Atomic int stop;
};

static void *signal_writer(void *p)
{
  struct shared *s = p;
  while (!atomic_load(&s->stop)) {
    double v[4];
    uint64_t g = s->r->generation + 1u;
    v[0] = (double)g;
    v[1] = -(double)g;
    v[2] = (double)(g % 64u);
    v[3] = 0;
    wfc_signals_publish(s->r, v);
  }
  return NULL;
}

static void *controller(void *p)
{
  struct shared *s = p;
  struct wfc_region c;
  c = *s->r; /* the same mapping, the controller's own counters */
  c.hb_counter[0] = c.hb_counter[1] = 0;
  c.knob_epoch = 0;
  uint64_t last_beat = 0;
  while (!atomic_load(&s->stop)) {
    double k[2];
    k[0] = (double)(c.knob_epoch + 1u);
    k[1] = -k[0];
    wfc_knobs_publish(&c, k);
    uint64_t now = wfc_now_ns();
    if (now - last_beat > 100000u) {
      wfc_heartbeat(&c, WFC_CONTROLLER, 0);
      last_beat = now;
    }
  }
  return NULL;
}

static int selftest(const char *path, uint64_t min, uint64_t max_ms)
{
  struct wfc_region r;
  if (make(&r, path, 100000000u)) return 1;
  struct shared s = {&r, wfc_now_ns() + max_ms * 1000000u, 0};
  pthread_t w, c;
  pthread_create(&w, NULL, signal_writer, &s);
  pthread_create(&c, NULL, controller, &s);
  uint64_t reads = 0, torn = 0, knobreads = 0, knobtorn = 0, applied = 0, last_gen = 0, backwards = 0;
  uint64_t distinct = 0, skipped = 0, epochs_seen = 0, last_epoch = 0;
  struct wfc_knob_state ks;
  wfc_knob_state_init(&ks);
  double k[2] = {DEFAULTS[0], DEFAULTS[1]}; /* kept across rounds: a round that cannot read keeps them */
  /* Until enough happened, not for a fixed time: on a loaded machine the threads get little of it. */
  while (wfc_now_ns() < s.until_ns && !(reads >= min && knobreads >= min && distinct >= min / 500u && skipped >= min / 1000u && epochs_seen >= 100u)) {
    double v[4];
    uint64_t g;
    if (wfc_signals_read(&r, &g, v) == 0) {
      reads++;
      if (v[1] != -v[0] || v[0] != (double)g || v[2] != (double)(g % 64u)) torn++;
      if (g < last_gen) backwards++;
      if (g != last_gen) distinct++;
      if (g > last_gen + 1u) skipped++; /* the writer published more than once since our last read */
      last_gen = g;
    }
    uint64_t e = wfc_knobs_effective(&r, &ks, wfc_now_ns(), k);
    knobreads++;
    if (k[1] != -k[0] || (e && k[0] != (double)e)) knobtorn++;
    if (e) applied++;
    if (e && e != last_epoch) epochs_seen++;
    last_epoch = e;
  }
  atomic_store(&s.stop, 1);
  pthread_join(w, NULL);
  pthread_join(c, NULL);
  printf("selftest reads=%llu torn=%llu backwards=%llu knobreads=%llu knobtorn=%llu applied=%llu generations=%llu epochs=%llu distinct=%llu skipped=%llu applied_epochs=%llu\n",
         (unsigned long long)reads, (unsigned long long)torn, (unsigned long long)backwards, (unsigned long long)knobreads,
         (unsigned long long)knobtorn, (unsigned long long)applied, (unsigned long long)r.generation, (unsigned long long)ks.applied_epoch,
         (unsigned long long)distinct, (unsigned long long)skipped, (unsigned long long)epochs_seen);
  wfc_destroy(&r, path);
  return 0;
}

static int bench(const char *path, uint64_t n)
{
  struct wfc_region r;
  if (make(&r, path, 100000000u)) return 1;
  double v[4] = {1, -1, 1, 0}, sum = 0;
  uint64_t t0 = wfc_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    v[0] = (double)i;
    wfc_signals_publish(&r, v);
  }
  uint64_t t1 = wfc_now_ns();
  for (uint64_t i = 0; i < n; i++) {
    uint64_t g;
    wfc_signals_read(&r, &g, v);
    sum += v[0];
  }
  uint64_t t2 = wfc_now_ns();
  printf("bench publish_ns=%.1f read_ns=%.1f sum=%g\n", (double)(t1 - t0) / (double)n, (double)(t2 - t1) / (double)n, sum);
  wfc_close(&r);
  unlink(path);
  return 0;
}

static int attach(const char *path)
{
  struct wfc_region r;
  int e = wfc_open(&r, path);
  if (e) {
    fprintf(stderr, "wfc_open %s: %s\n", path, strerror(-e));
    return 3;
  }
  printf("attached signals=");
  for (uint32_t i = 0; i < r.nsignals; i++) printf("%s%s", i ? "," : "", wfc_signal_name(&r, i));
  printf(" knobs=");
  for (uint32_t i = 0; i < r.nknobs; i++) printf("%s%s", i ? "," : "", wfc_knob_name(&r, i));
  double k[2] = {7, -7};
  uint64_t epoch = wfc_knobs_publish(&r, k);
  printf(" timeout_ns=%llu epoch=%llu\n", (unsigned long long)wfc_controller_timeout_ns(&r), (unsigned long long)epoch);
  wfc_close(&r);
  return 0;
}

int main(int argc, char **argv)
{
  if ((argc == 6 || argc == 7) && !strcmp(argv[1], "run"))
    return run(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10), strtoull(argv[5], NULL, 10),
               argc == 7 ? strtoull(argv[6], NULL, 10) : 0);
  if (argc == 6 && !strcmp(argv[1], "scripted")) return scripted(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10), argv[5]);
  if (argc == 5 && !strcmp(argv[1], "selftest")) return selftest(argv[2], strtoull(argv[3], NULL, 10), strtoull(argv[4], NULL, 10));
  if (argc == 3 && !strcmp(argv[1], "attach")) return attach(argv[2]);
  if (argc == 4 && !strcmp(argv[1], "bench")) return bench(argv[2], strtoull(argv[3], NULL, 10));
  fprintf(stderr, "usage: dataplane run PATH RUN_MS HB_STOP_MS TIMEOUT_MS [PACE_NS] | selftest PATH MIN MAX_MS | attach PATH | bench PATH N\n");
  return 2;
}
