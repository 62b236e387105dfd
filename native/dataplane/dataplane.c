/* dataplane.c: the reference dataplane (docs/control.md, "Reproducing adaptive tuning").
 *
 * A UDP echo server whose poll loop has the shape of Demikernel's I/O path: each round takes up to
 * RX_BATCH_SIZE packets from the network (one recvmmsg), queues each on its flow (a flow is a source
 * address and port), then delivers at most one payload per flow to the application: packets of a
 * flow beyond the first wait for the next round. The application echoes each payload back (one
 * sendmmsg per round). The batch size is a knob read from a control region
 * (native/include/wayfinder_control.h) every round, with the dataplane's default whenever the
 * controller's heartbeat stops; the dataplane publishes its signals there once per round that did
 * work.
 *
 * Emulated costs make the trade-off of a user-space stack visible on loopback, where the kernel's
 * own costs are small and noisy: --round-ns per round (polling the device, the runtime's
 * scheduler), --slot-ns per batch slot per round (posting a receive buffer for each of the
 * RX_BATCH_SIZE descriptors, used or not), --stack-ns per packet taken (the stack's per-packet
 * processing) and --work-ns per payload delivered (the application). A batch larger than the flows
 * can use pays for slots whose packets would wait anyway (one payload per flow per round); a smaller
 * one pays the round's fixed cost more often per packet. So the best batch grows with the flows.
 *
 *   dataplane --port 0 --batch 4 [--region /dev/shm/x] [--duration-ms 5000] [--trace FILE] ...
 *
 * --rcvbuf BYTES sets the socket's receive buffer (default 4 MiB; 0 keeps net.core.rmem_default).
 * Prints "rcvbuf N" (the buffer as the kernel reports it) and "port N" once listening, and one "done ..." line of totals at exit. Stops after
 * --duration-ms, or on SIGTERM/SIGINT. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wayfinder_control.h"

#define MAX_BATCH 1024u  /* the largest RX_BATCH_SIZE (the knob is clamped to 1..MAX_BATCH) */
#define POOL 8192u       /* packets held between the network and the application */
#define PKT 256u         /* bytes kept of a packet (the load generator's are 64) */
#define FLOW_SLOTS 8192u /* open addressing; at most FLOW_SLOTS/2 flows are tracked */
#define MAX_FLOWS (FLOW_SLOTS / 2u)
#define SIGNAL_WINDOW_NS 1000000u  /* queue_ns and pkts_round: means over the last completed millisecond */
#define FLOW_ACTIVE_NS 10000000u   /* a flow counts in `flows` if it sent within the last 10 ms */
#define HEARTBEAT_NS 100000u
#define MAX_TRACE 1000000u

static const char *const SIGNALS[] = {"flows", "queue_ns", "pkts_round", "staged", "delivered", "batch"};
enum { S_FLOWS, S_QUEUE_NS, S_PKTS_ROUND, S_STAGED, S_DELIVERED, S_BATCH, NSIGNALS };
static const char *const KNOBS[] = {"RX_BATCH_SIZE"};

struct packet {
  uint32_t next; /* the next packet of the same flow, or UINT32_MAX */
  uint32_t len;
  uint64_t pulled_ns;
  unsigned char data[PKT];
};

struct flow {
  uint64_t key; /* address << 16 | port; 0: empty slot */
  uint32_t head, tail; /* the flow's waiting packets, UINT32_MAX: none */
  uint64_t last_ns;
  struct sockaddr_in addr;
  int pending; /* on the list of flows with packets waiting */
};

static struct packet pool[POOL];
static uint32_t free_list[POOL], nfree;
static struct flow flows[FLOW_SLOTS];
static uint32_t known[MAX_FLOWS], nknown;   /* slots of flows seen */
static uint32_t pending[MAX_FLOWS], npending; /* slots of flows with a packet waiting, in arrival order */
static volatile sig_atomic_t stop;

struct trace_row { uint64_t t_ns, epoch; uint32_t batch; };
static struct trace_row trace[MAX_TRACE];
static uint32_t ntrace;

