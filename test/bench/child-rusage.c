/* Whole-process CPU time of a command, for `npm run bench`: runs it and writes its rusage as the
 * kernel accounts it to the waiting parent (wait4: every thread of the child, plus any children it
 * waited for) with microsecond resolution.
 *
 * Why a helper and not `/usr/bin/time -f` or bash's `time`: Node's spawnSync does not return the
 * child's rusage; GNU time prints %U/%S in 10 ms steps (QEMU's whole run is ~100 ms) and may be
 * absent; bash's `time` prints to the same stderr as the command. This is exact, has no format to
 * parse but our own, and gcc is needed by the benchmarks anyway.
 *
 * Usage: child-rusage OUTFILE COMMAND [ARGS...]
 * The command inherits stdin/stdout/stderr; OUTFILE receives one line
 *   status=S signal=G user_us=U sys_us=Y wall_us=W maxrss_kb=M
 * and the helper exits with the command's exit status (128 + signal if it was killed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long tv_us(struct timeval tv) { return tv.tv_sec * 1000000LL + tv.tv_usec; }

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s OUTFILE COMMAND [ARGS...]\n", argv[0]);
    return 127;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 127;
  }
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    fprintf(stderr, "child-rusage: %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) {
      perror("wait4");
      return 127;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long wall = (t1.tv_sec - t0.tv_sec) * 1000000LL + (t1.tv_nsec - t0.tv_nsec) / 1000;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  FILE *out = fopen(argv[1], "w");
  if (!out) {
    perror(argv[1]);
    return 127;
  }
  fprintf(out, "status=%d signal=%d user_us=%lld sys_us=%lld wall_us=%lld maxrss_kb=%ld\n", code, sig, tv_us(ru.ru_utime),
          tv_us(ru.ru_stime), wall, ru.ru_maxrss);
  fclose(out);
  return sig ? 128 + sig : code;
}
