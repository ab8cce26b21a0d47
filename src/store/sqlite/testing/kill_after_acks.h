// Test helper: kill -9 in the middle of a stream of acknowledged writes.
//
// KillAfterAcks forks a child that calls start() (open the database there, after the fork) and
// then write(0), write(1), ... reporting each i through a pipe once write(i) returned true. The
// parent SIGKILLs the child once `acks` writes were acknowledged and returns the last
// acknowledged i (-1, with a test failure, if the child ended on its own).
//
// Thread-safety: call from the test's main thread; the child runs only what `start` returns.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

namespace inferline::store::testing {

using AckedWrite = std::function<bool(int)>;

inline int KillAfterAcks(int acks, const std::function<AckedWrite()>& start) {
  int fds[2];
  if (::pipe(fds) != 0) {
    ADD_FAILURE() << "pipe failed";
    return -1;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ADD_FAILURE() << "fork failed";
    return -1;
  }
  if (pid == 0) {
    ::close(fds[0]);
    AckedWrite write = start();
    if (!write) ::_exit(2);
    for (int i = 0;; ++i) {
      if (!write(i)) ::_exit(3);
      if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(4);
    }
  }
  ::close(fds[1]);
  int acked = -1, v = 0;
  while (acked < acks && ::read(fds[0], &v, sizeof v) == sizeof v) acked = v;
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  if (!WIFSIGNALED(status)) {
    ADD_FAILURE() << "child ended on its own, status " << status;
    return -1;
  }
  return acked;
}

}  // namespace inferline::store::testing
