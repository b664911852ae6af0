/* readfault: an LD_PRELOAD shim that makes chosen files unreadable (tests only).
 *
 * Each variable holds ':'-separated fnmatch(3) patterns, matched against the
 * path as the program opened it (and against its last component):
 *
 *   NEX_RF_EACCES="*_081200_3.mp4"      open() fails with EACCES (what a
 *                                       chmod 000 file does to a non-root user)
 *   NEX_RF_EIO="*_081200_2.mp4=100000"  reads that reach past byte 100000
 *                                       fail with EIO (default 0: every read)
 *   NEX_RF_SHORT="*_081200_1.gps=500"   the file ends at byte 500 although
 *                                       fstat() still tells its old size: a
 *                                       file that shrank while being read
 *   NEX_RF_LOG=/path                    one line per injected fault
 *
 * Covers open/open64/openat/openat64 (and their _2 fortify forms), fopen,
 * read, pread/pread64, readv and the _chk forms; libcurl, FFmpeg's file
 * protocol, std::ifstream and libnex's own readers all go through these. mmap
 * is not covered (only salvage maps files). Real functions come from
 * dlsym(RTLD_NEXT): with ASan, preload libasan first (ASan → shim → libc).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { RF_NONE = 0, RF_EIO = 1, RF_SHORT = 2 };
#define RF_MAX_FD 4096

static int fd_mode[RF_MAX_FD];
static long long fd_limit[RF_MAX_FD];
static int fd_logged[RF_MAX_FD];
static char fd_name[RF_MAX_FD][256]; /* for the log */

static ssize_t (*real_read)(int, void*, size_t);
static ssize_t (*real_pread)(int, void*, size_t, off_t);
static ssize_t (*real_pread64)(int, void*, size_t, off64_t);
static ssize_t (*real_readv)(int, const struct iovec*, int);
static int (*real_open)(const char*, int, ...);
static int (*real_open64)(const char*, int, ...);
static int (*real_openat)(int, const char*, int, ...);
static int (*real_openat64)(int, const char*, int, ...);
static FILE* (*real_fopen)(const char*, const char*);
static FILE* (*real_fopen64)(const char*, const char*);
static int (*real_close)(int);

