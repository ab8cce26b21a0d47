// Termination signals for long-running subcommands.
//
// BlockTerminationSignals() must run on the main thread before any other thread starts, so
// that every thread inherits the mask and SIGTERM/SIGINT are only ever seen by
// WaitForTerminationSignal(), which returns the signal number. A second signal while shutting
// down is left to its default action by the caller restoring the mask (see cmd_serve.cc).
#pragma once

namespace inferline::app {

void BlockTerminationSignals();
int WaitForTerminationSignal();
// Lets a further SIGTERM/SIGINT kill the process at once (used after the first one).
void UnblockTerminationSignals();

}  // namespace inferline::app
