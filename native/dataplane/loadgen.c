/* loadgen.c: an open-loop UDP load generator for the reference dataplane (docs/control.md).
 *
 * Requests arrive as a Poisson process at the phase's rate, whatever the server's pace (open loop:
 * a slow reply never delays the next request), each on one of the phase's flows chosen at random; a
 * flow is a UDP socket of its own (its own source port). A request carries its scheduled send time,
 * so its latency is measured from when it should have been sent (no coordinated omission: a
 * generator that falls behind charges the delay to the request).
 *
 *   loadgen --server 127.0.0.1:PORT --phase MS:FLOWS:RATE[:LOSS] [--phase ...] [--window-us 1000]
 *           [--timeout-ms 100] [--seed 1] [--out windows.csv]
 *
 * Phases run one after the other; LOSS is the share of requests dropped before sending (emulated
 * loss on the wire: never sent, counted as dropped). A request without a reply within --timeout-ms
 * is lost and counts as --timeout-ms in the percentiles (a lower bound of its latency). Per window of
 * scheduled send time: one CSV row. The summary goes to stderr as one "loadgen ..." line: rate is
 * the requests answered within the timeout per second, served_rate every reply that arrived while
 * the schedule ran, late or not (under overload: the server's service rate, its peak throughput). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PHASES 256
#define MAX_FLOWS 4096
#define MAX_REQUESTS 50000000u
#define LAT_NONE UINT32_MAX
#define SPIN_NS 20000 /* spin this long before a send; wait in epoll before that */