#define REAL(name)                                                  \
  do {                                                              \
    if (!real_##name) *(void**)(&real_##name) = dlsym(RTLD_NEXT, #name); \
  } while (0)

/* Does `path` match one of the patterns in env var `var`? *limit gets the "=N" part. */
static int matches(const char* var, const char* path, long long* limit) {
  const char* spec = getenv(var);
  if (!spec || !*spec || !path) return 0;
  const char* base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char buf[1024];
  while (*spec) {
    size_t n = strcspn(spec, ":");
    if (n < sizeof buf) {
      memcpy(buf, spec, n);
      buf[n] = '\0';
      long long lim = 0;
      char* eq = strrchr(buf, '=');
      if (eq) {
        *eq = '\0';
        lim = atoll(eq + 1);
      }
      if (buf[0] && (fnmatch(buf, path, 0) == 0 || fnmatch(buf, base, 0) == 0)) {
        if (limit) *limit = lim;
        return 1;
      }
    }
    spec += n;
    if (*spec == ':') ++spec;
  }
  return 0;
}

static void note(const char* what, const char* path, int fd) {
  const char* log = getenv("NEX_RF_LOG");
  if (!log || !*log) return;
  REAL(open);
  REAL(close);
  int lfd = real_open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (lfd < 0) return;
  char line[1200];
  int n = snprintf(line, sizeof line, "%s %s fd=%d pid=%d\n", what, path ? path : "?", fd, (int)getpid());
  if (n > 0) {
    ssize_t w = write(lfd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    (void)w;
  }
  real_close(lfd);
}

/* Before an open: EACCES for the planted paths. */
static int refuse(const char* path) {
  if (matches("NEX_RF_EACCES", path, NULL)) {
    note("EACCES", path, -1);
    errno = EACCES;
    return 1;
  }
  return 0;
}

/* After an open: remember what to do to this fd's reads. */
static void track(int fd, const char* path) {
  if (fd < 0 || fd >= RF_MAX_FD) return;
  long long lim = 0;
  int mode = RF_NONE;
  if (matches("NEX_RF_EIO", path, &lim))
    mode = RF_EIO;
  else if (matches("NEX_RF_SHORT", path, &lim))
    mode = RF_SHORT;
  if (mode != RF_NONE) snprintf(fd_name[fd], sizeof fd_name[fd], "%s", path);
  __atomic_store_n(&fd_limit[fd], lim, __ATOMIC_RELAXED);
  __atomic_store_n(&fd_logged[fd], 0, __ATOMIC_RELAXED);
  __atomic_store_n(&fd_mode[fd], mode, __ATOMIC_RELEASE);
}

static void untrack(int fd) {
  if (fd >= 0 && fd < RF_MAX_FD) __atomic_store_n(&fd_mode[fd], RF_NONE, __ATOMIC_RELEASE);
}

/* How many of `count` bytes at offset `off` may be read; -1 with errno for a fault. */
static ssize_t allowed(int fd, long long off, size_t count) {
  if (fd < 0 || fd >= RF_MAX_FD) return (ssize_t)count;
  int mode = __atomic_load_n(&fd_mode[fd], __ATOMIC_ACQUIRE);
  if (mode == RF_NONE || count == 0) return (ssize_t)count;
  long long lim = __atomic_load_n(&fd_limit[fd], __ATOMIC_RELAXED);
  if (off < 0) return (ssize_t)count; /* a pipe: not ours */
  if (off + (long long)count <= lim) return (ssize_t)count;
  if (off < lim) return (ssize_t)(lim - off); /* a short read first */
  if (!__atomic_exchange_n(&fd_logged[fd], 1, __ATOMIC_RELAXED)) {
    char p[320];
    snprintf(p, sizeof p, "%s at byte %lld", fd_name[fd], off);
    note(mode == RF_EIO ? "EIO" : "SHORT", p, fd);
  }
  if (mode == RF_EIO) {
    errno = EIO;
    return -1;
  }
  return 0; /* RF_SHORT: end of file */
}

static long long cur_offset(int fd) {
  if (fd < 0 || fd >= RF_MAX_FD || __atomic_load_n(&fd_mode[fd], __ATOMIC_ACQUIRE) == RF_NONE) return -1;
  return (long long)lseek(fd, 0, SEEK_CUR);
}

ssize_t read(int fd, void* buf, size_t count) {
  REAL(read);
  long long off = cur_offset(fd);
  if (off >= 0) {
    ssize_t n = allowed(fd, off, count);
    if (n <= 0) return n;
    count = (size_t)n;
  }
  return real_read(fd, buf, count);
}

ssize_t __read_chk(int fd, void* buf, size_t count, size_t buflen) {
  (void)buflen;
  return read(fd, buf, count);
}

ssize_t pread(int fd, void* buf, size_t count, off_t off) {
  REAL(pread);
  ssize_t n = allowed(fd, (long long)off, count);
  if (n <= 0) return n;
  return real_pread(fd, buf, (size_t)n, off);
}

ssize_t pread64(int fd, void* buf, size_t count, off64_t off) {
  REAL(pread64);
  ssize_t n = allowed(fd, (long long)off, count);
  if (n <= 0) return n;
  return real_pread64(fd, buf, (size_t)n, off);
}

ssize_t __pread_chk(int fd, void* buf, size_t count, off_t off, size_t buflen) {
  (void)buflen;
  return pread(fd, buf, count, off);
}

ssize_t __pread64_chk(int fd, void* buf, size_t count, off64_t off, size_t buflen) {
  (void)buflen;
  return pread64(fd, buf, count, off);
}

ssize_t readv(int fd, const struct iovec* iov, int iovcnt) {
  REAL(readv);
  long long off = cur_offset(fd);
  if (off >= 0) {
    size_t total = 0;
    for (int i = 0; i < iovcnt; ++i) total += iov[i].iov_len;
    ssize_t n = allowed(fd, off, total);
    if (n <= 0) return n;
    if ((size_t)n < total) return read(fd, iov[0].iov_base, iov[0].iov_len < (size_t)n ? iov[0].iov_len : (size_t)n);
  }
  return real_readv(fd, iov, iovcnt);
}

static mode_t mode_arg(int flags, va_list ap) {
  return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char* path, int flags, ...) {
  REAL(open);
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  if (refuse(path)) return -1;
  int fd = real_open(path, flags, m);
  track(fd, path);
  return fd;
}

int open64(const char* path, int flags, ...) {
  REAL(open64);
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  if (refuse(path)) return -1;
  int fd = real_open64(path, flags, m);
  track(fd, path);
  return fd;
}

int openat(int dirfd, const char* path, int flags, ...) {
  REAL(openat);
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  if (refuse(path)) return -1;
  int fd = real_openat(dirfd, path, flags, m);
  track(fd, path);
  return fd;
}

int openat64(int dirfd, const char* path, int flags, ...) {
  REAL(openat64);
  va_list ap;
  va_start(ap, flags);
  mode_t m = mode_arg(flags, ap);
  va_end(ap);
  if (refuse(path)) return -1;
  int fd = real_openat64(dirfd, path, flags, m);
  track(fd, path);
  return fd;
}

int __open_2(const char* path, int flags) { return open(path, flags); }
int __open64_2(const char* path, int flags) { return open64(path, flags); }
int __openat_2(int dirfd, const char* path, int flags) { return openat(dirfd, path, flags); }
int __openat64_2(int dirfd, const char* path, int flags) { return openat64(dirfd, path, flags); }

FILE* fopen(const char* path, const char* mode) {
  REAL(fopen);
  if (refuse(path)) return NULL;
  FILE* f = real_fopen(path, mode);
  if (f) track(fileno(f), path);
  return f;
}

FILE* fopen64(const char* path, const char* mode) {
  REAL(fopen64);
  if (refuse(path)) return NULL;
  FILE* f = real_fopen64(path, mode);
  if (f) track(fileno(f), path);
  return f;
}

int close(int fd) {
  REAL(close);
  untrack(fd);
  return real_close(fd);
}