static void on_signal(int s) { (void)s; stop = 1; }

static void spin_ns(uint64_t ns)
{
  if (!ns) return;
  uint64_t end = wfc_now_ns() + ns;
  while (wfc_now_ns() < end) {
  }
}

static struct flow *flow_of(const struct sockaddr_in *a, uint64_t now)
{
  uint64_t key = ((uint64_t)a->sin_addr.s_addr << 16) | a->sin_port;
  uint32_t h = (uint32_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 40) & (FLOW_SLOTS - 1u);
  for (;;) {
    struct flow *f = &flows[h];
    if (f->key == key) { f->last_ns = now; return f; }
    if (f->key == 0) {
      if (nknown >= MAX_FLOWS) return NULL;
      f->key = key;
      f->head = f->tail = UINT32_MAX;
      f->addr = *a;
      f->last_ns = now;
      known[nknown++] = h;
      return f;
    }
    h = (h + 1u) & (FLOW_SLOTS - 1u);
  }
}

static void record(uint64_t t, uint64_t epoch, uint32_t batch)
{
  if (ntrace < MAX_TRACE) trace[ntrace++] = (struct trace_row){t, epoch, batch};
}

static uint64_t arg_u64(const char *flag, const char *v, uint64_t lo, uint64_t hi)
{
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  if (errno || *end || end == v || n < lo || n > hi) {
    fprintf(stderr, "dataplane: %s: expected an integer %llu..%llu, got \"%s\"\n", flag, (unsigned long long)lo, (unsigned long long)hi, v);
    exit(2);
  }
  return n;
}

