/*
 * LD_PRELOAD shim: sets TCP_NODELAY on every TCP socket the process connect()s or accept()s.
 * The suite runs sshd under it for the "openssh-nodelay" path (OpenSSH never sets TCP_NODELAY on
 * forwarded connections). Build: gcc -O2 -shared -fPIC -o nodelay.so nodelay.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void nodelay(int fd) {
  int type = 0;
  socklen_t len = sizeof(type);
  struct sockaddr_storage addr;
  socklen_t alen = sizeof(addr);
  if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
    return;
  }
  if (getsockname(fd, (struct sockaddr *)&addr, &alen) != 0
      || (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)) {
    return;
  }
  int one = 1;
  int saved = errno;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  errno = saved;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  static int (*real)(int, const struct sockaddr *, socklen_t);
  if (!real) {
    real = dlsym(RTLD_NEXT, "connect");
  }
  if (addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
    int type = 0;
    socklen_t tl = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
  }
  return real(fd, addr, len);
}

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
  static int (*real)(int, struct sockaddr *, socklen_t *);
  if (!real) {
    real = dlsym(RTLD_NEXT, "accept");
  }
  int c = real(fd, addr, len);
  nodelay(c);
  return c;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  static int (*real)(int, struct sockaddr *, socklen_t *, int);
  if (!real) {
    real = dlsym(RTLD_NEXT, "accept4");
  }
  int c = real(fd, addr, len, flags);
  nodelay(c);
  return c;
}