struct phase { uint64_t ms, flows; double rate, loss; };
struct payload { uint64_t sched_ns; uint32_t seq; uint32_t flow; unsigned char pad[48]; };

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: a seeded stream, the same arrivals for the same seed and schedule. */
static uint64_t rng_state;
static double uniform01(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

static int cmp_u32(const void *a, const void *b)
{
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void die(const char *flag, const char *v, const char *what)
{
  fprintf(stderr, "loadgen: %s: %s, got \"%s\"\n", flag, what, v);
  exit(2);
}

static double num(const char *flag, const char *v, const char *s, char **end)
{
  errno = 0;
  double d = strtod(s, end);
  if (errno || *end == s || !isfinite(d) || d < 0) die(flag, v, "expected MS:FLOWS:RATE[:LOSS] with non-negative numbers");
  return d;
}

int main(int argc, char **argv)
{
  struct phase ph[MAX_PHASES];
  int nph = 0;
  uint64_t window_us = 1000, timeout_ms = 100, seed = 1;
  const char *server = NULL, *out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) { fprintf(stderr, "loadgen: %s needs a value\n", a); return 2; }
    const char *v = argv[++i];
    char *end;
    if (!strcmp(a, "--server")) server = v;
    else if (!strcmp(a, "--out")) out = v;
    else if (!strcmp(a, "--window-us")) { window_us = strtoull(v, &end, 10); if (*end || !window_us) die(a, v, "expected a positive integer"); }
    else if (!strcmp(a, "--timeout-ms")) { timeout_ms = strtoull(v, &end, 10); if (*end || !timeout_ms) die(a, v, "expected a positive integer"); }
    else if (!strcmp(a, "--seed")) { seed = strtoull(v, &end, 10); if (*end) die(a, v, "expected an integer"); }
    else if (!strcmp(a, "--phase")) {
      if (nph >= MAX_PHASES) die(a, v, "too many phases");
      struct phase p = {0, 0, 0, 0};
      const char *s = v;
      p.ms = (uint64_t)num(a, v, s, &end);
      if (*end != ':') die(a, v, "expected MS:FLOWS:RATE[:LOSS]");
      p.flows = (uint64_t)num(a, v, end + 1, &end);
      if (*end != ':') die(a, v, "expected MS:FLOWS:RATE[:LOSS]");
      p.rate = num(a, v, end + 1, &end);
      if (*end == ':') p.loss = num(a, v, end + 1, &end);
      if (*end) die(a, v, "expected MS:FLOWS:RATE[:LOSS]");
      if (!p.ms || !p.flows || p.flows > MAX_FLOWS || p.loss > 1) die(a, v, "MS and FLOWS (at most 4096) must be positive, LOSS at most 1");
      ph[nph++] = p;
    } else { fprintf(stderr, "loadgen: unknown option %s\n", a); return 2; }
  }
  if (!server || !nph) { fprintf(stderr, "loadgen: --server HOST:PORT and at least one --phase MS:FLOWS:RATE[:LOSS] are needed\n"); return 2; }
  struct sockaddr_in sa = {.sin_family = AF_INET};
  const char *colon = strrchr(server, ':');
  char host[64];
  if (!colon || (size_t)(colon - server) >= sizeof host) die("--server", server, "expected HOST:PORT");
  memcpy(host, server, (size_t)(colon - server));
  host[colon - server] = 0;
  sa.sin_port = htons((uint16_t)atoi(colon + 1));
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || !sa.sin_port) die("--server", server, "expected an IPv4 HOST:PORT");

  uint64_t flows = 0, total_ms = 0;
  double expect = 0;
  for (int i = 0; i < nph; i++) {
    if (ph[i].flows > flows) flows = ph[i].flows;
    total_ms += ph[i].ms;
    expect += ph[i].rate * (double)ph[i].ms / 1000.0;
  }
  if (expect * 1.2 + 1000 > MAX_REQUESTS) { fprintf(stderr, "loadgen: the schedule asks for about %.0f requests; at most %u\n", expect, MAX_REQUESTS); return 2; }
  uint32_t cap = (uint32_t)(expect * 1.2 + 1000);
  uint32_t *lat = malloc((size_t)cap * sizeof *lat);     /* ns, LAT_NONE: no reply (yet) */
  uint64_t *sched = malloc((size_t)cap * sizeof *sched); /* scheduled send time, ns after the start */
  int *fds = calloc(flows, sizeof *fds);
  if (!lat || !sched || !fds) { fprintf(stderr, "loadgen: out of memory\n"); return 1; }
  int ep = epoll_create1(0);
  for (uint64_t f = 0; f < flows; f++) {
    fds[f] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fds[f] < 0 || connect(fds[f], (struct sockaddr *)&sa, sizeof sa) != 0) { perror("loadgen: socket"); return 1; }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = f};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[f], &ev);
  }
  rng_state = seed * UINT64_C(0x9E3779B97F4A7C15) + 1u;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* waits end when asked, not up to 50 us later */

  uint64_t t0 = now_ns() + 1000000u, end_ns = total_ms * 1000000u, timeout_ns = timeout_ms * 1000000u;
  uint64_t next = 0, phase_end = ph[0].ms * 1000000u, nsent = 0, nrecv = 0, served = 0, ndropped = 0, late = 0, send_fail = 0;
  int cur = 0;
  uint32_t nreq = 0;
  uint32_t *dropped_at = calloc(total_ms * 1000u / window_us + 2u, sizeof *dropped_at);
  if (!dropped_at) { fprintf(stderr, "loadgen: out of memory\n"); return 1; }
  int sending = 1;
  double from = 0;
  /* The next arrival after `from`: an exponential gap at the phase's rate (Poisson, memoryless, so a
   * phase that ends before the gap restarts the draw at the next phase's start with its rate). */
