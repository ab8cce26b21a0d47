#include "app/signals.h"

#include <pthread.h>
#include <signal.h>

#include "common/log.h"
#include "common/process_limits.h"

namespace inferline::app {
namespace {

sigset_t TerminationSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a peer that went away is an error return, not a crash
}

void PrepareServerProcess() {
  BlockTerminationSignals();
  const OpenFileLimit open_files = RaiseOpenFileLimit();
  if (open_files.soft == 0) {
    log::Warn("cannot read the limit on open files; client connections may be capped by it");
  } else if (open_files.soft < 4096) {
    log::Warn("at most {} open files (hard limit {}): client connections, event streams "
              "included, stop being accepted near that number; raise the hard limit with "
              "`ulimit -Hn` or systemd's LimitNOFILE",
              open_files.soft, open_files.hard);
  }
}

int WaitForTerminationSignal() {
  sigset_t set = TerminationSet();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

void UnblockTerminationSignals() {
  sigset_t set = TerminationSet();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

}  // namespace inferline::app
