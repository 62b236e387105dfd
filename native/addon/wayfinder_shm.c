/* wayfinder_shm: maps a control region (docs/control-protocol.md) into Node as an ArrayBuffer, so our
 * side reads and writes it with plain loads and stores and Atomics on its seq words instead of a
 * syscall per word. Two functions: map(path) -> ArrayBuffer (unmapped when collected), and fence()
 * (a full memory fence, for processors that may reorder a plain load after an acquire load).
 * N-API only (no V8 or Node internals), built by src/control/native.ts with the C compiler. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void unmap(napi_env env, void *data, void *hint)
{
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value fail(napi_env env, const char *path, const char *what)
{
  char msg[4200];
  snprintf(msg, sizeof msg, "%s: %s: %s", path, what, strerror(errno));
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value map(napi_env env, napi_callback_info info)
{
  size_t argc = 1, len = 0;
  napi_value argv[1], ab;
  char path[4096];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1) {
    napi_throw_type_error(env, NULL, "map(path): a path of a control region");
    return NULL;
  }
  int fd = open(path, O_RDWR);
  if (fd < 0) return fail(env, path, "open");
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return fail(env, path, "fstat");
  }
  if (st.st_size == 0) {
    close(fd);
    errno = EINVAL;
    return fail(env, path, "empty file");
  }
  void *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return fail(env, path, "mmap");
  if (napi_create_external_arraybuffer(env, m, (size_t)st.st_size, unmap, (void *)(uintptr_t)st.st_size, &ab) != napi_ok) {
    munmap(m, (size_t)st.st_size);
    napi_throw_error(env, NULL, "napi_create_external_arraybuffer failed");
    return NULL;
  }
  return ab;
}

static napi_value fence(napi_env env, napi_callback_info info)
{
  (void)env;
  (void)info;
  atomic_thread_fence(memory_order_seq_cst);
  return NULL;
}

NAPI_MODULE_INIT()
{
  napi_value f;
  napi_create_function(env, "map", NAPI_AUTO_LENGTH, map, NULL, &f);
  napi_set_named_property(env, exports, "map", f);
  napi_create_function(env, "fence", NAPI_AUTO_LENGTH, fence, NULL, &f);
  napi_set_named_property(env, exports, "fence", f);
  return exports;
}