#define ADVANCE()                                                                         \
  for (;;) {                                                                              \
    double g = ph[cur].rate > 0 ? -log(1.0 - uniform01()) / ph[cur].rate * 1e9 : 1e300; \
    if (from + g < (double)phase_end) { next = (uint64_t)(from + g); from += g; break; }  \
    from = (double)phase_end;                                                             \
    if (++cur >= nph) { sending = 0; break; }                                             \
    phase_end += ph[cur].ms * 1000000u;                                                   \
  }
  ADVANCE();
  for (;;) {
    uint64_t t = now_ns();
    uint64_t rel = t > t0 ? t - t0 : 0;
    while (sending && next <= rel) {
      uint32_t f = (uint32_t)(uniform01() * (double)ph[cur].flows);
      if (ph[cur].loss > 0 && uniform01() < ph[cur].loss) {
        ndropped++;
        dropped_at[next / 1000u / window_us]++;
      } else if (nreq < cap) {
        struct payload p = {.sched_ns = next, .seq = nreq, .flow = f};
        sched[nreq] = next;
        lat[nreq] = LAT_NONE;
        nreq++;
        if (send(fds[f], &p, sizeof p, MSG_DONTWAIT) == (ssize_t)sizeof p) nsent++; else send_fail++;
      }
      ADVANCE();
    }
    struct epoll_event evs[64];
    /* Until the next arrival is near, wait for replies in the kernel instead of spinning: on a
     * shared machine a spinning generator takes a core from the server it measures. A reply wakes
     * it at once, so its receive time stays exact; the last SPIN_NS before a send are spun. */
    uint64_t now_rel = now_ns() - t0;
    int64_t idle = sending ? (int64_t)next - (int64_t)now_rel - SPIN_NS : 1000000;
    struct timespec to = {0, idle > 0 ? (long)(idle < 1000000 ? idle : 1000000) : 0};
    int ne = epoll_pwait2(ep, evs, 64, &to, NULL);
    for (int i = 0; i < ne; i++) {
      struct payload p;
      while (recv(fds[evs[i].data.u64], &p, sizeof p, MSG_DONTWAIT) == (ssize_t)sizeof p) {
        uint64_t r = now_ns() - t0;
        if (r < end_ns) served++; /* every reply while the schedule runs, late or not: the service rate */
        if (p.seq < nreq && lat[p.seq] == LAT_NONE && sched[p.seq] == p.sched_ns) {
          uint64_t l = r - p.sched_ns;
          if (l <= timeout_ns) { lat[p.seq] = (uint32_t)l; nrecv++; } else late++;
        }
      }
    }
    if (!sending && (rel > end_ns + timeout_ns || nrecv == nsent)) break;
  }

  FILE *o = out ? fopen(out, "w") : stdout;
  if (!o) { perror(out); return 1; }
  fprintf(o, "# start_ns=%llu window_us=%llu timeout_ms=%llu\n", (unsigned long long)t0, (unsigned long long)window_us, (unsigned long long)timeout_ms);
  fprintf(o, "t_us,flows,rate,loss,sent,received,lost,dropped,p50_us,p90_us,p99_us,p999_us,max_us\n");
  uint64_t wns = window_us * 1000u, nwin = (end_ns + wns - 1u) / wns;
  uint32_t *buf = malloc((size_t)(nreq + 1u) * sizeof *buf);
  uint32_t i = 0;
  double all_p99 = 0;
  for (uint64_t w = 0; w < nwin; w++) {
    uint32_t k = 0;
    uint32_t recvd = 0;
    for (; i < nreq && sched[i] < (w + 1u) * wns; i++) {
      recvd += lat[i] != LAT_NONE;
      buf[k++] = lat[i] == LAT_NONE ? (uint32_t)timeout_ns : lat[i];
    }
    qsort(buf, k, sizeof *buf, cmp_u32);
    /* The phase this window starts in. */
    uint64_t at = 0, wstart = w * wns;
    int p = 0;
    while (p < nph - 1 && at + ph[p].ms * 1000000u <= wstart) at += ph[p++].ms * 1000000u;
#define PCT(q) (k ? (double)buf[(uint32_t)((q) * (double)(k - 1u) + 0.5)] / 1000.0 : NAN)
    fprintf(o, "%llu,%llu,%.0f,%g,%u,%u,%u,%u,%.1f,%.1f,%.1f,%.1f,%.1f\n", (unsigned long long)(wstart / 1000u), (unsigned long long)ph[p].flows,
            ph[p].rate, ph[p].loss, k, recvd, k - recvd, dropped_at[w], PCT(0.5), PCT(0.9), PCT(0.99), PCT(0.999), PCT(1.0));
  }
  /* The whole run's percentiles. */
  for (uint32_t j = 0; j < nreq; j++) buf[j] = lat[j] == LAT_NONE ? (uint32_t)timeout_ns : lat[j];
  qsort(buf, nreq, sizeof *buf, cmp_u32);
  uint32_t k = nreq;
  all_p99 = PCT(0.99);
  if (o != stdout) fclose(o);
  fprintf(stderr, "loadgen requests=%u sent=%llu received=%llu lost=%llu late=%llu dropped=%llu send_fail=%llu seconds=%.3f rate=%.0f served_rate=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f\n",
          nreq, (unsigned long long)nsent, (unsigned long long)nrecv, (unsigned long long)(nreq - nrecv), (unsigned long long)late,
          (unsigned long long)ndropped, (unsigned long long)send_fail, (double)end_ns / 1e9, (double)nrecv / ((double)end_ns / 1e9), (double)served / ((double)end_ns / 1e9), PCT(0.5), all_p99, PCT(0.999));
  return 0;
}