int main(int argc, char **argv)
{
  uint64_t rcvbuf = 4 << 20; /* room for bursts; 0: the namespace's net.core.rmem_default */
  uint64_t port = 0, batch_default = 4, duration_ms = 10000, stack_ns = 0, work_ns = 0, round_ns = 0, slot_ns = 0, ctl_timeout_ms = 50;
  const char *region_path = NULL, *trace_path = NULL, *bind_addr = "127.0.0.1";
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) { fprintf(stderr, "dataplane: %s needs a value\n", a); return 2; }
    const char *v = argv[++i];
    if (!strcmp(a, "--port")) port = arg_u64(a, v, 0, 65535);
    else if (!strcmp(a, "--batch")) batch_default = arg_u64(a, v, 1, MAX_BATCH);
    else if (!strcmp(a, "--duration-ms")) duration_ms = arg_u64(a, v, 1, 3600000);
    else if (!strcmp(a, "--stack-ns")) stack_ns = arg_u64(a, v, 0, 1000000);
    else if (!strcmp(a, "--work-ns")) work_ns = arg_u64(a, v, 0, 1000000);
    else if (!strcmp(a, "--round-ns")) round_ns = arg_u64(a, v, 0, 100000000);
    else if (!strcmp(a, "--slot-ns")) slot_ns = arg_u64(a, v, 0, 1000000);
    else if (!strcmp(a, "--controller-timeout-ms")) ctl_timeout_ms = arg_u64(a, v, 1, 60000);
    else if (!strcmp(a, "--region")) region_path = v;
    else if (!strcmp(a, "--trace")) trace_path = v;
    else if (!strcmp(a, "--bind")) bind_addr = v;
    else if (!strcmp(a, "--rcvbuf")) rcvbuf = arg_u64(a, v, 0, 1 << 30);
    else { fprintf(stderr, "dataplane: unknown option %s\n", a); return 2; }
  }

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0) { perror("dataplane: socket"); return 1; }
  if (rcvbuf > 0) {
    int buf = (int)rcvbuf; /* FORCE works as root, the plain option caps it at rmem_max */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) { fprintf(stderr, "dataplane: --bind: not an IPv4 address: %s\n", bind_addr); return 2; }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("dataplane: bind"); return 1; }
  socklen_t sl = sizeof sa;
  getsockname(fd, (struct sockaddr *)&sa, &sl);

  struct wfc_region r;
  struct wfc_knob_state ks;
  wfc_knob_state_init(&ks);
  double knob[1] = {(double)batch_default};
  const double defaults[1] = {(double)batch_default};
  if (region_path) {
    int e = wfc_create(&r, region_path, SIGNALS, NSIGNALS, KNOBS, defaults, 1, ctl_timeout_ms * 1000000u, 100000000u);
    if (e) { fprintf(stderr, "dataplane: %s: %s\n", region_path, strerror(-e)); return 1; }
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  for (uint32_t i = 0; i < POOL; i++) free_list[i] = POOL - 1u - i;
  nfree = POOL;

  static struct mmsghdr rx[MAX_BATCH], tx[MAX_FLOWS];
  static struct iovec rxv[MAX_BATCH], txv[MAX_FLOWS];
  static struct sockaddr_in rxa[MAX_BATCH];
  static uint32_t taken[MAX_BATCH], sent_pkt[MAX_FLOWS];

  int got_buf = 0;
  socklen_t gl = sizeof got_buf;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got_buf, &gl);
  printf("rcvbuf %d\n", got_buf);
  printf("port %u\n", ntohs(sa.sin_port));
  fflush(stdout);

  uint64_t start = wfc_now_ns(), until = start + duration_ms * 1000000u;
  uint64_t rounds = 0, work_rounds = 0, received = 0, delivered = 0, dropped = 0, send_fail = 0;
  uint64_t epoch = 0, last_beat = 0, win_start = start, win_q = 0, win_n = 0, win_pulled = 0, win_rounds = 0;
  double sig[NSIGNALS] = {0};
  uint32_t batch = (uint32_t)batch_default, max_taken = 0, max_delivered = 0;
  uint64_t prev_work_ns = start;
  record(start, 0, batch);
  if (region_path) wfc_heartbeat(&r, WFC_DATAPLANE, 0);

  while (!stop) {
    uint64_t now = wfc_now_ns();
    if (now >= until) break;
    rounds++;
    if (region_path) {
      uint64_t e = wfc_knobs_effective(&r, &ks, now, knob);
      double k = knob[0];
      uint32_t b = !(k >= 1) ? 1u : k > MAX_BATCH ? MAX_BATCH : (uint32_t)k; /* NaN and below 1: 1 */
      if (e != epoch || b != batch) record(now, e, b);
      epoch = e;
      batch = b;
      if (now - last_beat >= HEARTBEAT_NS) { wfc_heartbeat(&r, WFC_DATAPLANE, epoch); last_beat = now; }
    }

    /* Take up to batch packets from the network into free pool entries. */
    uint32_t want = batch < nfree ? batch : nfree;
    spin_ns(round_ns + slot_ns * batch);
    for (uint32_t i = 0; i < want; i++) {
      uint32_t p = free_list[--nfree];
      taken[i] = p;
      rxv[i] = (struct iovec){pool[p].data, PKT};
      rx[i].msg_hdr = (struct msghdr){.msg_name = &rxa[i], .msg_namelen = sizeof rxa[i], .msg_iov = &rxv[i], .msg_iovlen = 1};
    }
    int n = want ? recvmmsg(fd, rx, want, MSG_DONTWAIT, NULL) : 0;
    if (n < 0) n = 0;
    for (uint32_t i = (uint32_t)n; i < want; i++) free_list[nfree++] = taken[i];
    for (int i = 0; i < n; i++) {
      uint32_t p = taken[i];
      spin_ns(stack_ns);
      struct flow *f = flow_of(&rxa[i], now);
      if (!f) { free_list[nfree++] = p; dropped++; continue; }
      pool[p].len = rx[i].msg_len;
      pool[p].pulled_ns = now;
      pool[p].next = UINT32_MAX;
      if (f->tail == UINT32_MAX) f->head = p; else pool[f->tail].next = p;
      f->tail = p;
      if (!f->pending) { f->pending = 1; pending[npending++] = (uint32_t)(f - flows); }
    }
    received += (uint64_t)n;

    /* Deliver at most one payload per flow; the application echoes it. */
    uint32_t nd = 0, keep = 0;
    uint64_t t = n ? wfc_now_ns() : now;
    for (uint32_t j = 0; j < npending; j++) {
      struct flow *f = &flows[pending[j]];
      uint32_t p = f->head;
      f->head = pool[p].next;
      if (f->head == UINT32_MAX) { f->tail = UINT32_MAX; f->pending = 0; } else pending[keep++] = pending[j];
      spin_ns(work_ns);
      win_q += t - pool[p].pulled_ns;
      txv[nd] = (struct iovec){pool[p].data, pool[p].len};
      tx[nd].msg_hdr = (struct msghdr){.msg_name = &f->addr, .msg_namelen = sizeof f->addr, .msg_iov = &txv[nd], .msg_iovlen = 1};
      sent_pkt[nd++] = p;
    }
    npending = keep;
    for (uint32_t off = 0; off < nd;) {
      int s = sendmmsg(fd, tx + off, nd - off, MSG_DONTWAIT);
      if (s <= 0) { send_fail += nd - off; break; }
      off += (uint32_t)s;
    }
    for (uint32_t j = 0; j < nd; j++) free_list[nfree++] = sent_pkt[j];
    delivered += nd;
    win_n += nd;
    if (nd > max_delivered) max_delivered = nd;
    if ((uint32_t)n > max_taken) max_taken = (uint32_t)n;

    if (n || nd) {
      uint64_t last_work_ns = prev_work_ns;
      prev_work_ns = t;
      work_rounds++;
      win_rounds++;
      win_pulled += (uint64_t)n;
      if (t - win_start >= SIGNAL_WINDOW_NS) {
        /* Flows seen within FLOW_ACTIVE_NS of this round, or of the previous working round when the
         * dataplane itself stood still since (descheduled): its own stall is not a drop in flows. */
        uint64_t ref = t - last_work_ns > FLOW_ACTIVE_NS ? last_work_ns : t;
        uint32_t active = 0;
        for (uint32_t j = 0; j < nknown; j++) active += ref - flows[known[j]].last_ns <= FLOW_ACTIVE_NS || flows[known[j]].last_ns >= ref;
        sig[S_FLOWS] = active;
        sig[S_QUEUE_NS] = win_n ? (double)win_q / (double)win_n : 0;
        sig[S_PKTS_ROUND] = win_rounds ? (double)win_pulled / (double)win_rounds : 0;
        win_start = t;
        win_q = win_n = win_pulled = win_rounds = 0;
      }
      if (region_path) {
        sig[S_STAGED] = POOL - nfree;
        sig[S_DELIVERED] = (double)delivered;
        sig[S_BATCH] = batch;
        wfc_signals_publish(&r, sig);
      }
    }
  }

  uint64_t end = wfc_now_ns();
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  if (trace_path) {
    FILE *f = fopen(trace_path, "w");
    if (!f) { perror(trace_path); return 1; }
    fprintf(f, "t_ns,epoch,batch\n");
    for (uint32_t i = 0; i < ntrace; i++) fprintf(f, "%llu,%llu,%u\n", (unsigned long long)trace[i].t_ns, (unsigned long long)trace[i].epoch, trace[i].batch);
    fclose(f);
  }
  printf("done seconds=%.3f rounds=%llu work_rounds=%llu received=%llu delivered=%llu dropped=%llu send_fail=%llu flows=%u cpu_s=%.3f epoch=%llu batch=%u max_taken=%u max_delivered=%u\n",
         (double)(end - start) / 1e9, (unsigned long long)rounds, (unsigned long long)work_rounds, (unsigned long long)received,
         (unsigned long long)delivered, (unsigned long long)dropped, (unsigned long long)send_fail, nknown, cpu, (unsigned long long)epoch, batch, max_taken, max_delivered);
  if (region_path) wfc_destroy(&r, region_path);
  return 0;
}
